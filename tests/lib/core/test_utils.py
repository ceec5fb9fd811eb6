"""Unit tests of clinssl.utils: seeding, device selection, atomic writes, JSON, logging."""

from __future__ import annotations

import json
import logging
import math
import os
import random
from pathlib import Path

import numpy as np
import pytest
import torch

from clinssl.utils import (
    atomic_directory,
    atomic_open,
    atomic_path,
    atomic_write_text,
    autocast_dtype,
    derive_seed,
    read_json,
    seed_everything,
    select_device,
    setup_logging,
    write_json,
)


def _draws() -> tuple[float, float, float, float]:
    return (random.random(), float(np.random.rand()), float(torch.rand(1)), 0.0)


def test_seed_everything_makes_all_generators_repeat() -> None:
    rng_a = seed_everything(5)
    a = (*_draws()[:3], float(rng_a.random()))
    rng_b = seed_everything(5)
    b = (*_draws()[:3], float(rng_b.random()))
    assert a == b
    seed_everything(6)
    assert _draws()[:3] != a[:3]


@pytest.mark.parametrize("bad", [-1, 1.5, "3", True])
def test_seed_everything_rejects_bad_seeds(bad) -> None:
    with pytest.raises(ValueError, match="seed"):
        seed_everything(bad)


def test_derive_seed_is_stable_and_key_dependent() -> None:
    assert derive_seed(1, "split") == derive_seed(1, "split")
    assert derive_seed(1, "split") != derive_seed(1, "mask")
    assert derive_seed(1, "split") != derive_seed(2, "split")
    assert derive_seed(1, "split", 3) != derive_seed(1, "split", 4)


def test_select_device() -> None:
    assert select_device("cpu").type == "cpu"
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert select_device("auto").type == expected
    with pytest.raises(ValueError, match="device"):
        select_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="CUDA is not available"):
            select_device("cuda")
        assert autocast_dtype(torch.device("cpu")) is None


def test_atomic_path_renames_on_success(tmp_path: Path) -> None:
    dest = tmp_path / "sub" / "arr.npy"
    with atomic_path(dest) as tmp:
        assert tmp.suffix == ".npy" and tmp.parent == dest.parent
        np.save(tmp, np.arange(3))
        assert not dest.exists()
    assert np.load(dest).tolist() == [0, 1, 2]
    assert list(dest.parent.iterdir()) == [dest]


def test_atomic_writes_leave_nothing_on_error(tmp_path: Path) -> None:
    dest = tmp_path / "out.txt"
    with pytest.raises(RuntimeError), atomic_open(dest) as fh:
        fh.write("partial")
        raise RuntimeError("killed mid-write")
    assert list(tmp_path.iterdir()) == []

    dest.write_text("old")
    with pytest.raises(RuntimeError), atomic_open(dest) as fh:
        fh.write("new")
        raise RuntimeError("boom")
    assert dest.read_text() == "old"  # the previous complete file is untouched


def test_atomic_directory(tmp_path: Path) -> None:
    dest = tmp_path / "parts"
    with atomic_directory(dest) as tmp:
        (tmp / "part_0.txt").write_text("a")
    assert (dest / "part_0.txt").read_text() == "a"
    with pytest.raises(KeyError), atomic_directory(dest) as tmp:
        (tmp / "part_1.txt").write_text("b")
        raise KeyError("x")
    assert sorted(p.name for p in dest.iterdir()) == ["part_0.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["parts"]


def test_write_json_converts_numpy_and_nan(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    write_json(path, {"b": np.float32(0.5), "a": np.arange(2), "n": math.nan, "p": tmp_path})
    text = path.read_text()
    assert json.loads(text) == {"a": [0, 1], "b": 0.5, "n": None, "p": str(tmp_path)}
    assert text.index('"a"') < text.index('"b"')  # sorted keys: byte-identical reruns
    assert read_json(path)["b"] == 0.5
    with pytest.raises(TypeError):
        write_json(path, {"x": object()})


def test_read_json_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="bad.json"):
        read_json(bad)


def test_setup_logging_writes_to_the_log_file(tmp_path: Path) -> None:
    log_file = tmp_path / "logs" / "rule.log"
    logger = setup_logging(log_file)
    logger.info("hello from clinssl")
    logging.getLogger("clinssl.sub").warning("careful")
    for handler in logging.getLogger().handlers:
        handler.flush()
    text = log_file.read_text()
    assert "hello from clinssl" in text and "WARNING clinssl.sub: careful" in text
    logging.basicConfig(force=True)


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077])
def test_atomic_writes_respect_the_umask(tmp_path: Path, umask: int) -> None:
    """Results on a shared cluster must be as readable as any other file the user writes."""
    previous = os.umask(umask)
    try:
        atomic_write_text(tmp_path / "f.txt", "x")
        with atomic_path(tmp_path / "g.npy") as tmp:
            tmp.write_bytes(b"y")
        with atomic_directory(tmp_path / "d") as tmp:
            (tmp / "inner").write_text("z")
        plain = tmp_path / "plain.txt"
        plain.write_text("p")
    finally:
        os.umask(previous)
    for name in ("f.txt", "g.npy"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o666 & ~umask, name
    assert (tmp_path / "d").stat().st_mode & 0o777 == 0o777 & ~umask
    assert plain.stat().st_mode & 0o777 == 0o666 & ~umask


def test_file_sets_name_their_files_once(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from clinssl.cache import EmbeddingCacheFiles
    from clinssl.icu.files import IngestFiles, SplitFiles

    files = IngestFiles.under("results/icu/{dataset}")
    assert files.values == Path("results/icu/{dataset}/values.npy")  # wildcards pass through
    assert set(files.as_dict()) == set(IngestFiles.NAMES)
    split = SplitFiles.of_seed(tmp_path, 3)
    assert split.normalization == tmp_path / "splits" / "seed3" / "normalization.json"
    rule_io = SimpleNamespace(**EmbeddingCacheFiles.under(tmp_path).as_dict(), other="x")
    assert EmbeddingCacheFiles.pick(rule_io) == EmbeddingCacheFiles.under(tmp_path)
    assert EmbeddingCacheFiles.pick(EmbeddingCacheFiles.under(tmp_path).as_dict()).z.name == "z.npy"
    with pytest.raises(AttributeError, match="next_index"):
        EmbeddingCacheFiles.pick(SimpleNamespace(z="a", z_aug="b", meta="d"))
