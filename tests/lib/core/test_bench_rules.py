"""rules.csv: per-rule wall time and max RSS from Snakemake benchmark TSVs."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from clinssl.bench import __main__ as bench_main
from clinssl.bench import rule_table

HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def tsv(path: Path, seconds: float, rss: str, cpu: str = "1.0", extra: str = "") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    header = HEADER.rstrip("\n") + ("\trule_name\n" if extra else "\n")
    row = f"{seconds}\t0:00:01\t{rss}\t10\t5\t5\t0\t0\t50\t{cpu}" + (f"\t{extra}" if extra else "")
    path.write_text(header + row + "\n")


def test_rules_are_aggregated_over_their_jobs(tmp_path: Path) -> None:
    bench = tmp_path / "benchmarks"
    tsv(bench / "icu" / "icu_train" / "synthetic_mae.tsv", 10.0, "300.5", "18.0")
    tsv(bench / "icu" / "icu_train" / "synthetic_jepa.tsv", 4.0, "512.25", "7.0")
    tsv(bench / "write_run_manifest.tsv", 0.5, "NA", "NA")
    tsv(bench / "ppg" / "odd_name.tsv", 2.0, "90", extra="ppg_pretrain_himae")

    mapping = {
        (bench / "icu" / "icu_train" / name).as_posix(): "icu_train"
        for name in ("synthetic_mae.tsv", "synthetic_jepa.tsv")
    }
    rows = {r["rule"]: r for r in rule_table.collect(bench, mapping)}

    assert set(rows) == {"icu_train", "write_run_manifest", "ppg_pretrain_himae"}
    train = rows["icu_train"]
    assert train["jobs"] == 2 and train["wall_s_total"] == 14.0 and train["wall_s_max"] == 10.0
    assert train["max_rss_mb"] == pytest.approx(512.25, abs=0.06)  # rounded to 0.1 MB
    assert train["cpu_time_s_total"] == 25.0
    # memory not measured for a very short job: empty, not zero
    assert rows["write_run_manifest"]["max_rss_mb"] is None
    # the extended benchmark's rule_name column wins over the path
    assert rows["ppg_pretrain_himae"]["wall_s_total"] == 2.0
    # largest total wall time first
    assert [r["rule"] for r in rule_table.collect(bench, mapping)][0] == "icu_train"


def test_rule_map_names_files_whose_path_does_not(tmp_path: Path) -> None:
    bench = tmp_path / "benchmarks"
    tsv(bench / "ppg" / "synthetic" / "pretrain_himae.tsv", 3.0, "100")
    tsv(bench / "ppg" / "synthetic" / "embed_himae.tsv", 1.0, "100")
    tsv(bench / "ppg" / "synthetic" / "unmapped.tsv", 1.0, "100")
    mapping = tmp_path / "map.tsv"
    mapping.write_text(
        f"ppg_pretrain_himae\t{bench / 'ppg/synthetic/pretrain_himae.tsv'}\n"
        f"ppg_embed\t{bench / 'ppg/synthetic/embed_himae.tsv'}\n"
    )
    rows = {r["rule"]: r for r in rule_table.collect(bench, rule_table.read_rule_map(mapping))}
    # mapped files get their rule; an unmapped one falls back to its first directory
    assert set(rows) == {"ppg_pretrain_himae", "ppg_embed", "ppg"}
    assert rows["ppg_pretrain_himae"]["wall_s_total"] == 3.0


def test_malformed_rule_map_is_named(tmp_path: Path) -> None:
    mapping = tmp_path / "map.tsv"
    mapping.write_text("just_a_rule\n")
    with pytest.raises(ValueError, match=r"map\.tsv:1: expected 'rule<TAB>benchmark path'"):
        rule_table.read_rule_map(mapping)


def test_bad_file_is_named_in_the_error(tmp_path: Path) -> None:
    bad = tmp_path / "benchmarks" / "x.tsv"
    bad.parent.mkdir()
    bad.write_text("not\ta\tbenchmark\n1\t2\t3\n")
    with pytest.raises(ValueError, match=r"x\.tsv.*column 's'"):
        rule_table.collect(tmp_path / "benchmarks")
    errors: list[str] = []
    assert rule_table.collect(tmp_path / "benchmarks", errors=errors) == []
    assert len(errors) == 1 and "x.tsv" in errors[0]


def test_cli_rules_only_writes_csv_and_summary_includes_rules(tmp_path: Path) -> None:
    bench = tmp_path / "benchmarks"
    tsv(bench / "core_rule.tsv", 1.5, "42")
    out = tmp_path / "out"
    rc = bench_main.main(["--out", str(out), "--benchmarks", str(bench), "--rules-only"])
    assert rc == 0
    with open(out / "rules.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows == [
        {
            "rule": "core_rule",
            "jobs": "1",
            "wall_s_total": "1.5",
            "wall_s_max": "1.5",
            "max_rss_mb": "42.0",
            "cpu_time_s_total": "1.0",
            "last_finished_utc": rows[0]["last_finished_utc"],
        }
    ]
    assert rows[0]["last_finished_utc"].endswith("+00:00")
    assert not (out / "summary.json").exists()  # --rules-only runs no benchmark


def test_cli_without_a_run_writes_no_rules_csv(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(bench_main, "BENCHMARKS", {})
    out = tmp_path / "out"
    rc = bench_main.main(["--out", str(out), "--benchmarks", str(tmp_path / "none")])
    assert rc == 0
    assert not (out / "rules.csv").exists()
    assert json.loads((out / "summary.json").read_text())["rules"] == []
