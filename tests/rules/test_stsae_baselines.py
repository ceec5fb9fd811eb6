"""Rule stsae_baselines: PCA / ICA / NMF at one K for every seed, scored on test with the
same suite; PCA reproduces a direct scikit-learn fit."""

from __future__ import annotations

import json

import numpy as np
from sklearn.decomposition import PCA

from clinssl.cache import EmbeddingCacheFiles
from clinssl.stsae.data import load_inputs
from clinssl.stsae.evaluation import explained_variance
from clinssl.stsae.files import BaselineFiles
from stsaeinputs import INPUTS, PPG, ROOT, settings


def test_stsae_baselines(runner, built_branch) -> None:
    runner.stage(built_branch("stsae").workdir, INPUTS)
    st = settings(built_branch("stsae"))
    k = st["n_concepts"][0]
    targets = [str(p) for m in ("pca", "ica", "nmf") for size in st["n_concepts"] for s in st["seeds"]
               for p in BaselineFiles.of(ROOT, m, size, s).as_dict().values()]  # fmt: skip
    runner.run_rule("stsae_baselines", targets)
    inputs = load_inputs(EmbeddingCacheFiles.under(runner.path(f"{PPG}/embeddings/himae")),
                         runner.path(f"{PPG}/windows.parquet"))  # fmt: skip
    z, train, test = inputs.cache.z, inputs.rows("train"), inputs.rows("test")
    direct = PCA(n_components=min(k, z.shape[1]), svd_solver="full").fit(np.asarray(z[train]))
    pca = [json.loads(runner.path(BaselineFiles.of(ROOT, "pca", k, s).metrics).read_text()) for s in st["seeds"]]
    reference = explained_variance(z[test], direct.inverse_transform(direct.transform(np.asarray(z[test]))))
    assert abs(pca[0]["ev"] - reference) < 1e-4
    assert pca[0]["n_fitted"] == min(k, z.shape[1]) and 0 < pca[0]["subsample_stability"] <= 1
    atoms = np.load(runner.path(BaselineFiles.of(ROOT, "pca", k, st["seeds"][0]).atoms))
    np.testing.assert_allclose(atoms @ atoms.T, np.eye(len(atoms)), atol=1e-4)  # orthonormal
    for method in ("ica", "nmf"):
        record = json.loads(runner.path(BaselineFiles.of(ROOT, method, k, st["seeds"][0]).metrics).read_text())
        assert record["method"] == method and np.isfinite(record["ev"]) and record["ev"] <= 1.0
    nmf_atoms = np.load(runner.path(BaselineFiles.of(ROOT, "nmf", k, st["seeds"][0]).atoms))
    assert (nmf_atoms >= 0).all()  # parts-based: non-negative atoms
    # every K asks for its own components, up to d: beyond, the d-component fit is shared
    for size in st["n_concepts"]:
        record = json.loads(runner.path(BaselineFiles.of(ROOT, "pca", size, st["seeds"][0]).metrics).read_text())
        assert (record["n_concepts"], record["n_fitted"]) == (size, min(size, z.shape[1]))
    assert runner.path("results/logs/stsae/synthetic/himae/baselines.log").read_text().strip()
