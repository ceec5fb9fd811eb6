"""HiMAE: hierarchical 1-D CNN masked autoencoder for PPG windows (reference §4).

Why this architecture: HiMAE reaches transformer-foundation-model quality with ~1.25 M
parameters because the CNN encoder keeps the full-length sequence (masked samples are just
zeroed, no mask tokens) and the U-Net decoder's skips let the bottleneck specialise in
coarse structure. Faithful to ``Simonlee711/HiMAE_Inference``:

* encoder: ``depth`` ``ResConvBlock`` s (stride 2), channels ``base · 2^i``
  (default 16→256): Conv(k5, s2, no bias)–BN–GELU–Conv(k5)–BN + shortcut Conv(k1, s2)–BN,
  summed, GELU;
* decoder: ``depth − 1`` ``DecoderSkipBlock`` s: ConvTranspose(k5, s2, p2, op1), crop,
  concatenate the encoder skip, [Conv(k5, no bias)–BN–GELU] × 2; then ConvTranspose(16→1,
  k5, s2, p2, op1), linear interpolation to ``seq_len`` only where the stride-2 stages do not
  divide it, and Tanh — hence inputs are min-max scaled to [−1, 1];
* masking: random patches (``patch_len`` samples, ``mask_ratio`` 0.8) zeroed;
  loss = MSE on masked samples only.

Sequence length and depth come from config; ``patch_len`` is the divisor of ``seq_len``
closest to ``patch_seconds · fs`` (the reference's 5 samples = 50 ms at 100 Hz).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class HiMAEConfig:
    """Architecture and masking (config ``ppg.himae``)."""

    seq_len: int = 1250
    in_channels: int = 1
    base_channels: int = 16
    depth: int = 5
    kernel_size: int = 5
    patch_len: int = 5
    mask_ratio: float = 0.8

    def __post_init__(self) -> None:
        if self.depth < 2:
            raise ValueError(f"ppg.himae.depth must be >= 2, got {self.depth}")
        if self.seq_len < 2**self.depth:
            raise ValueError(
                f"ppg.himae: seq_len {self.seq_len} too short for depth {self.depth} "
                f"(needs >= {2**self.depth})"
            )
        if self.seq_len % self.patch_len:
            raise ValueError(f"patch_len {self.patch_len} must divide seq_len {self.seq_len}")
        if not 0.0 < self.mask_ratio < 1.0:
            raise ValueError(f"mask_ratio must be in (0, 1), got {self.mask_ratio}")

    @property
    def channels(self) -> list[int]:
        return [self.base_channels * 2**i for i in range(self.depth)]

    @property
    def embed_dim(self) -> int:
        return self.channels[-1]

    def to_dict(self) -> dict:
        return asdict(self)


def patch_len_for(seq_len: int, target: float) -> int:
    """The divisor of ``seq_len`` closest to ``target`` samples (ties: the smaller)."""
    divisors = [d for d in range(1, seq_len + 1) if seq_len % d == 0]
    return min(divisors, key=lambda d: (abs(d - target), d))


class ResConvBlock(nn.Module):
    """Stride-2 residual block of the encoder."""

    def __init__(self, c_in: int, c_out: int, k: int, stride: int = 2) -> None:
        super().__init__()
        pad = k // 2
        self.conv1 = nn.Conv1d(c_in, c_out, k, stride=stride, padding=pad, bias=False)
        self.bn1 = nn.BatchNorm1d(c_out)
        self.conv2 = nn.Conv1d(c_out, c_out, k, stride=1, padding=pad, bias=False)
        self.bn2 = nn.BatchNorm1d(c_out)
        self.shortcut = nn.Sequential(
            nn.Conv1d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm1d(c_out)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn2(self.conv2(F.gelu(self.bn1(self.conv1(x)))))
        return F.gelu(out + self.shortcut(x))


class DecoderSkipBlock(nn.Module):
    """Upsample ×2, crop to the skip's length, concatenate it, two conv layers."""

    def __init__(self, c_in: int, c_skip: int, c_out: int, k: int) -> None:
        super().__init__()
        pad = k // 2
        self.up = nn.ConvTranspose1d(c_in, c_out, k, stride=2, padding=pad, output_padding=1)
        self.conv = nn.Sequential(  # no biases: each conv is followed by BatchNorm
            nn.Conv1d(c_out + c_skip, c_out, k, padding=pad, bias=False),
            nn.BatchNorm1d(c_out),
            nn.GELU(),
            nn.Conv1d(c_out, c_out, k, padding=pad, bias=False),
            nn.BatchNorm1d(c_out),
            nn.GELU(),
        )

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = self.up(x)
        length = skip.shape[-1]
        if x.shape[-1] < length:
            x = F.pad(x, (0, length - x.shape[-1]))
        x = x[..., :length]
        return self.conv(torch.cat([x, skip], dim=1))


