"""The PPG planted-truth checks: HiMAE over its random-init floor, probes above chance."""

from __future__ import annotations

from clinssl.ppg.planted import probe_checks


def _metrics(kind_metric: str, chance: float, values: dict, margin_low: float | None = None):
    results = {name: {key: {kind_metric: {"value": v, "ci_low": v - 0.05, "ci_high": v + 0.05}}
                      for key, v in by.items()} for name, by in values.items()}  # fmt: skip
    margins = {"0.1": {}, "1.0": {}}
    if margin_low is not None:
        margins["1.0"]["himae - himae_random"] = {"metric": kind_metric, "delta": margin_low + 0.05,
                                                  "ci_low": margin_low, "ci_high": margin_low + 0.1,
                                                  "p_value": 0.01}  # fmt: skip
    return {"label_fractions": [0.1, 1.0], "margin_metric": kind_metric, "chance": chance,
            "results": results, "margins": margins}  # fmt: skip


def test_margin_must_clear_zero_and_every_full_label_probe_must_beat_chance() -> None:
    values = {"himae": {"0.1": 0.7, "1.0": 0.8}, "himae_random": {"0.1": 0.45, "1.0": 0.6}}
    ok = probe_checks({"pvc": _metrics("auroc", 0.5, values, margin_low=0.02)})
    assert ok["pvc_beats_random_init"]["passed"] and ok["pvc_above_chance"]["passed"]
    assert ok["pvc_above_chance"]["value"] == 0.6
    assert ok["pvc_above_chance"]["lowest_any_fraction"] == {"himae_random @ 0.1": 0.45}
    bad = probe_checks({"pvc": _metrics("auroc", 0.5, values, margin_low=-0.01)})
    assert not bad["pvc_beats_random_init"]["passed"]
    chance = {"himae": {"0.1": 0.1, "1.0": 0.3}, "classical": {"0.1": 0.2, "1.0": -0.02}}
    age = probe_checks({"age": _metrics("r2", 0.0, chance)})["age_above_chance"]
    assert not age["passed"] and age["lowest"] == "classical @ 1.0"
    assert "pvc_beats_random_init" not in probe_checks({"age": _metrics("r2", 0.0, chance)})
