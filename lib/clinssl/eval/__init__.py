"""Metrics, probes and statistics."""
