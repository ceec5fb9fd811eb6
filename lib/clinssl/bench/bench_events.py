"""Events branch: extraction at MIMIC-IV scale, the text-embedding cache (and the training step
that :mod:`clinssl.bench.bench_events_train` times).

Three numbers decide whether the branch runs on a workstation with real MIMIC-IV:

* **Extraction** (:func:`clinssl.events.extract.extract_events`, DuckDB SQL over the csv.gz
  tables, 2 threads, the default 2 GB DuckDB memory limit) of a synthetic MIMIC-IV with
  50,000 ICU stays and about 20 M labevents rows: wall seconds (target <= 300 s) and peak RSS
  of the extracting process (target <= 4096 MiB). :func:`~clinssl.events.synthetic.write_mimic4`
  gives about 60 lab rows per stay (~3 M), so ``labevents.csv.gz`` is then *densified* by
  DuckDB itself (never loaded whole in Python): every row is copied ``k`` times with its
  ``charttime``/``storetime`` moved by 0..k-1 minutes (k <= 15; the generator keeps in-window
  events at least 15 minutes before ``outtime`` and places out-of-window rows at least 30
  minutes outside, so no copy changes stays) and a unique ``labevent_id``, written back with
  the generator's exact header and ``YYYY-MM-DD HH:MM:SS`` times. Generation and extraction
  each run in a child interpreter that reports its own ``ru_maxrss``, so the peak RSS is the
  extraction's alone (neither the generator's nor this process's torch). The obvious
  alternative, ``pandas.read_csv`` of ``labevents.csv.gz``, is timed in a child as well (the
  first ``pandas_rows`` rows at full scale, extrapolated linearly to the whole table, since
  reading the whole peaks at about 5 GiB, more than the extraction target); it only *loads*
  one table and does none of the joins, so its time and RSS are a lower bound for a pandas
  pipeline, and the ratios pandas / DuckDB are reported.
* **Text cache**: :func:`~clinssl.events.text.embed_texts` on a stream of real event texts
  from that extraction (the first ``n_texts`` rows of ``events.parquet``, repeats as they
  occur) with every text cached (the hit path: hash the distinct texts, index join, gather;
  target >= 100,000 texts/s), next to the miss path (the stream's distinct texts on an empty
  cache, so each one is tf-idf encoded: the obvious alternative of encoding without a cache)
  and the hit / miss ratio; also the cold stream (the whole stream on an empty cache, whose
  repeats already hit). Every later run re-embeds the same texts, so the hit path is what it
  pays.
* **Training samples/s** (reported by :mod:`clinssl.bench.bench_events_train`, which builds a
  small cohort of its own) of :class:`~clinssl.events.model.EventSequenceModel` with
  :func:`~clinssl.events.model.temporal_aware_loss`, AdamW and gradient clipping as
  :func:`clinssl.train.fit` steps it, on tensors built from the extracted stays (real event
  counts, so ``collate_events`` trims batches as in training), timed over a few optimiser
  steps after a warm-up (the best of three rounds): on CPU with the CPU default (d_model 64,
  4 layers, 8 heads, d_ff 128, pre-norm, 64 events, batch 32, torch's thread count) and,
  when CUDA is available, the reference model (d_model 256, 4 layers, 8 heads, d_ff 512,
  post-norm, 512 events, batch 64, float32).

``quick`` runs the same code on 2,000 stays and about 1 M lab rows (a smoke number; the
extraction targets are judged at full scale only).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clinssl.bench.core import Measurement, peak_rss_mib, sync_device

__all__ = ["SCALES", "BenchScale", "densify_labevents", "device_training_measurement", "measure",
           "run", "run_child", "training_measurements"]

TARGET_EXTRACT_SECONDS = 300.0
TARGET_EXTRACT_RSS_MIB = 4096.0
TARGET_CACHE_HIT_TEXTS_PER_S = 100_000.0
EXTRACT_THREADS = 2
EXTRACT_MEMORY_LIMIT = "2GB"
#: at most this many copies per lab row: copy j moves by j minutes, which must stay below the
#: generator's 15-minute end margin (and its 30-minute distance of out-of-window rows)
MAX_LAB_COPIES = 15
TEXT_DIM = 64
#: timed rounds of training steps (the best one is reported)
ROUNDS = 3
_CHILD_TAG = "@@BENCH_EVENTS_CHILD@@"


@dataclass(frozen=True)
class BenchScale:
    """Sizes of one benchmark run (see the module docstring)."""

    n_stays: int
    lab_rows: int  # target number of labevents rows after densifying
    pandas_rows: int | None  # rows pandas reads (None: the whole table)
    n_texts: int  # event texts of the cache benchmark
    fit_texts: int  # at most this many distinct texts fit the tf-idf encoder
    model_stays: int  # stays the training tensors are built from
    cpu_steps: int
    gpu_steps: int

    @property
    def n_patients(self) -> int:
        return max(1, round(0.8 * self.n_stays))


SCALES: dict[str, BenchScale] = {
    "full": BenchScale(n_stays=50_000, lab_rows=20_000_000, pandas_rows=2_000_000,
                       n_texts=1_000_000, fit_texts=20_000, model_stays=2048, cpu_steps=30,
                       gpu_steps=50),
    "quick": BenchScale(n_stays=2_000, lab_rows=1_000_000, pandas_rows=None, n_texts=200_000,
                        fit_texts=5_000, model_stays=256, cpu_steps=5, gpu_steps=10),
}  # fmt: skip


# --------------------------------------------------------------------------- child processes


def _child_generate(params: dict[str, Any]) -> dict[str, Any]:
    """Write the synthetic MIMIC-IV and densify its labevents (see :func:`densify_labevents`)."""
    from clinssl.events.synthetic import MIMIC4CohortConfig, write_mimic4

    root = Path(params["root"])
    start = time.perf_counter()
    truth = write_mimic4(
        MIMIC4CohortConfig(n_stays=params["n_stays"], n_patients=params["n_patients"]), root
    )
    generate_seconds = time.perf_counter() - start
    start = time.perf_counter()
    counts = densify_labevents(root / "hosp" / "labevents.csv.gz", params["lab_rows"])
    return {
        "n_stays": len(truth),
        "generate_seconds": generate_seconds,
        "densify_seconds": time.perf_counter() - start,
        **counts,
    }


def _child_extract(params: dict[str, Any]) -> dict[str, Any]:
    """Run the extraction alone in this process (its RSS is then the extraction's)."""
    from clinssl.events.extract import extract_events

    start = time.perf_counter()
    report = extract_events(
        params["root"], params["out_dir"], max_events=params["max_events"],
        threads=params["threads"], memory_limit=params["memory_limit"],
    )  # fmt: skip
    seconds = time.perf_counter() - start
    lab = report["events"]["sources"]["lab"]
    return {
        "seconds": seconds,
        "stays_read": report["stays"]["read"],
        "stays_kept": report["stays"]["kept"],
        "events_written": report["events"]["written"],
        "lab_candidates": lab["candidates"],
        "lab_attached": lab["attached"],
        "lab_written": lab["written"],
        "lab_outside_stay_window": lab["dropped"]["outside_stay_window"],
    }


def _child_pandas_read(params: dict[str, Any]) -> dict[str, Any]:
    """``pandas.read_csv`` of (the first ``nrows`` rows of) the labevents file."""
    import pandas as pd

    baseline = peak_rss_mib()
    start = time.perf_counter()
    frame = pd.read_csv(params["path"], nrows=params["nrows"])
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "rows": len(frame),
        "baseline_rss_mib": baseline,
        "frame_mib": float(frame.memory_usage(deep=True).sum()) / 2**20,
    }


