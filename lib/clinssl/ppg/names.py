"""Names the PPG branch's config, rules and scripts share, defined once (no torch import)."""

from __future__ import annotations

#: frozen encoders an embedding cache can be written with (config ``ppg.embed.encoders``);
#: ``himae_random`` is HiMAE's architecture at its random initialisation (the floor)
EMBED_ENCODERS: tuple[str, ...] = ("himae", "himae_random", "papagei")
#: the encoders whose probes are compared against the floors (when their cache is built)
PRETRAINED_ENCODERS: tuple[str, ...] = ("himae", "papagei")
#: what every probe is compared with: the random-init encoder and classical beat features
FLOORS: tuple[str, ...] = ("himae_random", "classical")
#: probe tasks: the windows.parquet column and the task kind (clinssl.stats.metrics)
PROBE_TASKS: dict[str, str] = {"pvc": "binary", "age": "regression", "htn": "binary",
                               "diabetes": "binary"}  # fmt: skip
#: raw formats a PPG dataset can be read from (config ``ppg.datasets.<name>.format``)
FORMATS: tuple[str, ...] = ("pulsedb", "mimic3_matched", "mimic4_waveform")
