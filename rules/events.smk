"""Rules of the 'events' group (see DESIGN.md); filled in by the issue that builds it."""
