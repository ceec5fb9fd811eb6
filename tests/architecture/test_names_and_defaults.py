"""Names are defined once and defaults live in the schema.

* the branch list (:data:`clinssl.BRANCHES`) matches the schema's ``branches``, a rules file
  and a subpackage per branch;
* the ICU / PPG name modules match the registries that build the objects and every schema
  enum or property list that names them;
* every lib dataclass or constructor that a config section feeds has the schema's defaults
  (where the two share a key), so a default cannot drift between them.
"""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path
from typing import Any

import pytest
import yaml
from snakemake.utils import validate

from clinssl import BRANCHES
from clinssl.config_schema import referenced_sections, section
from clinssl.ecg import names as ecg_names
from clinssl.ecg.augment import ECGAugmentConfig
from clinssl.ecg.encoders import CNN1DEncoder
from clinssl.ecg.evaluation import EvalConfig, FinetuneConfig
from clinssl.ecg.pretraining import PretrainConfig as ECGPretrainConfig
from clinssl.ecg.synthetic import PTBXLCohortConfig
from clinssl.events.model import EventModelConfig
from clinssl.events.synthetic import MIMIC4CohortConfig
from clinssl.events.text import TfidfSettings
from clinssl.events.training import EventTrainConfig
from clinssl.icu import names as icu_names
from clinssl.icu.benchmark.classical import GradientBoostingConfig
from clinssl.icu.downstream import DownstreamConfig
from clinssl.icu.encoders import ENCODERS
from clinssl.icu.ingest import IngestOptions
from clinssl.icu.io.ricu_dictionary import DEFAULT_CONCEPTS
from clinssl.icu.labels import ICU_TASKS
from clinssl.icu.objectives import OBJECTIVES
from clinssl.icu.pretraining import PretrainConfig
from clinssl.icu.synthetic import SyntheticICUSpec
from clinssl.ppg import names as ppg_names
from clinssl.ppg.augment import AugmentConfig
from clinssl.ppg.himae import HiMAEConfig
from clinssl.ppg.probe import ProbeConfig
from clinssl.ppg.qc import QCThresholds
from clinssl.ppg.synthetic import PPGCohortConfig
from clinssl.stsae import names as stsae_names
from clinssl.stsae.losses import LossWeights
from clinssl.stsae.models import INIT_METHODS
from clinssl.stsae.training import SAETrainConfig

REPO = Path(__file__).resolve().parents[2]
SCHEMA = REPO / "config" / "config.schema.yaml"


