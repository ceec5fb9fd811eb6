"""Readers and writers of the PPG raw formats (PulseDB MATLAB v7.3 files)."""
