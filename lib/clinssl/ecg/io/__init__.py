"""Readers and writers of ECG datasets in their published layouts (PTB-XL)."""
