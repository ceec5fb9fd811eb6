"""Names the ST-SAE branch's config, rules and scripts share, defined once (no torch import)."""

from __future__ import annotations

#: sparsity mechanisms of the SAE encoder: ReLU + L1 penalty, or Top-K (Gao et al. 2024)
ACTIVATIONS: tuple[str, ...] = ("relu", "topk")
#: the loss terms besides reconstruction (config ``stsae.loss.<term>`` holds each weight)
LOSS_TERMS: tuple[str, ...] = ("sparsity", "diversity", "stability", "smoothness")

#: SAE variants (the {variant} wildcard): the full ST-SAE, its five ablations and the plain SAE
#: the planted checks compare against. Each maps to (activation, loss terms switched off).
STSAE = "stsae"
PLAIN = "plain"
VARIANTS: dict[str, tuple[str, tuple[str, ...]]] = {
    STSAE: ("relu", ()),
    "no_sparsity": ("relu", ("sparsity",)),
    "no_diversity": ("relu", ("diversity",)),
    "no_stability": ("relu", ("stability",)),
    "no_smoothness": ("relu", ("smoothness",)),
    "topk": ("topk", ("sparsity",)),  # Top-K is its own sparsity: no L1 term
    PLAIN: ("relu", ("stability", "smoothness")),
}
#: the five ablations of the seed (each term off in turn, plus Top-K instead of L1)
ABLATIONS: tuple[str, ...] = ("no_sparsity", "no_diversity", "no_stability", "no_smoothness", "topk")

#: linear baselines fitted by scikit-learn with the same number of components
BASELINES: tuple[str, ...] = ("pca", "ica", "nmf")
#: every method of the leaderboard
METHODS: tuple[str, ...] = (*VARIANTS, *BASELINES)

#: Δage bias corrections (config ``stsae.aging.correction``): Smith et al. 2019 (regress Δ on
#: age) and de Lange & Cole 2020 (regress predicted on age, invert)
CORRECTIONS: tuple[str, ...] = ("smith", "delange")
#: feature sets the aging analysis compares: concepts, the raw embedding, PCA components
AGE_FEATURES: tuple[str, ...] = ("concepts", "embedding", "pca")

#: classical pulse morphology measured per window (clinssl.stsae.morphology)
MORPHOLOGY_FEATURES: tuple[str, ...] = (
    "systolic_peak_time", "notch_time", "notch_depth", "augmentation_index",
    "reflection_index", "stiffness_index", "pulse_width_50",
)  # fmt: skip
#: planted factors the probe recovery scores (columns of the synthetic truth): kind per factor
PLANTED_FACTORS: dict[str, str] = {
    "vascular_age": "regression", "delta": "regression", "hr": "regression", "pvc": "binary",
}  # fmt: skip
