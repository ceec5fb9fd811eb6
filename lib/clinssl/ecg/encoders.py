"""ECG encoders and their registry (config ``ecg.encoder.name`` picks one by name).

Every encoder maps leads ``x (B, C, L)`` to a feature map ``forward(x) -> (B, out_dim, T)``
and to a pooled embedding ``embed(x) -> (B, out_dim)``, the global average over time. The
pooling lives in ``embed`` rather than in a head because SSRL-ECG's classifier and its SimCLR
both pool outside the encoder: the SSL objectives, the probes and fine-tuning then all read
the same ``embed``.

* ``cnn1d`` — SSRL-ECG's ``ECGEncoder1DCNN``: **six** Conv-BN-ReLU blocks (its README says
  three; the code has six), 538,624 parameters at width 64, time stride 8, receptive field
  82 samples (0.82 s at 100 Hz).
* ``xresnet1d50`` — the xresnet1d50 of the PTB-XL benchmark (Strodthoff et al. 2021, the
  fastai xresnet adapted to 1-D): a three-conv stem, max-pool, bottleneck stages [3, 4, 6, 3]
  with expansion 4, kernel 5 in the 1-D middle conv, ResNet-D identity path (avg-pool, then a
  1×1 conv where the shape changes) and the last BN of every block initialised to zero, so
  each residual block starts as the identity. Time stride 32.

  Stage widths: the benchmark's code (``code/models/xresnet1d.py`` of
  helme/ecg_ptbxl_benchmarking) uses ``(64, 64, 64, 64)`` — fastai's ImageNet widths
  ``(64, 128, 256, 512)`` are commented out there — so ``out_dim`` is ``64 · 4 = 256`` and
  the encoder has 886,400 parameters at 12 leads (873,344 conv +
  13,056 BN). That is the default here, because the benchmark's numbers were measured with
  it. ``widths=(64, 128, 256, 512)`` gives the ImageNet-width variant (``out_dim`` 2048,
  18,486,144 parameters).

A checkpoint stores ``{"encoder": state_dict, "spec": encoder_spec(...)}``; the spec is
plain JSON (name, input leads, constructor keyword arguments) so :func:`encoder_from_spec`
rebuilds the architecture without pickled classes, and the spec can sit in a training
fingerprint.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from clinssl.ecg.names import ENCODERS

__all__ = [
    "CNN1DEncoder",
    "ENCODER_CLASSES",
    "XResNet1d50",
    "build_encoder",
    "encoder_from_spec",
    "encoder_spec",
]


def conv_bn(
    in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, relu: bool = True
) -> nn.Sequential:
    """``Conv1d (no bias, 'same'-style padding k//2) → BatchNorm1d [→ ReLU]``.

    No conv bias because the BN right after it has its own shift; the padding keeps
    ``T = ceil(L / stride)`` for the odd kernels used here, so strided paths line up."""
    if kernel_size % 2 == 0:
        raise ValueError(f"kernel size must be odd (symmetric padding), got {kernel_size}")
    layers: list[nn.Module] = [
        nn.Conv1d(
            in_channels, out_channels, kernel_size, stride=stride,
            padding=kernel_size // 2, bias=False,
        ),
        nn.BatchNorm1d(out_channels),
    ]  # fmt: skip
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


def _check_input(x: torch.Tensor, in_channels: int, name: str) -> None:
    """Fail with the expected layout rather than with a conv shape error deep inside."""
    if x.ndim != 3 or x.shape[1] != in_channels:
        raise ValueError(f"{name} expects leads (B, {in_channels}, L), got shape {tuple(x.shape)}")


class CNN1DEncoder(nn.Module):
    """SSRL-ECG's six-block 1-D CNN (module docstring); ``out_dim = 4 · width``.

    Blocks (channels in units of ``width``, kernel, stride): ``C→1 k11 s2``, ``1→1 k7 s1``,
    ``1→2 k7 s2``, ``2→2 k5 s1``, ``2→4 k5 s2``, ``4→4 k3 s1``. PyTorch's default
    initialisation, as in the seed.
    """

    #: (output channels in units of ``width``, kernel, stride) of the six blocks
    BLOCKS: tuple[tuple[int, int, int], ...] = (
        (1, 11, 2), (1, 7, 1), (2, 7, 2), (2, 5, 1), (4, 5, 2), (4, 3, 1),
    )  # fmt: skip

    def __init__(self, in_channels: int = 12, width: int = 64) -> None:
        super().__init__()
        if in_channels < 1 or width < 1:
            raise ValueError(
                f"cnn1d needs in_channels >= 1 and width >= 1, got {in_channels}, {width}"
            )
        self.in_channels, self.width = in_channels, width
        layers, channels = [], in_channels
        for mult, kernel, stride in self.BLOCKS:
            layers.append(conv_bn(channels, mult * width, kernel, stride))
            channels = mult * width
        self.blocks = nn.Sequential(*layers)
        self.out_dim = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(x, self.in_channels, "cnn1d")
        return self.blocks(x)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Global average over time of :meth:`forward`: ``(B, out_dim)``."""
        return self.forward(x).mean(dim=-1)


class _Bottleneck(nn.Module):
    """xresnet bottleneck: ``1×1 → k (stride here, ResNet-B) → 1×1 (zero-init BN)`` plus an
    identity path ``[AvgPool(2, ceil)] [→ 1×1 conv-BN]`` (ResNet-D: the shortcut averages
    instead of skipping three quarters of the samples with a strided 1×1 conv)."""

    def __init__(
        self, in_channels: int, width: int, expansion: int, kernel_size: int, stride: int
    ) -> None:
        super().__init__()
        out_channels = width * expansion
        self.convs = nn.Sequential(
            conv_bn(in_channels, width, 1),
            conv_bn(width, width, kernel_size, stride),
            conv_bn(width, out_channels, 1, relu=False),
        )
        shortcut: list[nn.Module] = []
        if stride != 1:
            shortcut.append(nn.AvgPool1d(stride, ceil_mode=True))
        if in_channels != out_channels:
            shortcut.append(conv_bn(in_channels, out_channels, 1, relu=False))
        self.shortcut = nn.Sequential(*shortcut)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.convs(x) + self.shortcut(x))


