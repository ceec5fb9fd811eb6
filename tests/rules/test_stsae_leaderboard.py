"""Rule stsae_leaderboard: one row per fit, metrics as each fit wrote them, seed stability
from the atoms of the seeds (PCA is deterministic: 1), the Pareto frontier marked."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from clinssl.stsae.evaluation import match_atoms
from stsaeinputs import ROOT, settings


def _fit_files(built) -> list[str]:
    return [str(p.relative_to(built.workdir)) for stage in ("sae", "baselines")
            for p in sorted(built.path(f"{ROOT}/{stage}").rglob("*")) if p.suffix in (".npy", ".json")]  # fmt: skip


def test_stsae_leaderboard(runner, built_branch) -> None:
    built = built_branch("stsae")
    fits = _fit_files(built)
    runner.stage(built.workdir, fits)
    csv, js = runner.run_rule("stsae_leaderboard", [f"{ROOT}/leaderboard.csv", f"{ROOT}/leaderboard.json"])
    table = pd.read_csv(csv)
    assert len(table) == sum(f.endswith("metrics.json") for f in fits)
    assert table[["method", "n_concepts", "seed"]].drop_duplicates().shape[0] == len(table)
    assert "train_seconds" not in table  # no timing in a result table (byte-identical reruns)
    st = settings(built_branch("stsae"))
    k = st["default_n_concepts"]
    for _, row in table.iterrows():
        stage = "baselines" if row["method"] in ("pca", "ica", "nmf") else "sae"
        record = json.loads(runner.path(f"{ROOT}/{stage}/{row['method']}/K{row['n_concepts']}/seed{row['seed']}/metrics.json").read_text())
        assert abs(row["ev"] - record["ev"]) < 1e-9 and abs(row["l0"] - record["l0"]) < 1e-9
    pca = table[(table["method"] == "pca") & (table["n_concepts"] == k)]
    assert np.allclose(pca["seed_stability"], 1.0)  # an exact SVD: the same atoms every seed
    a, b = (np.load(runner.path(f"{ROOT}/sae/stsae/K{k}/seed{s}/atoms.npy")) for s in st["seeds"][:2])
    full = table[(table["method"] == "stsae") & (table["n_concepts"] == k)]
    assert np.allclose(full["seed_stability"], match_atoms(a, b)[0])
    assert table["pareto"].any() and not table["pareto"].all()
    best_ev = table.groupby(["method", "n_concepts"])["ev"].mean().idxmax()
    assert table.set_index(["method", "n_concepts"]).loc[best_ev, "pareto"].all()  # max EV is never dominated
    assert json.loads(js.read_text())["rows"][0]["method"] == table["method"].iloc[0]
