"""Rules of the 'synthetic' group (see DESIGN.md); filled in by the issue that builds it."""
