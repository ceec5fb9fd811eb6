"""clinssl: self-supervised learning on clinical time series and waveforms.

Entry point. Validates the config against its schema (defaults filled in) before any job is
planned, includes one rules file per branch and collects each enabled branch's final
outputs in ``rule all`` (the default target).
"""

from snakemake.utils import min_version, validate

min_version("9.19")


configfile: "config/config.yaml"


validate(config, "config/config.schema.yaml")
# validate() fills defaults only where it does not follow a $ref, i.e. not inside the branch
# sections: validate each section against its own schema file too, so its defaults are filled.
for _branch in ("icu", "ecg", "ppg", "stsae", "events"):
    validate(config[_branch], f"config/schema/{_branch}.schema.yaml")


report: "report/workflow.rst"


wildcard_constraints:
    dataset="[A-Za-z0-9_]+",
    seed="[0-9]+",


include: "rules/common.smk"
include: "rules/core.smk"
include: "rules/synthetic.smk"
include: "rules/icu.smk"
include: "rules/icu_ssl.smk"
include: "rules/ecg.smk"
include: "rules/ppg.smk"
include: "rules/stsae.smk"
include: "rules/events.smk"
include: "rules/figures.smk"


rule all:
    default_target: True
    input:
        final_outputs(),
