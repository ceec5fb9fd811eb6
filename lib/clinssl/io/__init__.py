"""Readers and signal helpers shared by branches: WFDB records, group-level splits, NaN
filling and resampling."""
