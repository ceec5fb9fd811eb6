"""Rules of the 'ecg' group (see DESIGN.md); filled in by the issue that builds it."""
