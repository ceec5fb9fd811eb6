"""Figure functions (matplotlib), one per figure."""
