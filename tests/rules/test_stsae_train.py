"""Rule stsae_train: one SAE variant at one K and seed — a loadable model, unit-norm atoms,
test metrics that the saved model reproduces, subsample stability only where asked."""

from __future__ import annotations

import json

import numpy as np

from clinssl.cache import EmbeddingCacheFiles
from clinssl.stsae.data import load_inputs
from clinssl.stsae.evaluation import explained_variance, l0
from clinssl.stsae.files import SAEFiles
from clinssl.stsae.models import SAEConceptModel
from clinssl.stsae.training import load_sae
from stsaeinputs import INPUTS, PPG, ROOT, settings


def test_stsae_train(runner, built_branch) -> None:
    runner.stage(built_branch("stsae").workdir, INPUTS)
    st = settings(built_branch("stsae"))
    k, seed = st["default_n_concepts"], st["seeds"][0]
    files = SAEFiles.of(ROOT, "topk", k, seed)
    runner.run_rule("stsae_train", [str(files.model), str(files.atoms), str(files.metrics)])
    model = load_sae(runner.path(files.model))
    assert (model.n_concepts, model.activation, model.k) == (k, "topk", st["sae"]["k"])
    atoms = np.load(runner.path(files.atoms))
    np.testing.assert_allclose(np.linalg.norm(atoms, axis=1), 1.0, atol=1e-5)
    record = json.loads(runner.path(files.metrics).read_text())
    assert (record["method"], record["n_concepts"], record["seed"]) == ("topk", k, seed)
    assert len(record["history"]) == st["sae"]["epochs"]
    # the saved model reproduces the reported test metrics
    cache = EmbeddingCacheFiles.under(runner.path(f"{PPG}/embeddings/himae"))
    inputs = load_inputs(cache, runner.path(f"{PPG}/windows.parquet"))
    test = inputs.rows("test")
    concepts = SAEConceptModel(model)
    codes = concepts.encode(np.asarray(inputs.cache.z[test]))
    assert abs(record["ev"] - explained_variance(inputs.cache.z[test], concepts.decode(codes))) < 1e-5
    assert record["l0"] == l0(codes) <= st["sae"]["k"]
    np.testing.assert_allclose(concepts.atoms, atoms)
    assert "subsample_stability" not in record  # measured for the full ST-SAE only
    assert {"probe_vascular_age", "probe_delta", "probe_hr", "probe_pvc"} <= set(record)
    assert runner.path(f"results/logs/stsae/synthetic/himae/train_topk_K{k}_seed{seed}.log").read_text().strip()


def test_stsae_train_full_model_measures_subsample_stability(built_branch) -> None:
    built = built_branch("stsae")
    st = settings(built)
    first = json.loads(built.path(SAEFiles.of(ROOT, "stsae", st["default_n_concepts"], st["seeds"][0]).metrics).read_text())
    other = json.loads(built.path(SAEFiles.of(ROOT, "stsae", st["default_n_concepts"], st["seeds"][1]).metrics).read_text())
    assert 0.0 < first["subsample_stability"] <= 1.0
    assert "subsample_stability" not in other
    assert first["config"]["weights"]["stability"] == st["loss"]["stability"]
