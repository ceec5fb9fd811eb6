"""Events branch: training samples/s of the event-sequence model, on CPU and (when lent) GPU.

Its own module, apart from the extraction benchmark (:mod:`clinssl.bench.bench_events`), so
the one-call GPU benchmark times the model without first spending minutes of device time on
generating and extracting a MIMIC-IV-sized cohort on the CPU: the step's speed depends on the
batch shape, not on the cohort size. The inputs are a small synthetic MIMIC-IV (2,000 stays),
extracted and tf-idf embedded as the workflow does; the timed step is
:func:`clinssl.bench.bench_events` ``_train_rate`` (forward, temporal-aware loss, backward,
clipping, AdamW; best of three rounds) with the CPU default and, on CUDA, the reference model.
"""

from __future__ import annotations

from pathlib import Path

from clinssl.bench.bench_events import SCALES, TEXT_DIM, training_measurements
from clinssl.bench.core import Measurement

__all__ = ["run"]

N_STAYS = 2_000


def run(work_dir: Path, scale: str) -> list[Measurement]:
    from clinssl.events.extract import extract_events
    from clinssl.events.synthetic import MIMIC4CohortConfig, write_mimic4
    from clinssl.events.text import EmbeddingCache, build_text_encoder

    work_dir = Path(work_dir)
    write_mimic4(MIMIC4CohortConfig(n_stays=N_STAYS, n_patients=round(0.8 * N_STAYS)), work_dir / "raw")
    out_dir = work_dir / "extract"
    extract_events(work_dir / "raw", out_dir, max_events=512, threads=2)
    import pyarrow.parquet as pq

    texts = sorted(set(pq.read_table(out_dir / "events.parquet", columns=["event_text"])
                       .column("event_text").to_pylist()))  # fmt: skip
    encoder = build_text_encoder("tfidf", texts, seed=0, dim=TEXT_DIM)
    cache = EmbeddingCache.open(work_dir / "cache.parquet", encoder.dim, encoder.encoder_id)
    return training_measurements(out_dir, SCALES[scale], encoder, cache)
