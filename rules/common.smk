"""Workflow-wide helpers shared by every rules file (no rules, no branch specifics here).

A branch's own helpers sit at the top of its rules file. Rules files add their branch's final
outputs with ``register_final_outputs`` — the one way a branch adds to ``rule all`` — so that
the default target collects exactly the enabled branches (a branch that is off contributes
no jobs).
"""

from clinssl import BRANCHES

_FINAL_OUTPUTS = {}


def branch_enabled(branch):
    """Whether config switches ``branch`` on (``branches.<branch>``)."""
    if branch not in BRANCHES:
        raise ValueError(f"unknown branch {branch!r}; known: {', '.join(BRANCHES)}")
    return bool(config["branches"][branch])


def register_final_outputs(branch, outputs):
    """Add final targets of ``branch``: a list of paths, or a function returning one
    (evaluated when ``rule all`` is built). Several rules files of a branch may register."""
    if branch not in BRANCHES:
        raise ValueError(f"unknown branch {branch!r}; known: {', '.join(BRANCHES)}")
    _FINAL_OUTPUTS.setdefault(branch, []).append(outputs)


def final_outputs():
    """Every enabled branch's final targets plus the run manifest (the default target)."""
    targets = ["results/manifest.json"]
    for branch in BRANCHES:
        if not branch_enabled(branch):
            continue
        if branch not in _FINAL_OUTPUTS:
            raise ValueError(
                f"config 'branches.{branch}' is true but this version of clinssl has no "
                f"rules for the {branch!r} branch yet; set branches.{branch}: false"
            )
        for outputs in _FINAL_OUTPUTS[branch]:
            targets.extend(outputs() if callable(outputs) else outputs)
    return targets


def seeds():
    """Replicate seeds (config ``seeds``): every branch that repeats an experiment over
    seeds expands its jobs over this list (``config["seed"]`` seeds single-run steps)."""
    return list(config["seeds"])


def run_datasets(branch):
    """Datasets of ``<branch>.run_datasets``, each checked to be a key of ``<branch>.datasets``."""
    names = list(config[branch]["run_datasets"])
    unknown = [n for n in names if n not in config[branch]["datasets"]]
    if unknown:
        raise ValueError(
            f"config '{branch}.run_datasets' names {unknown}, which are not keys of "
            f"'{branch}.datasets' ({sorted(config[branch]['datasets'])})"
        )
    return names


def dataset_config(branch, name):
    """Config ``<branch>.datasets.<name>``, with a clear error for an unknown name."""
    datasets = config[branch]["datasets"]
    if name not in datasets:
        raise ValueError(f"{branch} dataset {name!r} is not configured under '{branch}.datasets'")
    return datasets[name]


def rule_threads(rule):
    """CPU threads of ``rule``'s jobs (config ``resources.<rule>.threads``)."""
    return config["resources"][rule]["threads"]


def rule_resources(rule):
    """``mem_mb`` and ``runtime`` of ``rule``'s jobs (config ``resources.<rule>``)."""
    job = config["resources"][rule]
    return {"mem_mb": job["mem_mb"], "runtime": job["runtime"]}


def wildcard_regex(names):
    """``a|b|c``: a wildcard constraint matching exactly ``names`` (a registry's names)."""
    return "|".join(names)
