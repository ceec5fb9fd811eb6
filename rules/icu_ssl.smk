"""ICU SSL benchmark rules (pretraining, downstream, fairness, summary); see issue 4."""