class XResNet1d50(nn.Module):
    """xresnet1d50 of the PTB-XL benchmark (module docstring), without its classifier head.

    ``widths`` are the bottleneck widths of the four stages (``out_dim = 4 · widths[-1]``);
    ``kernel_size`` is the middle conv's kernel, ``stem_kernel_size`` the stem's (both 5 in
    the 1-D benchmark; fastai's 2-D xresnet uses 3). Initialisation as the benchmark's
    ``init_cnn``: Kaiming-normal convs, BN shift 0, BN scale 1 except the zero-initialised
    last BN of every block.
    """

    #: bottleneck blocks per stage (what makes it a "50")
    BLOCKS: tuple[int, ...] = (3, 4, 6, 3)
    EXPANSION = 4

    def __init__(
        self,
        in_channels: int = 12,
        widths: Sequence[int] = (64, 64, 64, 64),
        stem_channels: Sequence[int] = (32, 32, 64),
        kernel_size: int = 5,
        stem_kernel_size: int = 5,
    ) -> None:
        super().__init__()
        widths, stem_channels = tuple(int(w) for w in widths), tuple(int(c) for c in stem_channels)
        if len(widths) != len(self.BLOCKS):
            raise ValueError(f"xresnet1d50 needs {len(self.BLOCKS)} stage widths, got {widths}")
        if len(stem_channels) != 3:
            raise ValueError(f"xresnet1d50 needs 3 stem channel counts, got {stem_channels}")
        if in_channels < 1 or min(widths + stem_channels) < 1:
            raise ValueError("xresnet1d50 channel counts must be >= 1")
        self.in_channels = in_channels
        stem, channels = [], in_channels
        for i, out in enumerate(stem_channels):
            stem.append(conv_bn(channels, out, stem_kernel_size, stride=2 if i == 0 else 1))
            channels = out
        self.stem = nn.Sequential(*stem)
        self.pool = nn.MaxPool1d(kernel_size=3, stride=2, padding=1)
        stages = []
        for i, (n_blocks, width) in enumerate(zip(self.BLOCKS, widths, strict=True)):
            blocks = []
            for j in range(n_blocks):
                stride = 2 if i > 0 and j == 0 else 1
                blocks.append(_Bottleneck(channels, width, self.EXPANSION, kernel_size, stride))
                channels = width * self.EXPANSION
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.Sequential(*stages)
        self.out_dim = channels
        self._init_weights()

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv1d):
                nn.init.kaiming_normal_(m.weight)
            elif isinstance(m, nn.BatchNorm1d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        for m in self.modules():
            if isinstance(m, _Bottleneck):
                nn.init.zeros_(m.convs[-1][1].weight)  # residual branch starts at zero

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(x, self.in_channels, "xresnet1d50")
        return self.stages(self.pool(self.stem(x)))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Global average over time of :meth:`forward`: ``(B, out_dim)``."""
        return self.forward(x).mean(dim=-1)


ENCODER_CLASSES: dict[str, type[nn.Module]] = {
    "cnn1d": CNN1DEncoder,
    "xresnet1d50": XResNet1d50,
}
if tuple(ENCODER_CLASSES) != ENCODERS:  # the config schema validates against names.ENCODERS
    raise ImportError(f"ECG encoder registry {tuple(ENCODER_CLASSES)} != names {ENCODERS}")


def _encoder_class(name: str) -> type[nn.Module]:
    if name not in ENCODER_CLASSES:
        raise ValueError(f"unknown ECG encoder {name!r}; known: {list(ENCODER_CLASSES)}")
    return ENCODER_CLASSES[name]


def build_encoder(name: str, in_channels: int = 12, **kwargs: Any) -> nn.Module:
    """Instantiate encoder ``name`` with ``in_channels`` leads and its config kwargs."""
    return _encoder_class(name)(in_channels=in_channels, **kwargs)


def _plain(value: Any) -> Any:
    """Tuples → lists (recursively), so a spec equals its own JSON round trip."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def encoder_spec(name: str, in_channels: int, kwargs: dict[str, Any] | None = None) -> dict:
    """JSON-ready description ``{"name", "in_channels", "kwargs"}`` of an encoder.

    Checked now (known name, accepted keyword arguments) so a typo fails when the job starts,
    not when a checkpoint is reloaded."""
    cls = _encoder_class(name)
    kwargs = dict(kwargs or {})
    try:
        inspect.signature(cls).bind(in_channels=in_channels, **kwargs)
    except TypeError as err:
        raise ValueError(f"bad keyword arguments for ECG encoder {name!r}: {err}") from None
    return {"name": name, "in_channels": int(in_channels), "kwargs": _plain(kwargs)}


def encoder_from_spec(spec: dict[str, Any]) -> nn.Module:
    """The (freshly initialised) encoder a spec of :func:`encoder_spec` describes."""
    missing = {"name", "in_channels"} - set(spec)
    if missing:
        raise ValueError(f"ECG encoder spec lacks {sorted(missing)}: {spec}")
    return build_encoder(spec["name"], int(spec["in_channels"]), **dict(spec.get("kwargs") or {}))
