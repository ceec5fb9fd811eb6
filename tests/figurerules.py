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
