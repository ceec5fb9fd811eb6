"""The ICU paradigm figure (clinssl.icu.plots): bars for supervised and the SSL paradigms,
labelled reference lines for the classical baselines and the random floor, and one legend
for the whole figure that covers no axes' data area."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from clinssl.icu.names import (
    CLASSICAL,
    CLASSICAL_FEATURES,
    CLASSICAL_PROTOCOLS,
    RANDOM,
    SUPERVISED,
)
from clinssl.icu.plots import icu_paradigms_figure, plot_icu_paradigms, reference_label
from clinssl.plots.style import plt

FRACTIONS = (0.1, 1.0)
TASKS = {"mortality_hospital": ("binary", "auroc"), "los_remaining": ("regression", "mae")}


def summary_table(classical: bool = True, tasks=TASKS) -> pd.DataFrame:
    """A hand-made summary (the columns of clinssl.icu.benchmark.summarize)."""
    rng = np.random.default_rng(0)
    bars = [
        (SUPERVISED, "transformer", SUPERVISED),
        ("mae", "transformer", "linear_probe"),
        ("mae", "transformer", "finetune"),
        ("smart", "mart", "linear_probe"),
        (RANDOM, "transformer", "linear_probe"),
        (RANDOM, "mart", "linear_probe"),
    ]
    if classical:
        bars += [(CLASSICAL, CLASSICAL_FEATURES, p) for p in CLASSICAL_PROTOCOLS]
    rows = []
    for (task, (kind, metric)), (paradigm, encoder, protocol), fraction in itertools.product(
        tasks.items(), bars, FRACTIONS
    ):
        mean = rng.uniform(0.55, 0.9) if kind == "binary" else rng.uniform(1.0, 2.0)
        for name, value in ((metric, mean), ("brier", 0.2)):
            rows.append(
                {
                    "paradigm": paradigm,
                    "encoder": encoder,
                    "protocol": protocol,
                    "task": task,
                    "kind": kind,
                    "label_fraction": fraction,
                    "metric": name,
                    "mean": value,
                    "sd": 0.02,
                    "n_seeds": 2,
                    "ci_low": value - 0.05,
                    "ci_high": value + 0.05,
                }
            )
    return pd.DataFrame(rows)


@pytest.fixture
def figure():
    """Build a figure from ``summary`` and draw it (layout done); closed afterwards."""
    made = []

    def build(summary: pd.DataFrame):
        fig = icu_paradigms_figure(summary, title="ICU SSL paradigms (toy)")
        fig.canvas.draw()
        made.append(fig)
        return fig

    yield build
    for fig in made:
        plt.close(fig)


def reference_lines(ax) -> dict[str, float]:
    """{label: y} of the labelled horizontal lines of an axes (errorbar caps are unlabelled)."""
    lines = {}
    for line in ax.get_lines():
        label = line.get_label()
        if label.startswith("_"):
            continue
        ys = np.unique(np.asarray(line.get_ydata(), float))
        assert len(ys) == 1, f"{label} is not horizontal"
        lines[label] = float(ys[0])
    return lines


def expected_references(summary: pd.DataFrame, task: str) -> dict[str, float]:
    kind, metric = TASKS[task]
    sub = summary[(summary["task"] == task) & (summary["metric"] == metric)]
    sub = sub[sub["paradigm"].isin([CLASSICAL, RANDOM]) & (sub["label_fraction"] == 1.0)]
    return {
        reference_label(r.paradigm, r.protocol, r.encoder, r.label_fraction): r.mean
        for r in sub.itertuples()
    }


def the_legend(fig):
    """The figure's only legend (a figure legend or one panel's)."""
    legends = fig.legends + [ax.get_legend() for ax in fig.axes if ax.get_legend()]
    assert len(legends) == 1, f"expected one legend for the whole figure, got {len(legends)}"
    return legends[0]


def assert_legend_off_the_data(fig) -> None:
    """The legend lies inside the figure (not cropped) and overlaps no axes' data area."""
    legend = the_legend(fig)
    renderer = fig.canvas.get_renderer()
    box = legend.get_window_extent(renderer)
    figure_box = fig.bbox
    assert figure_box.x0 - 1 <= box.x0 and box.x1 <= figure_box.x1 + 1, "legend cropped"
    assert figure_box.y0 - 1 <= box.y0 and box.y1 <= figure_box.y1 + 1, "legend cropped"
    for ax in fig.axes:
        assert not box.overlaps(ax.bbox), f"legend covers the data area of {ax.get_title()}"


def test_writes_a_png(tmp_path) -> None:
    path = tmp_path / "icu_paradigms_toy.png"
    plot_icu_paradigms(summary_table(), path, title="toy")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_reference_lines_and_one_legend_off_the_data(figure) -> None:
    summary = summary_table()
    fig = figure(summary)
    assert [ax.get_title() for ax in fig.axes] == list(TASKS)
    for ax, task in zip(fig.axes, TASKS, strict=True):
        expected = expected_references(summary, task)
        # two classical protocols and one random floor per encoder
        assert len(expected) == len(CLASSICAL_PROTOCOLS) + 2
        assert any(CLASSICAL in label for label in expected)
        assert any(RANDOM in label for label in expected)
        got = reference_lines(ax)
        assert got.keys() == expected.keys(), task
        for label, y in expected.items():
            assert got[label] == pytest.approx(y)
            low, high = ax.get_ylim()
            assert low < y < high, f"{label} outside the y-limits of {task}"
        # bars: supervised and the SSL paradigms only, not the references
        assert [t.get_text() for t in ax.get_xticklabels()] == [SUPERVISED, "mae", "smart"]
        assert not ax.texts, "no text notes over the data"
    # the binary task's headline metric is AUROC, the regression's MAE
    assert "AUROC" in fig.axes[0].get_ylabel() and "MAE" in fig.axes[1].get_ylabel()
    assert_legend_off_the_data(fig)
    labels = {t.get_text() for t in the_legend(fig).get_texts()}
    assert set().union(*(expected_references(summary, t) for t in TASKS)) <= labels
    assert {"supervised @ 1", "linear_probe @ 0.1", "finetune @ 1"} <= labels


def test_without_classical_rows(figure) -> None:
    summary = summary_table(classical=False)
    fig = figure(summary)
    for ax, task in zip(fig.axes, TASKS, strict=True):
        got = reference_lines(ax)
        assert got.keys() == expected_references(summary, task).keys()
        assert not any(CLASSICAL in label for label in got)
        assert len(got) == 2  # the random floor of each encoder
    assert_legend_off_the_data(fig)


def test_a_single_task(figure, tmp_path) -> None:
    only = {"mortality_hospital": TASKS["mortality_hospital"]}
    summary = summary_table(tasks=only)
    fig = figure(summary)
    (ax,) = fig.axes
    assert ax.get_title() == "mortality_hospital"
    assert reference_lines(ax).keys() == expected_references(summary, "mortality_hospital").keys()
    assert_legend_off_the_data(fig)
    path = tmp_path / "one.png"
    plot_icu_paradigms(summary, path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_rejects_a_table_without_the_summary_columns() -> None:
    with pytest.raises(ValueError, match="lacks columns"):
        icu_paradigms_figure(summary_table().drop(columns=["mean"]))
