"""Rules of the 'figures' group (see DESIGN.md); filled in by the issue that builds it."""
