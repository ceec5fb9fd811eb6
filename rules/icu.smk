"""Rules of the 'icu' group (see DESIGN.md); filled in by the issue that builds it."""
