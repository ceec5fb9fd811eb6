"""Unit tests of clinssl.config_schema and of default filling through nested $refs."""

from __future__ import annotations

from pathlib import Path

import yaml
from snakemake.utils import validate

from clinssl.config_schema import referenced_sections, section

HEADER = {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object"}


def _write(path: Path, schema: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({**HEADER, **schema}))


def _schemas(tmp_path: Path) -> Path:
    _write(
        tmp_path / "top.yaml",
        {
            "properties": {
                "a": {"type": "integer", "default": 1},
                "branch": {"$ref": "sub/branch.yaml", "default": {}},
            }
        },
    )
    _write(
        tmp_path / "sub" / "branch.yaml",
        {
            "properties": {
                "b": {"type": "integer", "default": 2},
                "inner": {
                    "type": "object",
                    "default": {},
                    "properties": {"deep": {"$ref": "deep.yaml", "default": {}}},
                },
            }
        },
    )
    _write(
        tmp_path / "sub" / "deep.yaml", {"properties": {"c": {"type": "string", "default": "x"}}}
    )
    return tmp_path / "top.yaml"


def test_referenced_sections_are_listed_outermost_first(tmp_path: Path) -> None:
    top = _schemas(tmp_path)
    assert list(referenced_sections(top)) == [
        (("branch",), (tmp_path / "sub" / "branch.yaml").resolve()),
        (("branch", "inner", "deep"), (tmp_path / "sub" / "deep.yaml").resolve()),
    ]


def test_validating_each_section_fills_every_default(tmp_path: Path) -> None:
    top = _schemas(tmp_path)
    config: dict = {}
    validate(config, str(top))
    assert config == {"a": 1, "branch": {}}  # snakemake alone stops at the $ref
    for keys, schema_file in referenced_sections(top):
        validate(section(config, keys), str(schema_file))
    assert config == {"a": 1, "branch": {"b": 2, "inner": {"deep": {"c": "x"}}}}


def test_repo_schema_sections_exist() -> None:
    repo_schema = Path(__file__).resolve().parents[3] / "config" / "config.schema.yaml"
    keys = [k for k, _ in referenced_sections(repo_schema)]
    assert ("icu",) in keys and ("ppg",) in keys
    assert all(f.exists() for _, f in referenced_sections(repo_schema))
