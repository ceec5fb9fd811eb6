"""Per-rule wall time and peak memory of the last workflow run, from Snakemake's benchmark
TSVs (``benchmark:`` directive), as one table (``results/bench/rules.csv``).

Why: the benchmark modules measure library kernels; this table answers "which rule of my
run took the time and the memory", the number a user needs to size ``runtime``/``mem_mb``
for a cluster. Each TSV holds the job's most recent execution, so the table describes the
last time each job ran. A TSV row has the columns Snakemake writes (``s``, ``max_rss`` in MB,
``cpu_time``, ...). The rule of each file comes from, in order: the ``rule_name`` column
(written with ``--benchmark-extended``, as the SLURM profile does), a benchmark-to-rule map
(``make bench`` builds it from the ``benchmark:`` lines of a dry run), or, failing both,
the file's first directory (``results/benchmarks/<branch>/...`` -> ``<branch>``).
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


def read_rule_map(path: Path) -> dict[str, str]:
    """``{benchmark path: rule}`` from a TSV of ``rule<TAB>benchmark path`` lines."""
    mapping: dict[str, str] = {}
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 2:
            raise ValueError(f"{path}:{number}: expected 'rule<TAB>benchmark path', got {line!r}")
        mapping[Path(fields[1].strip()).as_posix()] = fields[0].strip()
    return mapping


def _rule_of(path: Path, root: Path, rule_map: dict[str, str] | None) -> str:
    if rule_map:
        for key in (path.as_posix(), path.resolve().as_posix()):
            if key in rule_map:
                return rule_map[key]
        for key, rule in rule_map.items():
            if path.resolve() == Path(key).resolve():
                return rule
    return path.relative_to(root).parts[0].removesuffix(".tsv")


def read_benchmark(path: Path, root: Path, rule_map: dict[str, str] | None = None) -> JobBenchmark:
    """Parse one benchmark TSV; raise ``ValueError`` naming the file when it is not one."""
    text = path.read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE))
    if not rows or "s" not in rows[-1]:
        raise ValueError(
            f"{path}: not a Snakemake benchmark file (expected a header with column 's' "
            f"and at least one row)"
        )
    row = rows[-1]  # with repeat() the last repetition
    wall = _number(row.get("s"))
    if wall is None:
        raise ValueError(f"{path}: column 's' (wall seconds) is {row.get('s')!r}, not a number")
    rule = (row.get("rule_name") or "").strip() or _rule_of(path, root, rule_map)
    return JobBenchmark(
        path=path,
        rule=rule,
        wall_s=wall,
        max_rss_mb=_number(row.get("max_rss")),
        cpu_time_s=_number(row.get("cpu_time")),
        finished=datetime.fromtimestamp(path.stat().st_mtime, UTC),
    )


def collect(
    benchmarks_dir: Path, rule_map: dict[str, str] | None = None, errors: list[str] | None = None
) -> list[dict]:
    """One row per rule (sorted by total wall time, largest first); [] when no TSVs.

    A file that is not a benchmark TSV raises ``ValueError``, or, when ``errors`` is given,
    is left out with its message appended there (one bad file should not hide the table).
    """
    jobs = []
    for path in sorted(Path(benchmarks_dir).rglob("*.tsv")):
        try:
            jobs.append(read_benchmark(path, Path(benchmarks_dir), rule_map))
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
