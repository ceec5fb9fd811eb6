"""Helpers of the ST-SAE branch's rules (rules/stsae.smk): file layout from
clinssl.stsae.files, the PPG cache it reads, per-job params, final outputs. No rules here.

Every rules file shares one namespace: the branch's names are used through the module
(``stsae_names.VARIANTS``), never imported bare, so they cannot shadow another branch's
``METHODS`` or ``BASELINES``."""

from clinssl.cache import EmbeddingCacheFiles
from clinssl.ppg.windows import TARGET_FS
from clinssl.stsae.files import (
    AgingFiles,
    BaselineFiles,
    GroundingFiles,
    LeaderboardFiles,
    SAEFiles,
)
from clinssl.stsae import names as stsae_names

STSAE_ROOT = "results/stsae/{dataset}/{encoder}"
#: sampling rate of the PPG window store the grounding reads (windows.npy)
STSAE_WINDOW_FS = TARGET_FS
STSAE_FIGURES = ("stsae_pareto", "stsae_ablation", "stsae_delta_age", "stsae_concept_pulses",
                 "stsae_morphology_corr")  # fmt: skip


def stsae_settings():
    """Config ``stsae`` (schema defaults filled in)."""
    return config["stsae"]


def stsae_seeds():
    """Seeds of every fit: ``stsae.seeds``, else the workflow's seeds."""
    return list(stsae_settings()["seeds"] or seeds())


def stsae_default_k():
    return int(stsae_settings()["default_n_concepts"])


def stsae_variant_seeds():
    """Seeds of the variants other than the full ST-SAE: ``stsae.ablation_seeds``, else the
    first seed only (seed stability is then measured for the full model and the baselines)."""
    chosen = stsae_settings()["ablation_seeds"]
    return list(chosen) if chosen else stsae_seeds()[:1]


def stsae_fits():
    """Every (stage, method, K, seeds) the branch fits: the full ST-SAE at each K of the
    sweep, the other variants at the default K, each baseline at each K."""
    st = stsae_settings()
    fits = [("sae", stsae_names.STSAE, k, stsae_seeds()) for k in st["n_concepts"]]
    fits += [("sae", v, stsae_default_k(), stsae_variant_seeds())
             for v in st["variants"] if v != stsae_names.STSAE]
    fits += [("baselines", m, k, stsae_seeds()) for m in st["baselines"] for k in st["n_concepts"]]
    return fits


def stsae_ppg_inputs(wildcards):
    """The PPG cache of (dataset, encoder), its window table and, on synthetic data, the truth."""
    base = f"results/ppg/{wildcards.dataset}"
    inputs = dict(EmbeddingCacheFiles.under(f"{base}/embeddings/{wildcards.encoder}").as_dict())
    inputs["table"] = f"{base}/windows.parquet"
    truth = dataset_config("ppg", wildcards.dataset).get("truth")
    if truth:
        inputs["truth"] = truth
    return inputs


def stsae_has_truth(dataset):
    """Whether ``dataset`` has planted truth (planted checks are asserted only then)."""
    return bool(dataset_config("ppg", dataset).get("truth"))


def stsae_train_params(wildcards):
    """What one SAE job sees: the variant's activation and switched-off terms, the shared
    budget and loss weights, evaluation settings, and whether it measures subsample stability."""
    st = stsae_settings()
    activation, off = stsae_names.VARIANTS[wildcards.variant]
    return {
        "variant": wildcards.variant,
        "activation": activation,
        "terms_off": list(off),
        "n_concepts": int(wildcards.k),
        "seed": int(wildcards.seed),
        "sae": st["sae"],
        "loss": st["loss"],
        "evaluate": st["evaluate"],
        # subsample stability of the full model (first seed), which the check compares with PCA
        "subsample": (st["evaluate"]["subsample_stability"] and wildcards.variant == stsae_names.STSAE
                      and int(wildcards.seed) == stsae_seeds()[0]),
    }


def stsae_baseline_outputs(root):
    """Atoms and metrics of every baseline, K and seed (keys ``<method>_K<K>_seed<seed>_<field>``)."""
    out = {}
    for method in stsae_settings()["baselines"]:
        for k in stsae_settings()["n_concepts"]:
            for seed in stsae_seeds():
                for field, path in BaselineFiles.of(root, method, k, seed).as_dict().items():
                    out[f"{method}_K{k}_seed{seed}_{field}"] = path
    return out


def stsae_fit_outputs(root):
    """Atoms and metrics of every fit (the leaderboard's inputs)."""
    out = []
    for stage, method, k, fit_seeds in stsae_fits():
        files = SAEFiles if stage == "sae" else BaselineFiles
        for seed in fit_seeds:
            f = files.of(root, method, k, seed)
            out += [str(f.atoms), str(f.metrics)]
    return out


def stsae_main_model(root):
    """The model the aging analysis and grounding read: the full ST-SAE at the default K,
    first seed."""
    return str(SAEFiles.of(root, stsae_names.STSAE, stsae_default_k(), stsae_seeds()[0]).model)


def stsae_figure_root():
    """Results of the figures' dataset and encoder (the first of each list)."""
    st = stsae_settings()
    return STSAE_ROOT.format(dataset=st["datasets"][0], encoder=st["encoders"][0])


def stsae_final_outputs():
    """Every fit, leaderboards, aging and grounding results, planted checks, the figures."""
    outputs = []
    st = stsae_settings()
    for dataset in st["datasets"]:
        for encoder in st["encoders"]:
            root = STSAE_ROOT.format(dataset=dataset, encoder=encoder)
            outputs += stsae_fit_outputs(root)
            outputs += LeaderboardFiles.under(root).as_dict().values()
            outputs += AgingFiles.under(root).as_dict().values()
            outputs += GroundingFiles.under(root).as_dict().values()
            outputs.append(f"{root}/planted_checks.json")
    outputs += [f"results/figures/{name}.png" for name in STSAE_FIGURES]
    return outputs
