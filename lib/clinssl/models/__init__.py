"""Encoders, SSL objectives, heads and wrappers of external models."""