class HiMAE(nn.Module):
    """Encoder + U-Net decoder; ``forward(x)`` reconstructs, ``embed(x)`` pools the bottleneck."""

    def __init__(self, config: HiMAEConfig) -> None:
        super().__init__()
        self.config = config
        ch, k = config.channels, config.kernel_size
        ins = [config.in_channels, *ch[:-1]]
        self.encoder = nn.ModuleList(ResConvBlock(i, o, k) for i, o in zip(ins, ch, strict=True))
        self.decoder = nn.ModuleList(
            DecoderSkipBlock(ch[i], ch[i - 1], ch[i - 1], k) for i in range(len(ch) - 1, 0, -1)
        )
        self.final_deconv = nn.ConvTranspose1d(
            ch[0], config.in_channels, k, stride=2, padding=k // 2, output_padding=1
        )

    def encode(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Every encoder stage's output (the last one is the bottleneck)."""
        feats = []
        for block in self.encoder:
            x = block(x)
            feats.append(x)
        return feats

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = self.encode(x)
        y = feats[-1]
        for block, skip in zip(self.decoder, reversed(feats[:-1]), strict=True):
            y = block(y, skip)
        y = self.final_deconv(y)
        if y.shape[-1] != self.config.seq_len:
            y = F.interpolate(y, size=self.config.seq_len, mode="linear", align_corners=False)
        return torch.tanh(y)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Mean-pooled bottleneck (B, embed_dim): the frozen feature of the linear probe."""
        return self.encode(x)[-1].mean(dim=-1)


def minmax_scale(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Per-window min-max scaling to [−1, 1] (the decoder ends in Tanh)."""
    lo = x.amin(dim=-1, keepdim=True)
    hi = x.amax(dim=-1, keepdim=True)
    return 2.0 * (x - lo) / (hi - lo).clamp_min(eps) - 1.0


def random_patch_mask(
    batch: int,
    seq_len: int,
    patch_len: int,
    ratio: float,
    generator: torch.Generator | None = None,
    device: torch.device | None = None,
) -> torch.Tensor:
    """(B, 1, L) float mask, **1 = hidden**: ``ratio`` of the patches chosen by argsort of noise.

    The one exception to the project's mask convention (True = observed / visible, see
    :mod:`clinssl.nn.layers`): HiMAE's reference uses a float multiplier of the hidden
    patches, ``x · (1 − mask)`` as input and ``mask`` as the loss weight, kept here so the
    loss reads as in the paper."""
    n_patches = seq_len // patch_len
    n_mask = int(round(ratio * n_patches))
    noise = torch.rand(batch, n_patches, generator=generator)
    order = noise.argsort(dim=1)
    mask = torch.zeros(batch, n_patches)
    mask.scatter_(1, order[:, :n_mask], 1.0)
    mask = mask.repeat_interleave(patch_len, dim=1).unsqueeze(1)
    return mask.to(device) if device is not None else mask


def masked_mse(recon: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """MSE over masked positions only: ``((recon − x)² · mask).sum() / mask.sum()``."""
    return ((recon - target) ** 2 * mask).sum() / mask.sum().clamp_min(1.0)


def himae_loss(model: HiMAE, batch: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Pretraining objective for :func:`clinssl.train.fit`: mask, reconstruct, masked MSE.

    ``batch`` is raw windows (B, L) or (B, 1, L); scaling happens here so the store stays
    in source units. Masks draw from torch's global RNG, which the training loop seeds and
    checkpoints, so resumed runs draw the same masks.
    """
    x = batch if batch.ndim == 3 else batch.unsqueeze(1)
    x = minmax_scale(x.to(device, dtype=torch.float32))
    cfg = model.config
    mask = random_patch_mask(x.shape[0], cfg.seq_len, cfg.patch_len, cfg.mask_ratio).to(device)
    recon = model(x * (1.0 - mask))
    return masked_mse(recon.float(), x, mask)


@torch.no_grad()
def embed_windows(model: HiMAE, x: torch.Tensor) -> torch.Tensor:
    """Frozen embedding of raw windows (B, L): min-max scale, encode, mean-pool."""
    x = x if x.ndim == 3 else x.unsqueeze(1)
    return model.embed(minmax_scale(x.float()))


class HiMAEEncoder:
    """Frozen HiMAE as an embedding function on store windows (125 Hz, 1250 samples):
    resample to the model rate, min-max scale, mean-pool the bottleneck → (k, embed_dim)."""

    def __init__(self, model: HiMAE, fs: float, device: torch.device,
                 amp_dtype: torch.dtype | None = None) -> None:  # fmt: skip
        self.model = model.to(device).eval()
        self.fs = fs
        self.device = device
        self.amp_dtype = amp_dtype
        self.dim = model.config.embed_dim

    @torch.inference_mode()
    def encode(self, windows: np.ndarray | torch.Tensor) -> np.ndarray:
        """Embeddings of (k, 1250) windows at 125 Hz, resampled to the model rate on the
        model's device (:func:`clinssl.nn.resample.resample_to`, SciPy's polyphase filter):
        a batch already on the device never goes back to the CPU."""
        from clinssl.nn.resample import resample_to
        from clinssl.ppg.dataset import model_length

        if not isinstance(windows, torch.Tensor):
            windows = torch.from_numpy(np.asarray(windows, dtype=np.float32))
        x = windows.to(self.device, dtype=torch.float32)
        x = resample_to(x, 125.0, self.fs, model_length(self.fs, x.shape[-1] / 125.0))
        with torch.autocast(self.device.type, dtype=self.amp_dtype or torch.float32,
                            enabled=self.amp_dtype is not None):  # fmt: skip
            z = embed_windows(self.model, x)
        return z.float().cpu().numpy()


def load_himae(path, device: torch.device, amp_dtype: torch.dtype | None = None) -> HiMAEEncoder:
    """A :class:`HiMAEEncoder` from a model file written by the pretraining rule."""
    from clinssl.train import load_model_file

    state, meta = load_model_file(path)
    if meta.get("kind") != "himae":
        raise ValueError(f"{path}: not a HiMAE model file (metadata kind={meta.get('kind')!r})")
    model = HiMAE(HiMAEConfig(**meta["config"]))
    model.load_state_dict(state)
    return HiMAEEncoder(model, float(meta["input_fs"]), device, amp_dtype)


def config_from_settings(settings: dict) -> HiMAEConfig:
    """The architecture that config ``ppg.himae`` describes (seq_len from ``input_fs``)."""
    from clinssl.ppg.dataset import model_length

    fs = float(settings["input_fs"])
    seq_len = model_length(fs)
    return HiMAEConfig(
        seq_len=seq_len,
        base_channels=int(settings["base_channels"]),
        depth=int(settings["depth"]),
        kernel_size=int(settings["kernel_size"]),
        patch_len=patch_len_for(seq_len, float(settings["patch_seconds"]) * fs),
        mask_ratio=float(settings["mask_ratio"]),
    )


def random_init_himae(settings: dict, seed: int) -> tuple[HiMAE, dict]:
    """The random-init floor: HiMAE with the pretrained model's architecture and PyTorch's
    default initialisation drawn from ``seed``, never trained. Returns the model and the
    metadata of its model file (the same fields as a pretrained one, so
    :func:`load_himae` reads both)."""
    from clinssl.utils.seeding import torch_seeded

    config = config_from_settings(settings)
    with torch_seeded(seed, "himae-random-init"):
        model = HiMAE(config)
    meta = {"kind": "himae", "config": config.to_dict(), "input_fs": float(settings["input_fs"]),
            "trained": False}  # fmt: skip
    return model, meta


def pretrain_on_store(
    windows,
    table,
    settings: dict,
    device: str,
    seed: int,
    checkpoint_path=None,
    job: dict | None = None,
) -> tuple[HiMAE, dict]:
    """Pretrain HiMAE on the QC-passed train windows of a window store.

    ``settings`` is config ``ppg.himae``. Early stopping (``patience``) watches the masked MSE
    on up to ``max_val_windows`` QC-passed val windows with masks fixed by the seed, so the
    metric compares epochs fairly. Returns the model (best val epoch) and a history dict.
    ``job`` (:func:`clinssl.train.fingerprint.job_fingerprint`) ties the checkpoint to the
    workflow job and its inputs.
    """
    import numpy as np

    from clinssl.ppg.dataset import WindowRows
    from clinssl.train import TrainConfig, fit
    from clinssl.utils.seeding import derive_seed, seed_everything

    seed_everything(seed)
    fs = float(settings["input_fs"])
    config = config_from_settings(settings)
    ok = table["qc_pass"].to_numpy()
    train_rows = np.flatnonzero(ok & (table["split"] == "train").to_numpy())
    val_rows = np.flatnonzero(ok & (table["split"] == "val").to_numpy())
    if train_rows.size == 0:
        raise ValueError("HiMAE pretraining: no QC-passed windows in the train split")
    rng = np.random.default_rng(derive_seed(seed, "himae-subsample"))
    cap = settings.get("max_train_windows")
    if cap and train_rows.size > cap:
        train_rows = np.sort(rng.choice(train_rows, size=int(cap), replace=False))
    if val_rows.size > settings["max_val_windows"]:
        val_rows = np.sort(
            rng.choice(val_rows, size=int(settings["max_val_windows"]), replace=False)
        )
    model = HiMAE(config)
    train = WindowRows(windows, train_rows, fs)
    val_fn = None
    if val_rows.size:
        val_x = WindowRows(windows, val_rows, fs).read(val_rows).unsqueeze(1)
        gen = torch.Generator().manual_seed(derive_seed(seed, "himae-val-mask"))
        val_mask = random_patch_mask(
            val_x.shape[0], config.seq_len, config.patch_len, config.mask_ratio, gen
        )
        val_x = minmax_scale(val_x)

        def val_fn(m: nn.Module) -> float:
            dev = next(m.parameters()).device
            total = 0.0
            for s in range(0, val_x.shape[0], 256):
                x, mk = val_x[s : s + 256].to(dev), val_mask[s : s + 256].to(dev)
                total += float(((m(x * (1 - mk)) - x) ** 2 * mk).sum())
            return total / float(val_mask.sum())

    epochs = int(settings["epochs"])
    train_cfg = TrainConfig(
        epochs=epochs,
        batch_size=int(settings["batch_size"]),
        lr=float(settings["lr"]),
        weight_decay=float(settings["weight_decay"]),
        warmup_epochs=float(settings["warmup_fraction"]) * epochs,
        schedule=settings.get("schedule", "cosine"),
        patience=settings.get("patience") if val_fn is not None else None,
        maximize=False,
        device=device,
        seed=seed,
    )
    result = fit(
        model,
        himae_loss,
        train,
        train_cfg,
        val_fn=val_fn,
        checkpoint_path=checkpoint_path,
        fingerprint={"himae": config.to_dict(), "n_train": int(train_rows.size),
                     "job": job or {}},  # fmt: skip
        collate_fn=train.collate,
    )
    history = {
        "config": config.to_dict(),
        "input_fs": fs,
        "n_train_windows": int(train_rows.size),
        "n_val_windows": int(val_rows.size),
        "epochs": result.history,
        "best_epoch": result.best_epoch,
        "best_val_masked_mse": result.best_metric,
        "stopped_early": result.stopped_early,
        "resumed_from_epoch": result.resumed_from_epoch,
        "n_parameters": int(sum(p.numel() for p in model.parameters())),
    }
    return model.cpu().eval(), history
