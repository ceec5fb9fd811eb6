"""Extract every ICU stay's event sequence, static features and label with DuckDB SQL."""

from pathlib import Path

from clinssl.events.extract import extract_events
from clinssl.utils import setup_logging

log = setup_logging(snakemake.log[0])
settings = snakemake.params.extract
report = extract_events(
    snakemake.params.root, Path(snakemake.output.events).parent,
    max_events=settings["max_events"], death_grace_hours=settings["death_grace_hours"],
    threads=snakemake.threads, memory_limit=settings["memory_limit"],
)  # fmt: skip
stays, events = report["stays"], report["events"]
log.info("%d of %d stays kept (%d deaths, %d without events); %s events written, %s beyond "
         "max_events", stays["kept"], stays["read"], stays["died"], stays["without_events"],
         events["written"], events["beyond_max_events"])  # fmt: skip
