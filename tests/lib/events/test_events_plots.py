"""Events figures: each draws a non-blank PNG from small tables and refuses an empty one."""

from __future__ import annotations

from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest

from clinssl.events.plots import plot_attention, plot_attributions, plot_head_specialization

BINS = ["0-6h", "6-24h", "24-72h", "72h+"]
TYPES = ["prescription", "procedure", "lab", "microbiology", "ingredient"]


def _attention() -> pd.DataFrame:
    rows = []
    for head in range(2):
        for kind, groups in (("event_type", TYPES), ("time_bin", BINS)):
            for i, group in enumerate(groups):
                for outcome in ("all", "died", "survived"):
                    mass = (i + 1 + head) / sum(range(1 + head, len(groups) + 1 + head))
                    rows.append({"head": head, "kind": kind, "group": group, "outcome": outcome,
                                 "attention_mass": mass, "event_share": 1 / len(groups),
                                 "enrichment": mass * len(groups)})  # fmt: skip
    return pd.DataFrame(rows)


def _is_drawn(path: Path) -> bool:
    image = mpimg.imread(path)
    return image.shape[0] > 200 and image.shape[1] > 400 and float(image[..., :3].std()) > 0.01


def test_the_three_figures(tmp_path: Path) -> None:
    n = 6
    example = {"layer0": np.full((n, n), 1 / n, np.float32), "layer1": np.eye(n, dtype=np.float32),
               "pooling": np.full((2, n), 1 / n, np.float32), "event_type_index": np.arange(n) % 5,
               "minutes_to_end": np.linspace(600, 10, n), "stay_id": np.array([7]),
               "probability": np.array([0.8]), "event_types": np.array(TYPES)}  # fmt: skip
    plot_attention(_attention(), example, BINS, tmp_path / "a.png")
    types = pd.DataFrame({"event_type": TYPES, "ig_mean": [0.3, 0.7, 0.6, 0.8, -0.2],
                          "layer_ig_mean": [0.3, 0.7, 0.6, 0.8, -0.2],
                          "ablation_mean": [0.6, 0.4, 1.5, 0.9, -0.1]})  # fmt: skip
    bins = pd.DataFrame({"time_bin": BINS * 2, "died": [1] * 4 + [0] * 4,
                         "ig_mean": [0.9, 2.4, 0.1, 0.0, 0.4, 0.4, 0.3, 0.0]})  # fmt: skip
    ranking = pd.DataFrame({"category": ["ventilation", "other_lab"], "ig_mean_per_event": [2.0, 0.01]})
    plot_attributions(types, bins, ranking, tmp_path / "b.png")
    plot_head_specialization(_attention(), tmp_path / "c.png")
    for name in ("a", "b", "c"):
        assert _is_drawn(tmp_path / f"{name}.png"), name


def test_an_empty_table_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="attention"):
        plot_head_specialization(_attention().iloc[:0], tmp_path / "c.png")
    assert not (tmp_path / "c.png").exists()
