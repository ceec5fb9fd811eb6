"""Every name the ICU branch's config, rules, registries and figures share, defined once.

Why a module of its own: the rules derive wildcard constraints and job lists from these
names, so they must import them without importing torch; the registries
(:data:`clinssl.icu.objectives.OBJECTIVES`, :data:`clinssl.icu.encoders.ENCODERS`) and the
config schema's enums are checked against them by a test.
"""

from __future__ import annotations

#: SSL paradigms, in the order tables and figures list them
PARADIGMS: tuple[str, ...] = ("mae", "jepa", "contrastive", "smart")
#: the encoder each paradigm trains (SMART needs its own MART encoder)
PARADIGM_ENCODER: dict[str, str] = {
    "mae": "transformer",
    "jepa": "transformer",
    "contrastive": "transformer",
    "smart": "mart",
}
ENCODERS: tuple[str, ...] = ("transformer", "observation", "mart", "linear")
#: paradigms run as external references outside the controlled comparison (as in SLICES):
#: SMART brings its own encoder and recipe, so its probe margins are reported as findings,
#: not gated as planted-truth checks
EXTERNAL_REFERENCES: tuple[str, ...] = ("smart",)
#: downstream "paradigms" that are not SSL: training from scratch, and the probe of a
#: randomly initialised frozen encoder (the floor every SSL probe must beat)
SUPERVISED, RANDOM = "supervised", "random"
BASELINES: tuple[str, ...] = (SUPERVISED, RANDOM)
DOWNSTREAM_PARADIGMS: tuple[str, ...] = (*PARADIGMS, *BASELINES)
#: protocols applied to a pretrained encoder (config ``icu.ssl.downstream.protocols``)
SSL_PROTOCOLS: tuple[str, ...] = ("linear_probe", "finetune")
PROTOCOLS: tuple[str, ...] = (*SSL_PROTOCOLS, SUPERVISED)
#: the classical baselines every ICU benchmark reports (YAIB, SLICES): models fitted on
#: per-variable summaries of the same input window, in one job for every seed
CLASSICAL = "classical"
CLASSICAL_FEATURES = "summary_features"  # the "encoder" column of their rows
CLASSICAL_PROTOCOLS: tuple[str, ...] = ("logistic_regression", "gradient_boosting")
#: what the objective checks measure (clinssl.icu.objective_checks): the masked-entry
#: errors (lower is better) and the contrastive top-1 retrieval (higher is better)
MASKED_MSE, MASKED_COSINE = "masked_mse", "masked_cosine_distance"
TOP1_RETRIEVAL = "top1_retrieval"

#: the four SLICES tasks and their kinds, in the order tables list them
TASK_KINDS: dict[str, str] = {
    "mortality_24h": "binary",
    "mortality_hospital": "binary",
    "aki_kdigo": "binary",
    "los_remaining": "regression",
}
TASKS: tuple[str, ...] = tuple(TASK_KINDS)
#: YAIB task name -> the clinssl label column it fills (the closest definition); a YAIB
#: cohort holds one task, so only that column has labels
YAIB_TASK_LABELS: dict[str, str] = {
    "mortality24": "mortality_hospital",
    "aki": "aki_kdigo",
    "los": "los_remaining",
}
