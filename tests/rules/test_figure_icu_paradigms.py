"""Rule figure_icu_paradigms: one PNG per dataset of the paradigm comparison, drawn from
that dataset's summary alone."""

from __future__ import annotations

import matplotlib.image as mpimg

from dagjobs import planned_jobs

DATASET = "synthetic"
DATA = f"results/icu/{DATASET}"


def test_figure_icu_paradigms(runner, built_branch) -> None:
    runner.stage(built_branch("icu").workdir, [f"{DATA}/ssl/summary.csv"])
    target = f"results/figures/icu_paradigms_{DATASET}.png"
    (png,) = runner.run_rule("figure_icu_paradigms", [target])
    assert png == runner.path(target)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = mpimg.imread(png)
    height, width = image.shape[:2]
    assert width > 2 * height  # one panel per task, side by side
    assert image[..., :3].std() > 0.05  # not blank
    assert not runner.path("results/figures/icu_paradigms.png").exists()  # no dataset-less name
    assert runner.path(f"results/logs/figures/icu_paradigms_{DATASET}.log").read_text()
    assert runner.path(f"results/benchmarks/figures/icu_paradigms_{DATASET}.tsv").is_file()


def test_one_figure_per_run_dataset(runner) -> None:
    """Every dataset of icu.run_datasets gets its own figure job, log and report entry in
    the default target (not only the first)."""
    config = runner.config
    config["branches"] = {branch: branch == "icu" for branch in config["branches"]}
    config["icu"]["datasets"]["second"] = dict(config["icu"]["datasets"][DATASET])
    config["icu"]["run_datasets"] = [DATASET, "second"]
    runner.write_config(config)
    jobs = [
        job
        for job in planned_jobs(runner.workdir, runner.configfile)
        if job.rule == "figure_icu_paradigms"
    ]
    assert sorted(o for job in jobs for o in job.outputs) == [
        "results/figures/icu_paradigms_second.png",
        f"results/figures/icu_paradigms_{DATASET}.png",
    ]
    for job in jobs:
        name = job.outputs[0].removeprefix("results/figures/").removesuffix(".png")
        dataset = name.removeprefix("icu_paradigms_")
        assert job.inputs == [f"results/icu/{dataset}/ssl/summary.csv"]
        assert job.logs == [f"results/logs/figures/{name}.log"]
