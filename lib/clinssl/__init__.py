"""clinssl: self-supervised learning on clinical time series and waveforms.

The package is one subpackage per branch (:data:`BRANCHES`) on a shared floor (``utils``,
``train``, ``nn``, ``stats``, ``io``, ``plots``, ``cache``, ``provenance``, ``config_schema``,
``cluster``); ``bench`` measures the branches. A branch imports the floor and never another
branch; the floor never imports a branch.
"""

#: the workflow's branches: config ``branches.<name>``, ``rules/<name>.smk``, ``clinssl.<name>``
BRANCHES: tuple[str, ...] = ("icu", "ecg", "ppg", "stsae", "events")
