"""Write results/manifest.json: the provenance record of this run (see clinssl.provenance)."""

from pathlib import Path

from clinssl.provenance import collect_manifest
from clinssl.utils import setup_logging, write_json

log = setup_logging(snakemake.log[0])
manifest = collect_manifest(dict(snakemake.params.config), repo_dir=Path(snakemake.scriptdir))
write_json(snakemake.output[0], manifest)
log.info("wrote %s (config sha256 %s)", snakemake.output[0], manifest["config_sha256"])
