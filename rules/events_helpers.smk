"""Helpers of the events branch's rules (rules/events.smk): file layout from
clinssl.events.files, the MIMIC-IV tables a dataset's extraction reads, per-job params,
final outputs. No rules here.

Every rules file shares one namespace: the branch's names are used through the modules
(``events_files.EVENTS_ROOT``), never imported bare."""

from clinssl.events import files as events_files
from clinssl.events import tables as events_tables

#: where synthetic_mimic4 writes the embedded default (the release layout, csv.gz)
EVENTS_SYNTHETIC_ROOT = "results/raw/synthetic/mimic4"
EVENTS_FIGURES = ("events_attention", "events_attributions", "events_head_specialization")


def events_settings():
    """Config ``events`` (schema defaults filled in)."""
    return config["events"]


def events_seed():
    """Seed of the branch's split, text encoder, initial weights and bootstrap:
    ``events.seed``, else the workflow's ``seed``."""
    seed = events_settings()["seed"]
    return int(config["seed"] if seed is None else seed)


def events_dataset_root(dataset):
    return dataset_config("events", dataset)["root"]


def events_synthetic_tables():
    """The table files synthetic_mimic4 writes (every table of the contract)."""
    return {name: f"{EVENTS_SYNTHETIC_ROOT}/{spec.path}" for name, spec in events_tables.TABLES.items()}


def events_table_inputs(wildcards):
    """The MIMIC-IV tables of ``dataset``: for the synthetic default the files
    synthetic_mimic4 writes; for a real export each table resolved under its root (csv.gz,
    else parquet), with an error naming the missing table at planning time."""
    root = events_dataset_root(wildcards.dataset)
    if root.rstrip("/") == EVENTS_SYNTHETIC_ROOT:
        return events_synthetic_tables()
    return {name: str(events_tables.table_path(root, name)) for name in events_tables.TABLES}


def events_truth(dataset):
    """Planted truth of ``dataset`` (synthetic only), else None."""
    return dataset_config("events", dataset).get("truth")


def events_truth_input(wildcards):
    truth = events_truth(wildcards.dataset)
    return {"truth": truth} if truth else {}


def events_root(dataset):
    return events_files.EVENTS_ROOT.format(dataset=dataset)


def events_figure_root():
    """Results of the figures' dataset: the first of ``events.run_datasets``."""
    return events_root(run_datasets("events")[0])


def events_final_outputs():
    """Extraction, tensors, model, evaluation, explanations and checks of every run dataset,
    and the figures."""
    outputs = []
    for dataset in run_datasets("events"):
        root = events_root(dataset)
        for files in (events_files.ExtractFiles, events_files.TensorFiles, events_files.ModelFiles,
                      events_files.EvaluationFiles, events_files.ExplainFiles):
            outputs += files.under(root).as_dict().values()
        outputs.append(f"{root}/planted_checks.json")
    outputs += [f"results/figures/{name}.png" for name in EVENTS_FIGURES]
    return outputs