_CHILD_TASKS = {
    "generate": _child_generate,
    "extract": _child_extract,
    "pandas_read": _child_pandas_read,
}


def _child_main(task: str, params_json: str) -> None:
    """Entry point of a child interpreter: run ``task``, print its result with its peak RSS."""
    result = _CHILD_TASKS[task](json.loads(params_json))
    result["peak_rss_mib"] = peak_rss_mib()
    print(_CHILD_TAG + json.dumps(result))


def run_child(task: str, params: dict[str, Any]) -> dict[str, Any]:
    """Run ``task`` in a fresh interpreter and return its result (plus ``peak_rss_mib``, the
    child's own ``ru_maxrss``). A fresh process is the only way to get the peak RSS of one
    step: ``ru_maxrss`` never goes down, and this process holds torch and earlier steps."""
    code = (
        "import sys; from clinssl.bench.bench_events import _child_main; "
        "_child_main(sys.argv[1], sys.argv[2])"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, task, json.dumps(params)], capture_output=True, text=True
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(_CHILD_TAG)]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(
            f"bench_events child {task!r} failed (exit {proc.returncode}): {proc.stderr[-4000:]}"
        )
    return json.loads(lines[-1][len(_CHILD_TAG) :])


# --------------------------------------------------------------------------- input data


