"""Config helpers and input functions shared by every rules file (no rules here).

Rules files register their branch's final outputs with ``register_final_outputs`` so that the
default target collects exactly the enabled branches (a branch that is off contributes no jobs).
"""


BRANCHES = ("icu", "ecg", "ppg", "stsae", "events")
_FINAL_OUTPUTS = {}


def branch_enabled(branch):
    """Whether config switches ``branch`` on (``branches.<branch>``)."""
    if branch not in BRANCHES:
        raise ValueError(f"unknown branch {branch!r}; known: {', '.join(BRANCHES)}")
    return bool(config["branches"][branch])


def register_final_outputs(branch, outputs):
    """Record the final targets of ``branch`` (a list of paths, or a function returning one)."""
    _FINAL_OUTPUTS[branch] = outputs


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
        outputs = _FINAL_OUTPUTS[branch]
        targets.extend(outputs() if callable(outputs) else outputs)
    return targets


def seeds():
    """The list of experiment seeds from config (``seeds``)."""
    return list(config["seeds"])
