"""Events config: settings a schema cannot refuse are refused at start, naming the key; the
defaults and the embedded default pass."""

from __future__ import annotations

import pytest
import yaml

from clinssl.config_schema import check_semantics
from snakerunner import REPO_ROOT


@pytest.mark.parametrize(("events", "named"), [
    ({"split": {"fractions": [0.7, 0.2, 0.2]}}, "events.split.fractions"),
    ({"model": {"max_events": 128}, "extract": {"max_events": 64}}, "events.model.max_events"),
    ({"model": {"d_model": 30, "n_heads": 8}}, "events.model.n_heads"),
    ({"model": {"d_model": 32, "n_heads": 8, "pool_heads": 3}}, "events.model.pool_heads"),
    ({"text_encoder": {"name": "huggingface", "huggingface": {"model_dir": None}}},
     "events.text_encoder.huggingface.model_dir"),
    ({"explain": {"n_steps": 64, "max_steps": 32}}, "events.explain.max_steps"),
    ({"synthetic": {"n_stays": 10, "n_patients": 11}}, "events.synthetic.n_patients"),
])  # fmt: skip
def test_inconsistent_settings_are_refused_at_start(events: dict, named: str) -> None:
    with pytest.raises(ValueError, match=named.replace(".", r"\.")):
        check_semantics({"events": events})


@pytest.mark.parametrize("name", ["config.yaml", "test.yaml"])
def test_shipped_configs_pass(name: str) -> None:
    config = yaml.safe_load((REPO_ROOT / "config" / name).read_text())
    check_semantics(config)
    assert config["branches"]["events"] is True
