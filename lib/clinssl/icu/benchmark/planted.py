"""The planted-truth checks of the synthetic ICU cohort, computed from a summary table.

Only datasets with planted truth (format ``synthetic``) get them: the thresholds describe
the signal the generator planted, and mean nothing on a real cohort
(:func:`clinssl.icu.benchmark.checks.benchmark_report` decides).
"""

from __future__ import annotations

import pandas as pd

from clinssl.icu.names import EXTERNAL_REFERENCES, RANDOM

__all__ = ["planted_checks"]

def _mean(table: pd.DataFrame, **where: object) -> float:
    sub = table
    for key, value in where.items():
        sub = sub[sub[key] == value]
    return float(sub["mean"].iloc[0]) if len(sub) else float("nan")


def planted_checks(
    table: pd.DataFrame,
    fairness_summary: pd.DataFrame,
    auroc_threshold: float = 0.75,
    mortality_task: str = "mortality_hospital",
    probe_comparison: pd.DataFrame | None = None,
) -> dict:
    """The issue's planted-truth checks on a summary table (full label fraction).

    * supervised and fine-tuned AUROC ≥ ``auroc_threshold`` for ``mortality_task`` and AKI
      (``mortality_24h`` is reported in the table but not checked: on the 3,000-stay default
      it has ~8 positive test stays per seed, so its AUROC's seed-to-seed sd is ~0.1–0.25);
    * every SSL paradigm of the controlled comparison (not the external references, i.e.
      SMART: its margin is a finding, :func:`clinssl.icu.benchmark.checks.findings`) has a
      linear probe that beats the probe of a randomly initialised frozen encoder of the
      same architecture on mortality (AUROC, mean over seeds). With
      ``probe_comparison`` (:func:`probe_vs_random`) the check also reports the paired
      margin's 95 % CI and ``clear_of_test_noise`` (CI above 0): a pass that is not clear
      of the noise is reported as such, not hidden;
    * the planted subgroup effect (hidden extra risk at age 80+) gives a nonzero AUROC gap
      across age groups.

    Each check records the numbers it compared, so the JSON is also the report.
    """
    full = table[
        (table["label_fraction"] == table["label_fraction"].max()) & (table["metric"] == "auroc")
    ]
    checks: dict[str, dict] = {}
    for task in sorted(set(full["task"]) & {mortality_task, "aki_kdigo"}):
        for protocol in ("supervised", "finetune"):
            rows = full[(full["task"] == task) & (full["protocol"] == protocol)]
            for _, row in rows.iterrows():
                checks[f"{protocol}_{row['paradigm']}_{task}_auroc"] = {
                    "value": float(row["mean"]), "sd": float(row["sd"]),
                    "threshold": auroc_threshold, "passed": bool(row["mean"] >= auroc_threshold),
                }  # fmt: skip
    probes = full[(full["protocol"] == "linear_probe") & (full["task"] == mortality_task)]
    controlled = probes[~probes["paradigm"].isin([RANDOM, *EXTERNAL_REFERENCES])]
    for _, row in controlled.iterrows():
        floor = _mean(probes, paradigm=RANDOM, encoder=row["encoder"])
        check = {
            "value": float(row["mean"]), "random_init": floor,
            "passed": bool(row["mean"] > floor),
        }  # fmt: skip
        if probe_comparison is not None and not probe_comparison.empty:
            paired = probe_comparison[
                (probe_comparison["paradigm"] == row["paradigm"])
                & (probe_comparison["encoder"] == row["encoder"])
            ]
            if len(paired):
                p = paired.iloc[0]
                check["paired_margin"] = float(p["delta"])
                check["paired_margin_ci95"] = [float(p["ci_low"]), float(p["ci_high"])]
                check["seeds_better"] = f"{int(p['seeds_better'])}/{int(p['n_seeds'])}"
                check["clear_of_test_noise"] = bool(p["ci_low"] > 0)
        checks[f"probe_{row['paradigm']}_beats_random_{mortality_task}"] = check
    if not fairness_summary.empty:
        fs = fairness_summary[
            (fairness_summary["attribute"] == "age_group")
            & (fairness_summary["task"] == mortality_task)
            & (fairness_summary["label_fraction"] == fairness_summary["label_fraction"].max())
            & (fairness_summary["protocol"].isin(["supervised", "finetune"]))
        ]
        if len(fs):
            gaps = fs["auroc_gap"].dropna()
            worst = fs["worst_group_auroc"].mode()
            checks[f"age_group_auroc_gap_{mortality_task}"] = {
                "mean_gap": float(gaps.mean()) if len(gaps) else float("nan"),
                "min_gap": float(gaps.min()) if len(gaps) else float("nan"),
                "most_frequent_worst_group": str(worst.iloc[0]) if len(worst) else None,
                "passed": bool(len(gaps) and gaps.min() > 0),
            }
    return checks
