"""Readers of the ICU raw formats: ricu exports, ricu's concept dictionary, YAIB cohorts."""
