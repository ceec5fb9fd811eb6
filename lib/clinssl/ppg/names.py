"""Names the PPG branch's config, rules and scripts share, defined once (no torch import)."""

from __future__ import annotations

#: frozen encoders an embedding cache can be written with (config ``ppg.embed.encoders``)
EMBED_ENCODERS: tuple[str, ...] = ("himae", "papagei")
#: raw formats a PPG dataset can be read from (config ``ppg.datasets.<name>.format``)
FORMATS: tuple[str, ...] = ("pulsedb", "mimic3_matched", "mimic4_waveform")