def densify_labevents(path: Path, target_rows: int) -> dict[str, int]:
    """Replace the labevents csv.gz at ``path`` by ``k = ceil(target_rows / rows)`` copies of
    each row (copy ``j`` is ``j`` minutes later, ``labevent_id + j * (max id + 1)``), streamed
    by DuckDB: the same columns in the same order, every value as the same text (read with
    ``all_varchar``), so the file reads exactly like the generator's."""
    import duckdb

    from clinssl.events.tables import TABLES

    columns = TABLES["labevents"].columns
    source = str(path).replace("'", "''")
    reader = f"read_csv('{source}', header = true, all_varchar = true, quote = '\"', escape = '\"')"
    dense = path.with_name("labevents.dense.csv.gz")
    with duckdb.connect(
        ":memory:", config={"threads": 2, "memory_limit": "2GB", "preserve_insertion_order": False}
    ) as con:
        rows, max_id = con.execute(
            f"SELECT count(*), max(CAST(labevent_id AS BIGINT)) FROM {reader}"
        ).fetchone()
        copies = max(1, math.ceil(target_rows / max(rows, 1)))
        if copies > MAX_LAB_COPIES:
            raise ValueError(
                f"densify_labevents: {target_rows} rows need {copies} copies of the {rows} "
                f"generated rows; at most {MAX_LAB_COPIES} keep every copy in its stay window "
                "(generate more stays)"
            )
        stride = int(max_id or 0) + 1

        def shifted(column: str) -> str:
            return (
                f"CASE WHEN c.j = 0 THEN l.{column} ELSE strftime(TRY_CAST(l.{column} AS "
                f"TIMESTAMP) + to_minutes(c.j), '%Y-%m-%d %H:%M:%S') END"
            )

        select = {column: f"l.{column}" for column in columns}
        select["labevent_id"] = f"CAST(CAST(l.labevent_id AS BIGINT) + c.j * {stride} AS VARCHAR)"
        select["charttime"] = shifted("charttime")
        select["storetime"] = shifted("storetime")
        query = ", ".join(f'{expr} AS "{column}"' for column, expr in select.items())
        target = str(dense).replace("'", "''")
        con.execute(
            f"COPY (SELECT {query} FROM {reader} AS l "
            f"CROSS JOIN (SELECT range AS j FROM range({copies})) AS c) "
            f"TO '{target}' (FORMAT csv, HEADER, COMPRESSION gzip)"
        )
        (written,) = con.execute(
            f"SELECT count(*) FROM read_csv('{target}', header = true, all_varchar = true)"
        ).fetchone()
    os.replace(dense, path)
    return {"base_lab_rows": int(rows), "lab_copies": int(copies), "lab_rows": int(written)}


# --------------------------------------------------------------------------- extraction


