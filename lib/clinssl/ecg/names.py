"""Names the ECG branch's config, rules and scripts share, defined once (no torch import)."""

from __future__ import annotations

#: PTB-XL diagnostic superclasses, in the benchmark's (MultiLabelBinarizer's) sorted order
SUPERCLASSES: tuple[str, ...] = ("CD", "HYP", "MI", "NORM", "STTC")
#: the 12 leads in PTB-XL's order and spelling (the headers write AVR, AVL, AVF)
LEADS: tuple[str, ...] = ("I", "II", "III", "AVR", "AVL", "AVF",
                          "V1", "V2", "V3", "V4", "V5", "V6")  # fmt: skip
#: raw formats an ECG dataset can be read from (config ``ecg.datasets.<name>.format``)
FORMATS: tuple[str, ...] = ("ptbxl",)
#: sampling rates of PTB-XL's two record folders (records100, records500)
RATES: tuple[int, ...] = (100, 500)
#: encoder registry names (config ``ecg.encoder.name``)
ENCODERS: tuple[str, ...] = ("cnn1d", "xresnet1d50")
#: self-supervised pretraining methods
SSL_METHODS: tuple[str, ...] = ("simclr", "byol")
#: baselines: the same encoder trained from scratch, and a random-init frozen encoder's probe
SUPERVISED = "supervised"
RANDOM = "random"
BASELINES: tuple[str, ...] = (SUPERVISED, RANDOM)
#: every evaluated method (the {method} of results/ecg/<dataset>/eval/<method>/seed<seed>/)
METHODS: tuple[str, ...] = (*SSL_METHODS, *BASELINES)
#: evaluation protocols: frozen encoder + linear head, full fine-tuning, from scratch
LINEAR_PROBE, FINETUNE, SCRATCH = "linear_probe", "finetune", "scratch"
PROTOCOLS: tuple[str, ...] = (LINEAR_PROBE, FINETUNE, SCRATCH)
#: the protocols each method is evaluated with
METHOD_PROTOCOLS: dict[str, tuple[str, ...]] = {
    "simclr": (LINEAR_PROBE, FINETUNE),
    "byol": (LINEAR_PROBE, FINETUNE),
    SUPERVISED: (SCRATCH,),
    RANDOM: (LINEAR_PROBE,),
}
