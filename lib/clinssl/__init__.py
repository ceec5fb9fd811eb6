"""clinssl."""