def _yaml(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


def _props(schema: dict[str, Any], *keys: str) -> dict[str, Any]:
    node = schema
    for key in keys:
        node = node["properties"][key]
    return node


def schema_defaults() -> dict[str, Any]:
    """The config a user gets from an empty file: every default the schema fills."""
    config: dict[str, Any] = {}
    validate(config, str(SCHEMA))
    for keys, schema_file in referenced_sections(SCHEMA):
        validate(section(config, keys), str(schema_file))
    return config


def test_branch_names_agree() -> None:
    assert tuple(_props(_yaml(SCHEMA), "branches")["properties"]) == BRANCHES
    for branch in BRANCHES:
        assert (REPO / "rules" / f"{branch}.smk").is_file()
        assert (REPO / "config" / "schema" / f"{branch}.schema.yaml").is_file()
        assert _props(_yaml(SCHEMA), branch)["$ref"] == f"schema/{branch}.schema.yaml"


def test_icu_names_agree_with_registries_and_schema() -> None:
    ssl = _yaml(REPO / "config" / "schema" / "icu_ssl.schema.yaml")
    assert set(OBJECTIVES) == set(icu_names.PARADIGMS)
    assert set(ENCODERS) == set(icu_names.ENCODERS)
    assert set(icu_names.PARADIGM_ENCODER) == set(icu_names.PARADIGMS)
    assert set(icu_names.PARADIGM_ENCODER.values()) <= set(icu_names.ENCODERS)
    assert ssl["properties"]["paradigms"]["items"]["enum"] == list(icu_names.PARADIGMS)
    assert ssl["properties"]["paradigms"]["default"] == list(icu_names.PARADIGMS)
    assert ssl["properties"]["supervised_encoder"]["enum"] == list(icu_names.ENCODERS)
    assert set(ssl["properties"]["encoders"]["properties"]) == set(icu_names.ENCODERS)
    assert set(ssl["properties"]["objectives"]["properties"]) == set(icu_names.PARADIGMS)
    for step in ("pretrain", "downstream"):
        overrides = ssl["properties"][step]["properties"]["overrides"]["properties"]
        assert set(overrides) == set(icu_names.PARADIGMS), step
    protocols = ssl["properties"]["downstream"]["properties"]["protocols"]["items"]["enum"]
    assert protocols == list(icu_names.SSL_PROTOCOLS)
    assert ssl["$defs"]["protocol_override"]["properties"]["protocols"]["items"]["enum"] == protocols
    tasks = ssl["properties"]["downstream"]["properties"]["tasks"]["items"]["enum"]
    assert tasks == list(ICU_TASKS)


def test_ppg_names_agree_with_schema() -> None:
    ppg = _yaml(REPO / "config" / "schema" / "ppg.schema.yaml")
    encoders = ppg["properties"]["embed"]["properties"]["encoders"]["items"]["enum"]
    assert encoders == list(ppg_names.EMBED_ENCODERS)
    dataset = ppg["properties"]["datasets"]["additionalProperties"]["properties"]
    assert dataset["format"]["enum"] == list(ppg_names.FORMATS)
    tasks = ppg["properties"]["probe"]["properties"]["tasks"]["items"]["enum"]
    assert tasks == list(ppg_names.PROBE_TASKS)


def test_ecg_names_agree_with_schema() -> None:
    ecg = _yaml(REPO / "config" / "schema" / "ecg.schema.yaml")["properties"]
    assert ecg["encoder"]["properties"]["name"]["enum"] == list(ecg_names.ENCODERS)
    assert set(ecg["encoders"]["properties"]) == set(ecg_names.ENCODERS)
    dataset = ecg["datasets"]["additionalProperties"]["properties"]
    assert dataset["format"]["enum"] == list(ecg_names.FORMATS)
    assert dataset["rate"]["enum"] == list(ecg_names.RATES)
    assert set(ecg_names.SSL_METHODS) <= set(ecg)  # one settings section per SSL method


def test_stsae_names_agree_with_schema() -> None:
    st = _yaml(REPO / "config" / "schema" / "stsae.schema.yaml")["properties"]
    assert st["variants"]["items"]["enum"] == list(stsae_names.VARIANTS)
    assert st["variants"]["default"] == list(stsae_names.VARIANTS)
    assert st["baselines"]["items"]["enum"] == list(stsae_names.BASELINES)
    assert st["aging"]["properties"]["correction"]["enum"] == list(stsae_names.CORRECTIONS)
    assert set(stsae_names.LOSS_TERMS) <= set(st["loss"]["properties"])
    assert st["encoders"]["items"]["enum"] == list(ppg_names.EMBED_ENCODERS)
    assert st["sae"]["properties"]["init"]["enum"] == list(INIT_METHODS)


def test_every_scheduled_rule_has_a_resources_entry() -> None:
    """threads/mem_mb/runtime come from config.resources.<rule> for every non-local rule."""
    from dagjobs import local_rules
    from snakerunner import list_rules

    resources = _yaml(REPO / "config" / "schema" / "resources.schema.yaml")["properties"]
    scheduled = set(list_rules()) - local_rules()
    assert scheduled == set(resources)
    for smk in (REPO / "rules").glob("*.smk"):
        text = smk.read_text()
        assert "mem_mb=" not in text and "runtime=" not in text, f"{smk.name}: hard-coded resources"


def _defaults_of(obj: Any) -> dict[str, Any]:
    if dataclasses.is_dataclass(obj):
        out = {}
        for f in dataclasses.fields(obj):
            if f.default is not dataclasses.MISSING:
                out[f.name] = f.default
            elif f.default_factory is not dataclasses.MISSING:
                out[f.name] = f.default_factory()
        return out
    params = inspect.signature(obj).parameters
    return {k: p.default for k, p in params.items() if p.default is not inspect.Parameter.empty}


def _same(a: Any, b: Any) -> bool:
    if dataclasses.is_dataclass(b) and isinstance(a, dict):  # a nested section
        b = dataclasses.asdict(b)
    if isinstance(a, tuple | list) and isinstance(b, tuple | list):
        return list(a) == list(b)
    return a == b


#: schema encodings that mean the class default (documented in the schema's description)
EQUIVALENT = {("icu", "synthetic", "concepts"): ([], DEFAULT_CONCEPTS)}

FED_BY_CONFIG = [
    (PretrainConfig, ("icu", "ssl", "pretrain")),
    (DownstreamConfig, ("icu", "ssl", "downstream")),
    (GradientBoostingConfig, ("icu", "ssl", "classical", "gradient_boosting")),
    (IngestOptions, ("icu", "ingest")),
    (SyntheticICUSpec, ("icu", "synthetic")),
    (HiMAEConfig, ("ppg", "himae")),
    (AugmentConfig, ("ppg", "embed", "augment")),
    (QCThresholds, ("ppg", "qc")),
    (PPGCohortConfig, ("ppg", "synthetic")),
    (ProbeConfig, ("ppg", "probe")),
    (PTBXLCohortConfig, ("ecg", "synthetic")),
    (ECGAugmentConfig, ("ecg", "augment")),
    (ECGPretrainConfig, ("ecg", "pretrain")),
    (EvalConfig, ("ecg", "evaluate")),
    (FinetuneConfig, ("ecg", "evaluate", "finetune")),
    (CNN1DEncoder.__init__, ("ecg", "encoders", "cnn1d")),
    (SAETrainConfig, ("stsae", "sae")),
    (LossWeights, ("stsae", "loss")),
    (MIMIC4CohortConfig, ("events", "synthetic")),
    (EventModelConfig, ("events", "model")),
    (EventTrainConfig, ("events", "train")),
    (TfidfSettings, ("events", "text_encoder", "tfidf")),
    *[(cls.__init__, ("icu", "ssl", "encoders", name)) for name, cls in ENCODERS.items()],
    *[(cls.__init__, ("icu", "ssl", "objectives", name)) for name, cls in OBJECTIVES.items()],
]


@pytest.mark.parametrize(("obj", "keys"), FED_BY_CONFIG, ids=lambda v: ".".join(v) if isinstance(v, tuple) else "")
def test_lib_defaults_equal_the_schema(obj: Any, keys: tuple[str, ...]) -> None:
    config = schema_defaults()
    for key in keys:
        config = config[key]
    defaults = _defaults_of(obj)
    shared = sorted(set(defaults) & set(config))
    assert shared, f"{obj} shares no key with config {'.'.join(keys)}"
    drifted = {}
    for key in shared:
        schema_value, lib_value = config[key], defaults[key]
        equivalent = EQUIVALENT.get((*keys, key))
        if equivalent and _same(schema_value, equivalent[0]) and _same(lib_value, equivalent[1]):
            continue
        if not _same(schema_value, lib_value):
            drifted[key] = {"schema": schema_value, "lib": lib_value}
    assert not drifted, f"{'.'.join(keys)}: defaults drifted {drifted}"
