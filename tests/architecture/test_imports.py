"""The package's import rules: a branch imports the shared floor and never another branch;
the floor never imports a branch; only ``bench`` (which measures the branches) may import
any of them, and nothing in the library imports ``bench``. Every import counts, including
function-local and ``TYPE_CHECKING`` ones and relative ones."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from clinssl import BRANCHES

LIB = Path(__file__).resolve().parents[2] / "lib" / "clinssl"
#: packages that sit above the branches and may import them
MEASURES_BRANCHES = {"bench"}


def _module_name(path: Path, lib: Path) -> str:
    parts = path.relative_to(lib.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported_modules(path: Path, lib: Path) -> list[tuple[int, str]]:
    """(line, absolute module) of every import statement in ``path``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = _module_name(path, lib).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.append((node.lineno, module))
            # ``from clinssl import ppg`` imports the subpackage itself
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
    return found


def _layer(module: str) -> str | None:
    """The clinssl top-level package a module belongs to (None outside clinssl)."""
    parts = module.split(".")
    if parts[0] != "clinssl":
        return None
    return parts[1] if len(parts) > 1 else "clinssl"


def violations(lib: Path = LIB) -> list[str]:
    problems = []
    for path in sorted(lib.rglob("*.py")):
        own = _layer(_module_name(path, lib))
        seen = set()
        for line, module in _imported_modules(path, lib):
            target = _layer(module)
            if target is None or target == own or target == "clinssl" or (line, target) in seen:
                continue
            seen.add((line, target))
            where = f"{path.relative_to(lib.parent)}:{line} imports {module}"
            if target in MEASURES_BRANCHES:
                problems.append(f"{where}: nothing in the library imports bench")
            elif own in MEASURES_BRANCHES:
                continue
            elif own in BRANCHES and target in BRANCHES:
                problems.append(f"{where}: a branch never imports another branch")
            elif own not in BRANCHES and target in BRANCHES:
                problems.append(f"{where}: the shared floor never imports a branch")
    return problems


def test_every_branch_is_a_subpackage() -> None:
    for branch in BRANCHES:
        assert (LIB / branch / "__init__.py").is_file(), f"clinssl.{branch} is missing"


def test_import_rules_hold() -> None:
    assert violations() == []


@pytest.mark.parametrize(
    ("where", "source", "expected"),
    [
        ("ppg/x.py", "from clinssl.icu.names import PARADIGMS\n", "never imports another branch"),
        ("ppg/x.py", "def f():\n    import clinssl.icu.files\n", "never imports another branch"),
        ("ppg/x.py", "from ..icu import names\n", "never imports another branch"),
        ("stats/x.py", "from clinssl import ppg\n", "floor never imports a branch"),
        ("nn/x.py", "if True:\n    from clinssl.ecg import y\n", "floor never imports a branch"),
        ("icu/x.py", "from clinssl.bench.core import Measurement\n", "imports bench"),
    ],
)
def test_checker_catches_a_broken_rule(tmp_path: Path, where: str, source: str, expected: str) -> None:
    """The checker itself: each kind of forbidden import, written into a copy of the tree."""
    lib = tmp_path / "clinssl"
    for package in (*BRANCHES, "stats", "nn", "bench"):
        (lib / package).mkdir(parents=True)
        (lib / package / "__init__.py").write_text("")
    (lib / "__init__.py").write_text("")
    (lib / where).write_text(source)
    (lib / "icu" / "ok.py").write_text("from clinssl.stats import metrics\nfrom . import ok\n")
    (lib / "bench" / "ok.py").write_text("from clinssl.ppg import names\n")
    found = violations(lib)
    assert len(found) == 1 and expected in found[0], found


def test_rules_files_import_no_name_twice_from_different_modules() -> None:
    """Every rules file runs in one shared namespace: a bare name imported by two branches'
    helpers (say ``METHODS``) would silently take the later branch's value everywhere."""
    import re

    statement = re.compile(r"^(?:from\s+\S+\s+)?import\s+(?:\([^)]*\)|[^\n]*)", re.MULTILINE)
    seen: dict[str, str] = {}
    clashes = []
    for path in sorted((Path(__file__).resolve().parents[2] / "rules").glob("*.smk")):
        for text in statement.findall(path.read_text()):
            node = ast.parse(text).body[0]
            module = getattr(node, "module", None) or ""
            for alias in node.names:
                name = alias.asname or alias.name
                if name in seen and seen[name] != module:
                    clashes.append(f"{name}: {seen[name]} and {module} ({path.name})")
                seen.setdefault(name, module)
    assert len(seen) > 10  # the helpers' imports were found
    assert not clashes, clashes