def _extraction(work_dir: Path, scale: BenchScale) -> tuple[list[Measurement], Path]:
    root, out_dir = work_dir / "mimic4", work_dir / "extracted"
    gen = run_child("generate", {"root": str(root), "n_stays": scale.n_stays,
                                 "n_patients": scale.n_patients,
                                 "lab_rows": scale.lab_rows})  # fmt: skip
    ext = run_child("extract", {"root": str(root), "out_dir": str(out_dir), "max_events": 512,
                                "threads": EXTRACT_THREADS,
                                "memory_limit": EXTRACT_MEMORY_LIMIT})  # fmt: skip
    lab_rows = gen["lab_rows"]
    nrows = (
        None if scale.pandas_rows is None or scale.pandas_rows >= lab_rows else scale.pandas_rows
    )
    pandas = run_child("pandas_read", {"path": str(root / "hosp" / "labevents.csv.gz"),
                                       "nrows": nrows})  # fmt: skip
    factor = lab_rows / pandas["rows"]
    pandas_seconds = pandas["seconds"] * factor
    base = pandas["baseline_rss_mib"]
    pandas_rss = base + (pandas["peak_rss_mib"] - base) * factor
    details = {
        "stays": gen["n_stays"],
        "patients": scale.n_patients,
        "lab_rows": lab_rows,
        "base_lab_rows": gen["base_lab_rows"],
        "lab_copies": gen["lab_copies"],
        "threads": EXTRACT_THREADS,
        "memory_limit": EXTRACT_MEMORY_LIMIT,
        "max_events": 512,
        **{k: ext[k] for k in ("stays_read", "stays_kept", "events_written", "lab_candidates",
                               "lab_attached", "lab_written", "lab_outside_stay_window")},
        "generate_seconds": round(gen["generate_seconds"], 1),
        "densify_seconds": round(gen["densify_seconds"], 1),
        "generator_peak_rss_mib": round(gen["peak_rss_mib"], 1),
        "cpus": os.cpu_count(),
    }  # fmt: skip
    pandas_details = {
        "rows_read": pandas["rows"],
        "lab_rows": lab_rows,
        "measured_seconds": round(pandas["seconds"], 2),
        "measured_peak_rss_mib": round(pandas["peak_rss_mib"], 1),
        "baseline_rss_mib": round(base, 1),
        "frame_mib": round(pandas["frame_mib"], 1),
        "extrapolated": nrows is not None,
        "what": "pandas.read_csv of labevents.csv.gz alone (no joins): a lower bound",
    }
    full = scale == SCALES["full"]
    seconds, rss = ext["seconds"], ext["peak_rss_mib"]
    out = [
        Measurement("extract_seconds", seconds, "s",
                    target=f"<= {TARGET_EXTRACT_SECONDS:.0f}" if full else None,
                    passed=seconds <= TARGET_EXTRACT_SECONDS if full else None, details=details),
        Measurement("extract_peak_rss_mib", rss, "MiB",
                    target=f"<= {TARGET_EXTRACT_RSS_MIB:.0f}" if full else None,
                    passed=rss <= TARGET_EXTRACT_RSS_MIB if full else None, details=details),
        Measurement("extract_lab_rows_per_s", lab_rows / seconds, "rows/s", details=details),
        Measurement("pandas_read_labevents_seconds", pandas_seconds, "s", details=pandas_details),
        Measurement("pandas_read_labevents_peak_rss_mib", pandas_rss, "MiB",
                    details=pandas_details),
        Measurement("extract_time_ratio_pandas_read_over_duckdb", pandas_seconds / seconds, "x",
                    details=pandas_details),
        Measurement("extract_rss_ratio_pandas_read_over_duckdb", pandas_rss / rss, "x",
                    details=pandas_details),
    ]  # fmt: skip
    return out, out_dir


# --------------------------------------------------------------------------- text cache


def _event_texts(events_path: Path, n: int) -> list[str]:
    """The first ``n`` event texts of ``events.parquet`` (stay and time order, as streamed)."""
    import pyarrow.parquet as pq

    texts: list[str] = []
    for batch in pq.ParquetFile(events_path).iter_batches(batch_size=65_536,
                                                          columns=["event_text"]):  # fmt: skip
        texts.extend(batch.column(0).to_pylist())
        if len(texts) >= n:
            break
    return texts[:n]


