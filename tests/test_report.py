"""``snakemake --report`` for the test config: a self-contained HTML in which every figure
(every output of a rule in ``rules/figures.smk``) is embedded byte for byte with its
caption, and every embedded result has a caption."""

from __future__ import annotations

import base64
import json
import re
import subprocess
from pathlib import Path

import pytest

from figurerules import (
    FIGURES_SMK,
    expected_figure_rules,
    figure_rules,
    outputs_by_rule,
    pattern_regex,
    reported_patterns,
)
from snakerunner import REPO_ROOT, WorkflowRunner, snakemake_command

pytestmark = pytest.mark.slow

CAPTIONS = REPO_ROOT / "report" / "captions"


def render_report(runner: WorkflowRunner, html: Path) -> str:
    cmd = snakemake_command(
        "--directory",
        runner.workdir,
        "--configfile",
        runner.configfile,
        "--report",
        html,
        snakefile=runner.snakefile,
    )
    proc = subprocess.run(cmd, cwd=runner.workdir, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-6000:]
    return html.read_text(encoding="utf-8")


def embedded_results(html: str) -> dict[str, dict]:
    """The report's ``results`` object: {path: {caption, data_uri, job_properties, ...}}."""
    match = re.search(r'<script id="results">\s*var results = (\{.*?\});\s*</script>', html, re.S)
    assert match, "report has no embedded results object"
    return json.loads(match.group(1))


def test_report_is_self_contained_and_embeds_every_figure_with_its_caption(
    built_workspace: WorkflowRunner, tmp_path: Path
) -> None:
    html = render_report(built_workspace, tmp_path / "report.html")
    results = embedded_results(html)

    # self-contained: no script, stylesheet or image fetched from elsewhere
    external = re.findall(r'<(?:script|link|img)[^>]+(?:src|href)="(?:https?:)?//[^"]+"', html)
    assert not external, f"report loads external resources: {external[:3]}"
    # the workflow description (report/workflow.rst) is rendered with this run's config
    desc = re.search(r'var workflow_desc = ("(?:[^"\\]|\\.)*");', html)
    assert desc, "report has no workflow description"
    text = " ".join(re.sub(r"<[^>]+>", "", json.loads(desc.group(1))).split())
    assert f"master seed {built_workspace.config['seed']}," in text, text[:500]

    produced = outputs_by_rule(built_workspace)
    figures = {path: rule for rule in figure_rules() for path in produced.get(rule, [])}
    # figures whose branch is on must be in the run
    expected = expected_figure_rules(built_workspace.config)
    assert expected <= set(figures.values()), f"figures missing from the run: {expected}"
    for path, rule in figures.items():
        assert path in results, f"figure {path} (rule {rule}) is not in the report"
        entry = results[path]
        assert entry["job_properties"]["rule"] == rule
        payload = entry["data_uri"].split("base64,", 1)[1]
        assert base64.b64decode(payload) == (built_workspace.workdir / path).read_bytes()
        assert (CAPTIONS / f"{rule}.rst").is_file(), f"no caption file for {rule}"
    for path, entry in results.items():
        text = re.sub(r"<[^>]+>", "", entry.get("caption") or "").strip()
        assert len(text) > 40, f"report entry {path} has no real caption: {text!r}"

    # every summary table (every other report() output) of the run is embedded too, with
    # the caption file its rule names
    tables = {
        rule: [p for p in produced.get(rule, []) if any(pattern_regex(x).match(p) for x in pats)]
        for rule, pats in reported_patterns().items()
        if rule not in figure_rules()
    }
    assert {"icu_summary", "icu_fairness", "ppg_probe", "ppg_planted_truth"} <= {
        rule for rule, paths in tables.items() if paths
    }, tables
    for rule, paths in tables.items():
        for path in paths:
            assert path in results, f"table {path} (rule {rule}) is not in the report"
            entry = results[path]
            assert entry["job_properties"]["rule"] == rule
            payload = entry["data_uri"].split("base64,", 1)[1]
            assert base64.b64decode(payload) == (built_workspace.workdir / path).read_bytes()


def test_every_report_output_names_an_existing_caption_file() -> None:
    for smk in sorted((REPO_ROOT / "rules").glob("*.smk")):
        for caption in re.findall(r'caption="\.\./report/captions/([^"]+)"', smk.read_text()):
            assert (CAPTIONS / caption).is_file(), f"{smk.name}: missing caption {caption}"
    assert reported_patterns(), "no report() outputs found in rules/*.smk"


def test_every_figure_rule_has_a_caption_file() -> None:
    missing = [rule for rule in figure_rules() if not (CAPTIONS / f"{rule}.rst").is_file()]
    assert not missing, f"figure rules without report/captions/<rule>.rst: {missing}"
    text = FIGURES_SMK.read_text()
    for rule in figure_rules():
        body = text.split(f"rule {rule}:", 1)[1].split("\nrule ", 1)[0]
        assert "report(" in body and f"captions/{rule}.rst" in body, (
            f"{rule}: output must be report(..., caption='../report/captions/{rule}.rst')"
        )
        assert "localrule: True" in body, f"{rule}: figure rules are small; mark localrule"
