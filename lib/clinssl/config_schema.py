"""Where the config schema delegates to other files (``$ref``), so every section's defaults
can be filled.

The schema is split per branch (``config/schema/<branch>.schema.yaml``, and deeper, e.g.
``icu.ssl``) so each branch owns its keys. Snakemake's ``validate`` fills defaults with a
jsonschema validator extended for that purpose, but jsonschema switches back to its stock
validator inside a referenced file that declares ``$schema`` (which the ``referencing``
library requires), so defaults stop at the first ``$ref``. Validating each referenced
section against its own file, outermost first, fills them all; this module lists those
sections.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml


def _load(path: Path) -> dict[str, Any]:
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def referenced_sections(
    schema_path: str | Path, prefix: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], Path]]:
    """Yield ``(config key path, schema file)`` for every ``properties`` entry that is a
    ``$ref`` to a local file, recursively, parents before children."""
    schema_path = Path(schema_path).resolve()
    schema = _load(schema_path)
    yield from _walk(schema, schema_path, prefix)


def _walk(
    node: dict[str, Any], schema_path: Path, prefix: tuple[str, ...]
) -> Iterator[tuple[tuple[str, ...], Path]]:
    for key, sub in (node.get("properties") or {}).items():
        if not isinstance(sub, dict):
            continue
        ref = sub.get("$ref")
        if isinstance(ref, str) and not ref.startswith("#"):
            target = (schema_path.parent / ref.split("#", 1)[0]).resolve()
            yield (*prefix, key), target
            yield from referenced_sections(target, (*prefix, key))
        else:
            yield from _walk(sub, schema_path, (*prefix, key))


def section(config: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """The nested dict ``config[k1][k2]...`` (created empty where missing)."""
    node = config
    for key in keys:
        node = node.setdefault(key, {})
    return node


_FLOAT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def _resolve(node: dict[str, Any], root: dict[str, Any], schema_path: Path) -> tuple[dict, dict, Path]:
    """Follow ``$ref`` (local ``#/$defs/...`` or another file) to the schema it names."""
    while isinstance(node, dict) and isinstance(node.get("$ref"), str):
        ref = node["$ref"]
        file_part, _, pointer = ref.partition("#")
        if file_part:
            schema_path = (schema_path.parent / file_part).resolve()
            root = _load(schema_path)
        target = root
        for key in [k for k in pointer.split("/") if k]:
            target = target[key]
        node = target
    return node, root, schema_path


def coerce_numbers(config: dict[str, Any], schema_path: str | Path) -> list[str]:
    """Turn strings such as ``"1e-3"`` into numbers wherever the schema expects a number.

    Why: PyYAML implements YAML 1.1, which reads ``1e-3`` (no dot) as a *string*, so a user
    writing ``lr: 1e-3`` would get "'1e-3' is not of type 'number'". Converts ``config`` in
    place and returns the dotted keys converted (the Snakefile logs them); anything else is
    left to validation.
    """
    schema_path = Path(schema_path).resolve()
    converted: list[str] = []
    _coerce(config, _load(schema_path), _load(schema_path), schema_path, "", converted)
    return converted


def _coerce(
    value: Any, node: dict, root: dict, path: Path, where: str, converted: list[str]
) -> Any:
    """``value`` with numeric strings under ``node`` converted (containers in place)."""
    node, root, path = _resolve(node, root, path)
    types = node.get("type", [])
    if isinstance(value, str) and "number" in ([types] if isinstance(types, str) else types):
        if _FLOAT.match(value.strip()):
            converted.append(where)
            return float(value)
    elif isinstance(value, dict):
        props, extra = node.get("properties") or {}, node.get("additionalProperties")
        for key, item in value.items():
            sub = props.get(key, extra if isinstance(extra, dict) else None)
            if sub is not None:
                where_key = f"{where}.{key}" if where else str(key)
                value[key] = _coerce(item, sub, root, path, where_key, converted)
    elif isinstance(value, list) and isinstance(node.get("items"), dict):
        for i, item in enumerate(value):
            value[i] = _coerce(item, node["items"], root, path, f"{where}[{i}]", converted)
    return value


def check_semantics(config: dict[str, Any]) -> None:
    """Rules a JSON schema cannot state, checked at start so a bad value fails before any
    job runs (raises ``ValueError`` naming the key)."""
    fractions = config.get("icu", {}).get("splits", {}).get("fractions")
    if fractions is not None and abs(sum(fractions) - 1.0) > 1e-6:
        raise ValueError(
            f"config 'icu.splits.fractions' is {fractions}, which sums to {sum(fractions):g}; "
            "the train/val/test fractions of patients must sum to 1"
        )
    _check_stsae(config)
    _check_events(config)


def _check_events(config: dict[str, Any]) -> None:
    """Events: split shares sum to 1, the model reads no more events than are extracted, the
    heads divide d_model, a Hugging Face encoder has its local directory, IG may double its
    steps, the synthetic cohort has no more patients than stays."""
    ev = config.get("events") or {}
    if not ev:
        return
    fractions = ev.get("split", {}).get("fractions")
    if fractions is not None and abs(sum(fractions) - 1.0) > 1e-6:
        raise ValueError(f"config 'events.split.fractions' is {fractions}, which sums to "
                         f"{sum(fractions):g}; the train/val/test shares must sum to 1")  # fmt: skip
    model, extract = ev.get("model", {}), ev.get("extract", {})
    slots, kept = model.get("max_events"), extract.get("max_events")
    if slots is not None and kept is not None and slots > kept:
        raise ValueError(f"config 'events.model.max_events' is {slots}, more than the "
                         f"'events.extract.max_events' ({kept}) the extraction keeps per stay")  # fmt: skip
    for heads in ("n_heads", "pool_heads"):
        if heads in model and "d_model" in model and model["d_model"] % model[heads]:
            raise ValueError(f"config 'events.model.{heads}' is {model[heads]}, which does not "
                             f"divide 'events.model.d_model' ({model['d_model']})")  # fmt: skip
    text = ev.get("text_encoder", {})
    if text.get("name") == "huggingface" and not (text.get("huggingface") or {}).get("model_dir"):
        raise ValueError("config 'events.text_encoder.huggingface.model_dir' is required when "
                         "'events.text_encoder.name' is huggingface (a local model directory)")  # fmt: skip
    explain = ev.get("explain", {})
    if explain.get("max_steps", 2) < explain.get("n_steps", 2):
        raise ValueError(f"config 'events.explain.max_steps' ({explain['max_steps']}) is below "
                         f"'events.explain.n_steps' ({explain['n_steps']})")  # fmt: skip
    synthetic = ev.get("synthetic", {})
    if synthetic.get("n_patients", 1) > synthetic.get("n_stays", 1):
        raise ValueError(f"config 'events.synthetic.n_patients' ({synthetic['n_patients']}) "
                         f"exceeds 'events.synthetic.n_stays' ({synthetic['n_stays']})")  # fmt: skip


def _check_stsae(config: dict[str, Any]) -> None:
    """ST-SAE: the default K is one of the sweep's, the full model is trained, Top-K keeps
    fewer than K, and the datasets are PPG datasets (the PPG rules cache any encoder)."""
    st = config.get("stsae") or {}
    if not st:
        return
    sweep, default = st.get("n_concepts", []), st.get("default_n_concepts")
    if default is not None and sweep and default not in sweep:
        raise ValueError(
            f"config 'stsae.default_n_concepts' is {default}, which is not in "
            f"'stsae.n_concepts' {sweep}"
        )
    if "variants" in st and "stsae" not in st["variants"]:
        raise ValueError("config 'stsae.variants' must include 'stsae' (the full model)")
    k = st.get("sae", {}).get("k")
    if k is not None and default is not None and k >= default:
        raise ValueError(f"config 'stsae.sae.k' is {k}; Top-K needs k < default_n_concepts ({default})")
    if not config.get("branches", {}).get("stsae"):
        return
    ppg = config.get("ppg", {})
    unknown = [d for d in st.get("datasets", []) if d not in ppg.get("datasets", {})]
    if unknown:
        raise ValueError(f"config 'stsae.datasets' names {unknown}, which are not keys of 'ppg.datasets'")
