"""Rules of the 'ppg' group (see DESIGN.md); filled in by the issue that builds it."""
