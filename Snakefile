"""clinssl: self-supervised learning on clinical time series and waveforms.

Entry point. Validates the config against its schema (defaults filled in) before any job is
planned, includes one rules file per branch and collects each enabled branch's final
outputs in ``rule all`` (the default target).
"""

from pathlib import Path

from snakemake.logging import logger
from snakemake.utils import min_version, validate

from clinssl.config_schema import check_semantics, coerce_numbers, referenced_sections, section

min_version("9.19")


configfile: "config/config.yaml"


# YAML 1.1 reads 1e-3 as a string: accept it where the schema expects a number
for _key in coerce_numbers(config, Path(workflow.basedir, "config/config.schema.yaml")):
    logger.info(f"config '{_key}': read the string as a number")
validate(config, "config/config.schema.yaml")
# Defaults are filled only up to the first $ref (see clinssl.config_schema): validate each
# referenced section (branch schemas, and sections they delegate further) against its file.
for _keys, _schema_file in referenced_sections(Path(workflow.basedir, "config/config.schema.yaml")):
    validate(section(config, _keys), str(_schema_file))
check_semantics(config)


report: "report/workflow.rst"


wildcard_constraints:
    dataset="[A-Za-z0-9_]+",
    seed="[0-9]+",


include: "rules/common.smk"
include: "rules/icu_helpers.smk"
include: "rules/ppg_helpers.smk"
include: "rules/ecg_helpers.smk"
include: "rules/stsae_helpers.smk"
include: "rules/events_helpers.smk"
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
