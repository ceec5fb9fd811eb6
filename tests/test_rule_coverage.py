"""Meta-test: every rule of the workflow has ``tests/rules/test_<rule>.py``."""

from __future__ import annotations

from pathlib import Path

from snakerunner import list_rules, untested_rules


def test_every_rule_has_a_test() -> None:
    rules = list_rules()
    assert "all" in rules and len(rules) > 1, f"unexpected rule list {rules}"
    missing = untested_rules(rules)
    assert not missing, f"rules without tests/rules/test_<rule>.py: {missing}"


def test_checker_flags_an_untested_rule(tmp_path: Path) -> None:
    """The meta-test would fail: a temporary Snakefile with an untested rule is flagged."""
    snakefile = tmp_path / "Snakefile"
    snakefile.write_text(
        'rule all:\n    input: "a.txt", "b.txt"\n\n'
        'rule tested_rule:\n    output: "a.txt"\n    shell: "touch {output}"\n\n'
        'rule forgotten_rule:\n    output: "b.txt"\n    shell: "touch {output}"\n'
    )
    (tmp_path / "config.yaml").write_text("{}\n")
    tests_dir = tmp_path / "tests" / "rules"
    tests_dir.mkdir(parents=True)
    (tests_dir / "test_tested_rule.py").write_text("def test_x():\n    assert True\n")

    rules = list_rules(snakefile, configfile=tmp_path / "config.yaml")
    assert sorted(rules) == ["all", "forgotten_rule", "tested_rule"]
    assert untested_rules(rules, tests_dir) == ["forgotten_rule"]
