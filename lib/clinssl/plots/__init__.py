"""Figure helpers shared by every branch (backend, atomic PNG writing)."""
