"""``python -m clinssl.bench [--out results/bench] [--scale full|quick] [names...]``.

Runs each selected benchmark in its own subprocess and writes per-benchmark JSON plus the
summary table (see :mod:`clinssl.bench`). It also turns the Snakemake benchmark TSVs of the
last workflow run (``--benchmarks results/benchmarks``) into ``rules.csv``: per-rule wall
time and max RSS (see :mod:`clinssl.bench.rule_table`); ``--rules-only`` does just that.

``--device cuda`` (``make bench-gpu``) instead runs the one-call GPU benchmark: every
benchmark with a device path (:data:`clinssl.bench.gpu.GPU_BENCHMARKS`, or the ``names``
given, which must be among them) in this one process on that device, within
``--time-cap`` seconds, into one ``<out>/gpu.json`` (default out ``results/bench-gpu``; see
:mod:`clinssl.bench.gpu`). ``--device cpu --scale quick`` is the same run at tiny sizes.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from clinssl.bench import rule_table
from clinssl.bench.core import BENCHMARKS, machine_description
from clinssl.utils import atomic_write_text, write_json


def run_one(name: str, module: str, scale: str) -> dict:
    """Run benchmark ``name`` in a child interpreter; return its parsed JSON record."""
    with tempfile.TemporaryDirectory(prefix=f"clinssl-bench-{name}-") as work:
        code = (
            "import json, sys; from pathlib import Path; import importlib;"
            f"m = importlib.import_module({module!r});"
            f"res = m.run(Path({work!r}), {scale!r});"
            "print('@@BENCH@@' + json.dumps([r.to_dict() for r in res]))"
        )
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if proc.returncode != 0:
        return {"name": name, "error": proc.stderr[-4000:], "measurements": []}
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("@@BENCH@@"))
    return {"name": name, "measurements": json.loads(line[len("@@BENCH@@") :])}


def markdown_table(rows: list[dict]) -> str:
    header = "| benchmark | metric | value | unit | target | passed | machine | date |\n"
    header += "|---|---|---|---|---|---|---|---|\n"
    lines = [
        f"| {r['benchmark']} | {r['metric']} | "
        f"{'n/a' if r['value'] is None else format(r['value'], '.4g')} | {r['unit']} | "
        f"{r['target'] or ''} | {'' if r['passed'] is None else r['passed']} | "
        f"{r['machine']} | {r['date']} |"
        for r in rows
    ]
    return header + "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "names", nargs="*", help=f"benchmarks to run (default all: {sorted(BENCHMARKS)})"
    )
    parser.add_argument("--out", type=Path, help="default results/bench (results/bench-gpu "
                        "with --device)")  # fmt: skip
    parser.add_argument("--scale", default="full", choices=["full", "quick"])
    parser.add_argument(
        "--benchmarks",
        default="results/benchmarks",
        type=Path,
        help="Snakemake benchmark TSVs of the last run, summarised in rules.csv",
    )
    parser.add_argument(
        "--benchmark-rules",
        type=Path,
        help="TSV of 'rule<TAB>benchmark path' lines (from a dry run) naming each TSV's rule",
    )
    parser.add_argument(
        "--rules-only", action="store_true", help="only write rules.csv (run no benchmark)"
    )
    parser.add_argument(
        "--device",
        help="run the one-call GPU benchmark on this device (cuda, cuda:N or cpu) instead",
    )
    parser.add_argument(
        "--time-cap",
        type=float,
        default=None,
        help="seconds the --device run may take in all (default 480)",
    )
    args = parser.parse_args(argv)
    if args.device is not None:
        return device_main(parser, args)
    args.out = args.out or Path("results/bench")

    rule_map = rule_table.read_rule_map(args.benchmark_rules) if args.benchmark_rules else None
    rules_rows = write_rules_table(args.benchmarks, args.out, rule_map)
    if args.rules_only:
        print(rule_table.markdown(rules_rows))
        return 0

    unknown = sorted(set(args.names) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; known: {sorted(BENCHMARKS)}")
    names = args.names or sorted(BENCHMARKS)
    machine = machine_description()
    machine_label = f"{machine['cpus']} CPU" + (f", {machine['gpu']}" if machine.get("gpu") else "")
    date = datetime.now(UTC).date().isoformat()

    rows: list[dict] = []
    failed = []
    for name in names:
        record = run_one(name, BENCHMARKS[name], args.scale)
        record.update(machine=machine, date=date, scale=args.scale)
        write_json(args.out / f"{name}.json", record)
        if "error" in record:
            failed.append(name)
            print(f"benchmark {name} failed:\n{record['error']}", file=sys.stderr)
        for m in record["measurements"]:
            rows.append({"benchmark": name, **m, "machine": machine_label, "date": date})
        print(f"{name}: {len(record['measurements'])} measurement(s)")

    write_json(
        args.out / "summary.json",
        {"machine": machine, "date": date, "rows": rows, "rules": rules_rows},
    )
    summary = markdown_table(rows)
    if rules_rows:
        summary += (
            f"\n## Workflow rules (last run, from {args.benchmarks})\n\n"
            + rule_table.markdown(rules_rows)
        )
    atomic_write_text(args.out / "summary.md", summary)
    print(summary)
    return 1 if failed else 0


def device_main(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """The one-call GPU benchmark (``--device``): one process, one JSON."""
    from clinssl.bench import gpu
    from clinssl.utils.device import select_device

    unknown = sorted(set(args.names) - set(gpu.GPU_BENCHMARKS))
    if unknown:
        parser.error(f"no device benchmark {unknown}; known: {list(gpu.GPU_BENCHMARKS)}")
    names = tuple(n for n in gpu.GPU_BENCHMARKS if n in args.names) or gpu.GPU_BENCHMARKS
    try:
        device = select_device(args.device)
    except (RuntimeError, ValueError) as exc:
        parser.error(f"--device {args.device}: {exc}")
    out = args.out or Path("results/bench-gpu")
    cap = gpu.TIME_CAP_S if args.time_cap is None else args.time_cap
    record = gpu.run_all(out, device, args.scale, names, cap)
    print(gpu.markdown(record))
    for name in record["failed"]:
        print(f"benchmark {name} failed:\n{record['modules'][name]['error']}", file=sys.stderr)
    print(f"wrote {out / gpu.JSON_NAME} ({record['total_wall_s']:.0f} s)")
    return 1 if record["failed"] or not record["within_time_cap"] else 0


def write_rules_table(benchmarks: Path, out: Path, rule_map: dict[str, str] | None) -> list[dict]:
    """Write ``out/rules.csv`` from ``benchmarks``; return its rows ([] without a run)."""
    if not benchmarks.is_dir():
        print(f"no {benchmarks} (no workflow run yet): rules.csv not written", file=sys.stderr)
        return []
    errors: list[str] = []
    rows = rule_table.collect(benchmarks, rule_map, errors)
    for error in errors:
        print(f"skipped {error}", file=sys.stderr)
    rule_table.write_rules_csv(rows, out / "rules.csv")
    print(f"rules.csv: {len(rows)} rule(s) from {benchmarks}")
    return rows


if __name__ == "__main__":
    raise SystemExit(main())
