"""Stand-ins of what users have on disk, shared by PPG tests: the user's clone of the
PaPaGei repository (wrapper unit tests and the ``ppg_embed`` rule test), and a MIMIC-III
matched record after a selective download (:func:`partial_wfdb_download`).

Why a stand-in: the real clone and ``papagei_s.pt`` are the user's download (not
redistributable here, and far too slow for tests). The stand-in has what the wrapper relies
on: module ``models/resnet.py`` with class ``ResNet1DMoE`` taking PaPaGei-S's constructor
arguments, and a forward that returns a 4-tuple whose output 0 is the 512-d embedding (output
3 here: the pooled ``base_filters``-d feature). Weights are saved with DDP's ``module.``
prefix, as the published checkpoint has them.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import torch
from torch import nn

from clinssl.io.wfdb import SegmentSpec, write_mimic3_record, write_records_file

STAND_IN_SOURCE = '''
"""Stand-in with PaPaGei's ResNet1DMoE call signature and 4-tuple forward."""
import torch
from torch import nn


class ResNet1DMoE(nn.Module):
    def __init__(self, in_channels, base_filters, kernel_size, stride, groups, n_block,
                 n_classes, n_experts=2, downsample_gap=2, increasefilter_gap=4, use_bn=True,
                 use_do=True, verbose=False, use_projection=False):
        super().__init__()
        self.first_block_conv = nn.Conv1d(in_channels, base_filters, kernel_size, stride)
        self.dense = nn.Linear(base_filters, n_classes)

    def forward(self, x):
        out = torch.relu(self.first_block_conv(x)).mean(dim=-1)
        out_class = self.dense(out)
        return out_class, out_class.sum(1, keepdim=True), out_class.mean(1, keepdim=True), out
'''


def write_papagei_clone(repo: Path, weights: Path, seed: int = 0) -> nn.Module:
    """Write the stand-in repository at ``repo`` and its PaPaGei-S-shaped weights (seeded) at
    ``weights``; return the reference model (eval mode) those weights come from."""
    from clinssl.ppg.papagei import PAPAGEI_S_KWARGS

    (repo / "models").mkdir(parents=True)
    (repo / "models" / "__init__.py").write_text("")
    source = repo / "models" / "resnet.py"
    source.write_text(STAND_IN_SOURCE)
    spec = importlib.util.spec_from_file_location("papagei_standin_resnet", source)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    torch.manual_seed(seed)
    model = module.ResNet1DMoE(**PAPAGEI_S_KWARGS)
    weights.parent.mkdir(parents=True, exist_ok=True)
    torch.save({f"module.{k}": v for k, v in model.state_dict().items()}, weights)
    return model.eval()


def partial_wfdb_download(root: Path, L: int = 1250) -> tuple[Path, list[np.ndarray]]:
    """A MIMIC-III matched record as after a selective download: the master header lists
    five data segments (channel order differing between them) and a '~' gap, but only the
    layout and two data segments are on disk."""
    rng = np.random.default_rng(3)
    ppg = [rng.normal(size=L) for _ in range(5)]
    segs = [
        SegmentSpec(L, {"PLETH": ppg[0], "II": rng.normal(size=L)}),
        SegmentSpec(L, {"II": rng.normal(size=L), "PLETH": ppg[1]}),
        SegmentSpec(L, None),
        SegmentSpec(L, {"ABP": rng.normal(size=L), "PLETH": ppg[2]}),
        SegmentSpec(L, {"PLETH": ppg[3]}),
        SegmentSpec(L, {"II": rng.normal(size=L), "PLETH": ppg[4]}),
    ]
    sub = root / "p00" / "p000878"
    write_mimic3_record(sub, "p000878-2137-10-18-16-52", "3269321", segs)
    write_records_file(sub, ["p000878-2137-10-18-16-52"])
    write_records_file(root, ["p00/p000878/"])
    for number in (1, 3, 4):  # only _0002 and _0005 (and the layout) were downloaded
        for suffix in (".hea", ".dat"):
            (sub / f"3269321_{number:04d}{suffix}").unlink()
    return sub / "p000878-2137-10-18-16-52", ppg
