"""ICU branch: ricu/YAIB ingestion to hourly tensors, SLICES-style SSL paradigms (MAE, JEPA,
contrastive, SMART) and the benchmark that compares them with supervised training."""
