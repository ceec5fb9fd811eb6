"""Figure rules and the outputs of a run, shared by the report and figure-target tests."""

from __future__ import annotations

import re

from snakerunner import REPO_ROOT, WorkflowRunner

FIGURES_SMK = REPO_ROOT / "rules" / "figures.smk"


def figure_rules() -> list[str]:
    """The rules of ``rules/figures.smk`` (one rule per figure, ``figure_<branch>_<what>``)."""
    return re.findall(r"^rule (\w+):", FIGURES_SMK.read_text(), re.MULTILINE)


def expected_figure_rules(config: dict) -> set[str]:
    """Figure rules whose branch (the name's second part) is switched on in ``config``."""
    on = {branch for branch, enabled in config["branches"].items() if enabled}
    return {rule for rule in figure_rules() if rule.split("_")[1] in on}


def outputs_by_rule(runner: WorkflowRunner) -> dict[str, list[str]]:
    """{rule: [output files]} of the workdir's DAG, from ``snakemake --summary``."""
    proc = runner.run((), "--summary")
    by_rule: dict[str, list[str]] = {}
    for line in proc.stdout.splitlines()[1:]:
        fields = line.split("\t")
        if len(fields) >= 3 and fields[2] != "-":
            by_rule.setdefault(fields[2], []).append(fields[0])
    return by_rule


def reported_patterns() -> dict[str, list[str]]:
    """{rule: [output path patterns wrapped in ``report(...)``]} over every ``rules/*.smk``.

    Why parse the rules: the report test must follow the rules as they change, so a new
    ``report()`` output is checked without editing the test."""
    found: dict[str, list[str]] = {}
    for smk in sorted((REPO_ROOT / "rules").glob("*.smk")):
        for block in re.split(r"^(?=rule \w+:)", smk.read_text(), flags=re.MULTILINE):
            name = re.match(r"rule (\w+):", block)
            if name:
                paths = re.findall(r"report\(\s*\"([^\"]+)\"", block)
                if paths:
                    found[name.group(1)] = paths
    return found


def pattern_regex(pattern: str) -> re.Pattern[str]:
    """A regex matching the paths of an output pattern (``{wildcard}`` = one path part)."""
    parts = re.split(r"\{[^}]+\}", pattern)
    return re.compile("[^/]+".join(re.escape(p) for p in parts) + r"\Z")


def check_figure(runner: WorkflowRunner, rule: str, stage_from, inputs: list[str]) -> None:
    """Stage a figure rule's inputs, run only that rule, and check its PNG: a real image of
    a reasonable size that is not blank, and a non-empty log."""
    import matplotlib.image as mpimg
    import numpy as np

    name = rule.removeprefix("figure_")
    runner.stage(stage_from, inputs)
    (png,) = runner.run_rule(rule, [f"results/figures/{name}.png"])
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = mpimg.imread(png)
    assert image.shape[0] >= 300 and image.shape[1] >= 300
    assert np.std(image[..., :3]) > 0.05
    assert runner.path(f"results/logs/figures/{name}.log").read_text().strip()
