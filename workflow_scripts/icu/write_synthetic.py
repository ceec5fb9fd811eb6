"""Write the synthetic ICU cohort as a ricu export and as YAIB cohorts (clinssl.icu.synthetic)."""

from clinssl.icu.io.ricu_dictionary import DEFAULT_CONCEPTS
from clinssl.icu.synthetic import SyntheticICUSpec, write_ricu_export, write_yaib_cohorts
from clinssl.utils import setup_logging

log = setup_logging(snakemake.log[0])
opts = dict(snakemake.params.options)
spec = SyntheticICUSpec(
    n_stays=int(opts["n_stays"]),
    n_patients=int(opts["n_patients"]),
    horizon_hours=int(opts["horizon_hours"]),
    concepts=tuple(opts["concepts"] or DEFAULT_CONCEPTS),
    stays_per_part=int(opts["stays_per_part"]),
    seed=int(snakemake.params.seed),
    elderly_hidden_risk_sd=float(opts["elderly_hidden_risk_sd"]),
    **{k: float(v) for k, v in (opts.get("planted") or {}).items()},
)
write_ricu_export(snakemake.output.ricu, spec)
write_yaib_cohorts(snakemake.output.ricu, snakemake.output.yaib)
