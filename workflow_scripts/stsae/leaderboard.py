"""The leaderboard over every fit of one dataset and encoder (JSON + CSV)."""

from pathlib import Path

from clinssl.stsae.files import FitFiles
from clinssl.stsae.fits import build_leaderboard
from clinssl.utils import setup_logging, write_json
from clinssl.utils.atomic import atomic_path

log = setup_logging(snakemake.log[0])
paths = list(snakemake.input.fits)
fits = [FitFiles(atoms=Path(a), metrics=Path(m)) for a, m in zip(paths[0::2], paths[1::2], strict=True)]
table = build_leaderboard(fits)
with atomic_path(snakemake.output.csv) as tmp:
    table.to_csv(tmp, index=False)
write_json(snakemake.output.json, {"rows": table.to_dict(orient="records")})
log.info("%d fits; Pareto frontier: %s", len(table),
         sorted({f"{m}/K{k}" for m, k in table.loc[table["pareto"], ["method", "n_concepts"]].itertuples(index=False)}))  # fmt: skip
