"""Generators of synthetic raw data in the real formats, with planted ground truth."""
