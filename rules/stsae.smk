"""Rules of the 'stsae' group (see DESIGN.md); filled in by the issue that builds it."""
