"""Readers and writers of the real raw-data formats (PulseDB, WFDB, ...)."""