def _text_cache(work_dir: Path, out_dir: Path, scale: BenchScale) -> tuple[list[Measurement], Any]:
    """Hit path (everything cached), miss path (every text new: tf-idf encoding) and a cold
    stream (an empty cache meeting the real, repetitive stream) of ``embed_texts``."""
    import pandas as pd

    from clinssl.events.text import EmbeddingCache, build_text_encoder, embed_texts

    texts = _event_texts(out_dir / "events.parquet", scale.n_texts)
    distinct = pd.unique(pd.Series(texts, dtype=object)).tolist()
    start = time.perf_counter()
    encoder = build_text_encoder("tfidf", distinct[: scale.fit_texts], seed=0, dim=TEXT_DIM)
    fit_seconds = time.perf_counter() - start

    def fresh_cache(name: str) -> Any:
        return EmbeddingCache.open(work_dir / name, encoder.dim, encoder.encoder_id)

    start = time.perf_counter()
    embed_texts(distinct, encoder, fresh_cache("text_cache_miss.parquet"))
    miss = len(distinct) / (time.perf_counter() - start)
    cache = fresh_cache("text_cache.parquet")
    start = time.perf_counter()
    embed_texts(texts, encoder, cache)
    cold = len(texts) / (time.perf_counter() - start)
    best = math.inf
    for _ in range(3):
        start = time.perf_counter()
        embed_texts(texts, encoder, cache)
        best = min(best, time.perf_counter() - start)
    hit = len(texts) / best
    details = {"texts": len(texts), "distinct_texts": len(distinct), "dim": TEXT_DIM,
               "encoder": "tfidf", "fit_texts": min(len(distinct), scale.fit_texts),
               "fit_seconds": round(fit_seconds, 2)}  # fmt: skip
    out = [
        Measurement("text_cache_hit_texts_per_s", hit, "texts/s",
                    target=f">= {TARGET_CACHE_HIT_TEXTS_PER_S:.0f}",
                    passed=hit >= TARGET_CACHE_HIT_TEXTS_PER_S,
                    details={**details, "path": "the event stream, every text cached (best of 3)"}),
        Measurement("text_cache_miss_texts_per_s", miss, "texts/s",
                    details={**details, "path": "the distinct texts on an empty cache: each "
                             "one tf-idf encoded and appended"}),
        Measurement("text_cache_hit_over_miss_ratio", hit / miss, "x", details=details),
        Measurement("text_cache_cold_stream_texts_per_s", cold, "texts/s",
                    details={**details, "path": "the event stream on an empty cache (its "
                             "distinct texts encoded once, the repeats gathered)"}),
    ]  # fmt: skip
    return out, (encoder, cache)


# --------------------------------------------------------------------------- training


def _model_inputs(out_dir: Path, n_stays: int, encoder: Any, cache: Any) -> tuple[Any, Any, Any]:
    """Events (with embeddings) and stays of the first ``n_stays`` extracted stays, split."""
    import pyarrow.parquet as pq

    from clinssl.events.dataset import split_stays
    from clinssl.events.text import embed_texts

    stays = pq.read_table(out_dir / "stays.parquet").to_pandas().head(n_stays)
    ids = stays["stay_id"].tolist()
    events = pq.read_table(out_dir / "events.parquet", filters=[("stay_id", "in", ids)])
    events = events.to_pandas()
    embeddings = embed_texts(events["event_text"].tolist(), encoder, cache)
    return events, stays.assign(split=split_stays(stays, seed=0)), embeddings


def _train_rate(tensors: Any, device: Any, architecture: dict[str, Any], batch: int,
                steps: int, max_seconds: float = math.inf) -> tuple[float, float, float]:  # fmt: skip
    """Samples/s of the real training step (best and median of :data:`ROUNDS` rounds of
    ``steps`` steps: on a shared CPU one descheduled thread stalls the other at every
    barrier, so the best round is the machine's speed), and the mean batch width after
    trimming. Rounds after the first are skipped once ``max_seconds`` have passed."""
    import numpy as np
    import torch

    from clinssl.events.dataset import EventDataset, collate_events
    from clinssl.events.model import EventSequenceModel, temporal_aware_loss
    from clinssl.events.training import event_model_config

    torch.manual_seed(0)
    model = EventSequenceModel(event_model_config(tensors, **architecture)).to(device).train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.01)
    dataset = EventDataset(tensors, "train")
    rng = np.random.default_rng(0)
    batches = [
        collate_events([dataset[int(i)] for i in rng.choice(len(dataset), batch,
                                                             replace=len(dataset) < batch)])
        for _ in range(min(8, steps))
    ]  # fmt: skip

    def step(b: dict[str, torch.Tensor]) -> None:
        b = {key: value.to(device, non_blocking=True) for key, value in b.items()}
        logit = model(b["seq"], b["mask"], b["static"])
        loss = temporal_aware_loss(logit.float(), b["label"], b["minutes_last"], 0.0)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()

    for b in batches[:3]:  # warm-up (allocator, kernels, optimiser state)
        step(b)
    rates: list[float] = []
    started = time.perf_counter()
    for _ in range(ROUNDS):
        if rates and time.perf_counter() - started > max_seconds:
            break
        sync_device(device)
        start = time.perf_counter()
        for i in range(steps):
            step(batches[i % len(batches)])
        sync_device(device)
        rates.append(steps * batch / (time.perf_counter() - start))
    width = float(np.mean([b["seq"].shape[1] for b in batches]))
    return max(rates), float(np.median(rates)), width


