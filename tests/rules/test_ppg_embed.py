"""Rule ppg_embed: the embedding cache contract, for HiMAE and for the PaPaGei stand-in of
``tests/ppg_standins.py``."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from ppg_standins import write_papagei_clone

from clinssl.ppg.papagei import PaPaGeiEncoder, load_papagei
from clinssl.ppg.windows import successor_index

OUT = "results/ppg/synthetic"
FILES = ("z.npy", "z_aug.npy", "next_index.npy", "embeddings.json")


def _check_cache(runner, encoder: str, dim: int) -> dict:
    table = pd.read_parquet(runner.path(f"{OUT}/windows.parquet"))
    base = runner.path(f"{OUT}/embeddings/{encoder}")
    z = np.load(base / "z.npy", mmap_mode="r")
    z_aug = np.load(base / "z_aug.npy", mmap_mode="r")
    nxt = np.load(base / "next_index.npy")
    meta = json.loads((base / "embeddings.json").read_text())
    assert z.dtype == z_aug.dtype == np.float32 and z.shape == z_aug.shape == (len(table), dim)
    assert np.isfinite(z).all() and np.isfinite(z_aug).all()
    assert not np.allclose(z, z_aug)  # augmented windows were re-encoded
    # the augmented view stays closer to its own window than to other windows
    good = np.flatnonzero(table["qc_pass"].to_numpy())[:50]
    zz = np.asarray(z[good], dtype=float)
    dist_self = np.linalg.norm(zz - z_aug[good], axis=1)
    dist_other = np.linalg.norm(zz - np.roll(np.asarray(z_aug[good]), 1, axis=0), axis=1)
    assert np.median(dist_self) < np.median(dist_other)
    np.testing.assert_array_equal(nxt, successor_index(table))
    has = nxt >= 0
    assert has.any()
    nxt_rows = table.iloc[nxt[has]]
    assert (nxt_rows["window_index"].to_numpy() == table["window_index"].to_numpy()[has] + 1).all()
    assert (nxt_rows["record"].to_numpy() == table["record"].to_numpy()[has]).all()
    assert meta["n_windows"] == len(table) and meta["dim"] == dim and meta["encoder"] == encoder
    return meta


def test_ppg_embed(runner, built_branch) -> None:
    runner.stage(built_branch("ppg").workdir,
                 [f"{OUT}/windows.npy", f"{OUT}/windows.parquet", f"{OUT}/himae/model.pt"])  # fmt: skip
    runner.run_rule("ppg_embed", [f"{OUT}/embeddings/himae/{f}" for f in FILES])
    h = runner.config["ppg"]["himae"]
    meta = _check_cache(runner, "himae", h["base_channels"] * 2 ** (h["depth"] - 1))
    assert meta["encode_windows_per_s"] > 0


@pytest.fixture
def papagei_clone(tmp_path):
    repo = tmp_path / "papagei-foundation-model"
    weights = repo / "weights" / "papagei_s.pt"
    return repo, weights, write_papagei_clone(repo, weights)


def test_ppg_embed_papagei_stand_in(runner, built_branch, papagei_clone) -> None:
    repo, weights, reference = papagei_clone
    runner.config["ppg"]["papagei"] = {"repo": str(repo), "weights": str(weights)}
    runner.config["ppg"]["embed"]["encoders"] = ["papagei"]
    runner.write_config(runner.config)
    runner.stage(built_branch("ppg").workdir, [f"{OUT}/windows.npy", f"{OUT}/windows.parquet"])
    runner.run_rule("ppg_embed", [f"{OUT}/embeddings/papagei/{f}" for f in FILES])
    _check_cache(runner, "papagei", 512)
    # output 0 of the loaded stand-in, after PaPaGei preprocessing, is what was cached
    encoder = PaPaGeiEncoder(load_papagei(repo, weights), torch.device("cpu"))
    windows = np.load(runner.path(f"{OUT}/windows.npy"), mmap_mode="r")
    z = np.load(runner.path(f"{OUT}/embeddings/papagei/z.npy"), mmap_mode="r")
    np.testing.assert_allclose(z[:8], encoder.encode(np.asarray(windows[:8])), rtol=1e-4, atol=1e-5)


def test_ppg_embed_papagei_without_paths_is_a_clear_error(runner) -> None:
    runner.config["ppg"]["embed"]["encoders"] = ["papagei"]
    runner.config["branches"]["ppg"] = True
    runner.write_config(runner.config)
    proc = runner.run(["--dry-run"], check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "ppg.papagei.repo" in out


def test_ppg_embed_random_init_floor(runner, built_branch) -> None:
    """The floor's cache: same contract and dimension as HiMAE's, different embeddings."""
    built = built_branch("ppg")
    runner.stage(built.workdir, [f"{OUT}/windows.npy", f"{OUT}/windows.parquet",
                                 f"{OUT}/himae_random/model.pt"])  # fmt: skip
    runner.run_rule("ppg_embed", [f"{OUT}/embeddings/himae_random/{f}" for f in FILES])
    h = runner.config["ppg"]["himae"]
    meta = _check_cache(runner, "himae_random", h["base_channels"] * 2 ** (h["depth"] - 1))
    assert meta["encoder"] == "himae_random"
    z = np.load(runner.path(f"{OUT}/embeddings/himae_random/z.npy"))
    pretrained = np.load(built.path(f"{OUT}/embeddings/himae/z.npy"))
    assert z.shape == pretrained.shape and not np.allclose(z, pretrained)
