"""Readers shared by branches: WFDB records, group-level splits."""