#: the CPU default and the reference model (on CUDA) of the training benchmark
CPU_ARCH: dict[str, Any] = dict(d_model=64, n_layers=4, n_heads=8, d_ff=128, norm_first=True)
GPU_ARCH: dict[str, Any] = dict(d_model=256, n_layers=4, n_heads=8, d_ff=512)


def device_training_measurement(out_dir: Path, scale: BenchScale, encoder: Any, cache: Any,
                                device: Any, steps: int,
                                max_seconds: float = math.inf) -> Measurement:  # fmt: skip
    """Training samples/s on ``device`` alone (the one-call GPU benchmark's number): the
    reference model (512 events, batch 64) on CUDA, the CPU default (64 events, batch 32)
    elsewhere."""
    import torch

    from clinssl.events.dataset import build_tensors, fit_preprocessors

    events, stays, embeddings = _model_inputs(out_dir, scale.model_stays, encoder, cache)
    static, scaler = fit_preprocessors(events, stays, stays["split"])
    on_cuda = device.type == "cuda"
    arch, max_events, batch = (GPU_ARCH, 512, 64) if on_cuda else (CPU_ARCH, 64, 32)
    tensors = build_tensors(events, stays, embeddings, static, scaler, max_events)
    rate, median, width = _train_rate(tensors, device, arch, batch, steps, max_seconds)
    label = torch.cuda.get_device_name(device) if on_cuda else "cpu"
    return Measurement("train_samples_per_s", rate, "samples/s",
                       details={**arch, "max_events": max_events, "batch": batch,
                                "dtype": "float32", "device": label, "steps": steps,
                                "threads": torch.get_num_threads(), "rounds": ROUNDS,
                                "median_round_samples_per_s": median,
                                "mean_batch_events": width, "stays": len(stays)})  # fmt: skip


def training_measurements(out_dir: Path, scale: BenchScale, encoder: Any, cache: Any) -> list[Measurement]:
    """Training samples/s on CPU (and GPU) from the extraction in ``out_dir`` (used by
    :mod:`clinssl.bench.bench_events_train`)."""
    import torch

    from clinssl.events.dataset import build_tensors, fit_preprocessors

    events, stays, embeddings = _model_inputs(out_dir, scale.model_stays, encoder, cache)
    static, scaler = fit_preprocessors(events, stays, stays["split"])

    def tensors(max_events: int) -> Any:
        return build_tensors(events, stays, embeddings, static, scaler, max_events)

    cpu_arch = CPU_ARCH
    rate, median, width = _train_rate(tensors(64), torch.device("cpu"), cpu_arch, 32,
                                      scale.cpu_steps)  # fmt: skip
    out = [
        Measurement("train_cpu_samples_per_s", rate, "samples/s",
                    details={**cpu_arch, "max_events": 64, "batch": 32,
                             "threads": torch.get_num_threads(), "steps": scale.cpu_steps,
                             "rounds": ROUNDS, "median_round_samples_per_s": median,
                             "mean_batch_events": width, "stays": len(stays)}),
    ]  # fmt: skip
    if torch.cuda.is_available():
        gpu_arch = GPU_ARCH
        gpu = torch.device("cuda")
        rate, median, width = _train_rate(tensors(512), gpu, gpu_arch, 64, scale.gpu_steps)
        out.append(
            Measurement("train_gpu_samples_per_s", rate, "samples/s",
                        details={**gpu_arch, "max_events": 512, "batch": 64, "dtype": "float32",
                                 "gpu": torch.cuda.get_device_name(0), "steps": scale.gpu_steps,
                                 "rounds": ROUNDS, "median_round_samples_per_s": median,
                                 "mean_batch_events": width, "stays": len(stays)})
        )  # fmt: skip
    return out


def measure(work_dir: Path, scale: BenchScale) -> list[Measurement]:
    """All measurements of the module docstring at ``scale``; data goes under ``work_dir``."""
    work_dir = Path(work_dir)
    extraction, out_dir = _extraction(work_dir, scale)
    text, (encoder, cache) = _text_cache(work_dir, out_dir, scale)
    return [*extraction, *text]


def run(work_dir: Path, scale: str) -> list[Measurement]:
    return measure(work_dir, SCALES[scale])
