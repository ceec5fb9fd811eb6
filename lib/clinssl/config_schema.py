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
