"""Per-rule wall time and peak memory of the last workflow run, from Snakemake's benchmark
TSVs (``benchmark:`` directive), as one table (``results/bench/rules.csv``).

Why: the benchmark modules measure library kernels; this table answers "which rule of my
run took the time and the memory", the number a user needs to size ``runtime``/``mem_mb``
for a cluster. Each TSV holds the job's most recent execution, so the table describes the
last time each job ran. A TSV row has the columns Snakemake writes (``s``, ``max_rss`` in MB,
``cpu_time``, ...); with ``--benchmark-extended`` it also names the rule (``rule_name``),
otherwise the rule is read from the path, which in this repository is
``results/benchmarks/[<branch>/]<rule>[/<wildcards>].tsv`` or
``results/benchmarks/<branch>/<rule>_<wildcards>.tsv``.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from clinssl.utils import atomic_write_text

COLUMNS = (
    "rule",
    "jobs",
    "wall_s_total",
    "wall_s_max",
    "max_rss_mb",
    "cpu_time_s_total",
    "last_finished_utc",
)


@dataclass(frozen=True)
class JobBenchmark:
    """One job's benchmark record (the last row of its TSV)."""

    path: Path
    rule: str
    wall_s: float
    max_rss_mb: float | None
    cpu_time_s: float | None
    finished: datetime


def _number(value: str | None) -> float | None:
    try:
        number = float(value) if value not in (None, "", "NA", "-") else None
    except ValueError:
        return None
    return None if number is None or math.isnan(number) else number


def rule_from_path(relative: Path, known_rules: set[str] | None = None) -> str:
    """The rule a benchmark file belongs to, from its path under the benchmarks dir.

    With ``known_rules`` the longest rule name that the file stem or a directory equals or
    starts with (followed by ``_``) wins; without, the first component named like its
    branch directory (``icu/icu_train/...`` -> ``icu_train``), else the first component.
    """
    parts = [*relative.parent.parts, relative.name.removesuffix(".tsv")]
    if known_rules:
        matches = [
            rule
            for part in parts
            for rule in known_rules
            if part == rule or part.startswith(rule + "_")
        ]
        if matches:
            return max(matches, key=len)
    if len(parts) > 1 and parts[1].startswith(parts[0] + "_"):
        return parts[1]
    return parts[0]


def read_benchmark(path: Path, root: Path, known_rules: set[str] | None = None) -> JobBenchmark:
    """Parse one benchmark TSV; raise ``ValueError`` naming the file when it is not one."""
    text = path.read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text), delimiter="\t"))
    if not rows or "s" not in rows[-1]:
        raise ValueError(
            f"{path}: not a Snakemake benchmark file (expected a header with column 's' "
            f"and at least one row)"
        )
    row = rows[-1]  # with repeat() the last repetition
    wall = _number(row.get("s"))
    if wall is None:
        raise ValueError(f"{path}: column 's' (wall seconds) is {row.get('s')!r}, not a number")
    rule = (row.get("rule_name") or "").strip() or rule_from_path(
        path.relative_to(root), known_rules
    )
    return JobBenchmark(
        path=path,
        rule=rule,
        wall_s=wall,
        max_rss_mb=_number(row.get("max_rss")),
        cpu_time_s=_number(row.get("cpu_time")),
        finished=datetime.fromtimestamp(path.stat().st_mtime, UTC),
    )


def collect(
    benchmarks_dir: Path, known_rules: set[str] | None = None, errors: list[str] | None = None
) -> list[dict]:
    """One row per rule (sorted by total wall time, largest first); [] when no TSVs.

    A file that is not a benchmark TSV raises ``ValueError``, or, when ``errors`` is given,
    is left out with its message appended there (one bad file should not hide the table).
    """
    jobs = []
    for path in sorted(Path(benchmarks_dir).rglob("*.tsv")):
        try:
            jobs.append(read_benchmark(path, benchmarks_dir, known_rules))
        except (ValueError, OSError, UnicodeDecodeError) as err:
            if errors is None:
                raise
            errors.append(str(err))
    by_rule: dict[str, list[JobBenchmark]] = {}
    for job in jobs:
        by_rule.setdefault(job.rule, []).append(job)
    rows = []
    for rule, group in by_rule.items():
        rss = [j.max_rss_mb for j in group if j.max_rss_mb is not None]
        cpu = [j.cpu_time_s for j in group if j.cpu_time_s is not None]
        rows.append(
            {
                "rule": rule,
                "jobs": len(group),
                "wall_s_total": round(sum(j.wall_s for j in group), 3),
                "wall_s_max": round(max(j.wall_s for j in group), 3),
                "max_rss_mb": round(max(rss), 1) if rss else None,
                "cpu_time_s_total": round(sum(cpu), 3) if cpu else None,
                "last_finished_utc": max(j.finished for j in group).isoformat(timespec="seconds"),
            }
        )
    rows.sort(key=lambda r: (-r["wall_s_total"], r["rule"]))
    return rows


def write_rules_csv(rows: list[dict], path: Path) -> None:
    """Write ``rows`` (from :func:`collect`) atomically as CSV with :data:`COLUMNS`."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row[k] is None else row[k] for k in COLUMNS})
    atomic_write_text(path, buffer.getvalue())


def markdown(rows: list[dict]) -> str:
    """The rules table as markdown (appended to ``summary.md``)."""
    lines = [
        "| rule | jobs | wall s (total) | wall s (max job) | max RSS MB | CPU s |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        rss = "" if r["max_rss_mb"] is None else f"{r['max_rss_mb']:.1f}"
        cpu = "" if r["cpu_time_s_total"] is None else f"{r['cpu_time_s_total']:.2f}"
        lines.append(
            f"| {r['rule']} | {r['jobs']} | {r['wall_s_total']:.2f} | {r['wall_s_max']:.2f} "
            f"| {rss} | {cpu} |"
        )
    return "\n".join(lines) + "\n"
