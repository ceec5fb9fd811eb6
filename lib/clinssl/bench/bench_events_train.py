"""Events branch: training samples/s of the event-sequence model, on CPU and (when lent) GPU.

Its own module, apart from the extraction benchmark (:mod:`clinssl.bench.bench_events`), so
the one-call GPU benchmark times the model without first spending minutes of device time on
generating and extracting a MIMIC-IV-sized cohort on the CPU: the step's speed depends on the
batch shape, not on the cohort size. The inputs are a small synthetic MIMIC-IV (2,000 stays),
extracted and tf-idf embedded as the workflow does; the timed step is
:func:`clinssl.bench.bench_events` ``_train_rate`` (forward, temporal-aware loss, backward,
clipping, AdamW; best of three rounds) with the CPU default and, on CUDA, the reference model.

:func:`run_device` is this module's part of the one-call GPU benchmark
(:mod:`clinssl.bench.gpu`): the same step on one device only (the reference model on CUDA).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from clinssl.bench.bench_events import (
    SCALES,
    TEXT_DIM,
    device_training_measurement,
    training_measurements,
)
from clinssl.bench.core import UNLIMITED, Budget, Measurement

__all__ = ["DEVICE_SIZES", "run", "run_device"]

N_STAYS = 2_000

#: sizes of :func:`run_device` by (device type, scale): generated stays, stays the tensors
#: are built from, timed steps per round
DEVICE_SIZES: dict[tuple[str, str], dict[str, int]] = {
    ("cuda", "full"): dict(n_stays=N_STAYS, model_stays=2048, steps=50),
    ("cuda", "quick"): dict(n_stays=N_STAYS, model_stays=256, steps=10),
    ("cpu", "full"): dict(n_stays=N_STAYS, model_stays=2048, steps=30),
    ("cpu", "quick"): dict(n_stays=200, model_stays=128, steps=1),
}


def _prepare(work_dir: Path, n_stays: int):
    """Synthetic MIMIC-IV of ``n_stays`` stays, extracted; its tf-idf encoder and cache."""
    from clinssl.events.extract import extract_events
    from clinssl.events.synthetic import MIMIC4CohortConfig, write_mimic4
    from clinssl.events.text import EmbeddingCache, build_text_encoder

    work_dir = Path(work_dir)
    write_mimic4(MIMIC4CohortConfig(n_stays=n_stays, n_patients=round(0.8 * n_stays)), work_dir / "raw")
    out_dir = work_dir / "extract"
    extract_events(work_dir / "raw", out_dir, max_events=512, threads=2)
    import pyarrow.parquet as pq

    texts = sorted(set(pq.read_table(out_dir / "events.parquet", columns=["event_text"])
                       .column("event_text").to_pylist()))  # fmt: skip
    encoder = build_text_encoder("tfidf", texts, seed=0, dim=TEXT_DIM)
    cache = EmbeddingCache.open(work_dir / "cache.parquet", encoder.dim, encoder.encoder_id)
    return out_dir, encoder, cache


def run(work_dir: Path, scale: str) -> list[Measurement]:
    out_dir, encoder, cache = _prepare(work_dir, N_STAYS)
    return training_measurements(out_dir, SCALES[scale], encoder, cache)


def run_device(work_dir: Path, device, scale: str, budget: Budget | None = None
               ) -> list[Measurement]:  # fmt: skip
    """Training samples/s on ``device`` (module docstring); the cohort is built on the CPU."""
    budget = budget or Budget(UNLIMITED)
    sizes = DEVICE_SIZES[(device.type, scale)]
    out_dir, encoder, cache = _prepare(work_dir, sizes["n_stays"])
    bench_scale = replace(SCALES[scale], model_stays=sizes["model_stays"])
    return [device_training_measurement(out_dir, bench_scale, encoder, cache, device,
                                        sizes["steps"], budget.share(0.8))]  # fmt: skip
