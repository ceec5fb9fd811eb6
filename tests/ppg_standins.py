"""A stand-in for the user's clone of the PaPaGei repository, shared by the wrapper's unit
tests (``tests/lib/ppg/test_papagei.py``) and the ``ppg_embed`` rule test.

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

import torch
from torch import nn

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
