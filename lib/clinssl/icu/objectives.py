"""SSL objectives for ICU time series and their registry (one config value picks one).

Each objective is an ``nn.Module`` that owns the encoder it trains (``.encoder``, the part
kept for downstream use) plus its paradigm-specific heads, and exposes

* ``pretext(values, mask)`` — one draw of the pretext task: the model's outputs, their
  targets and the weights of the scored entries (the objective check of
  :mod:`clinssl.icu.objective_checks` compares these with a trivial predictor),
* ``loss(values, mask) -> scalar`` — one pretraining step's loss on a batch, from ``pretext``,
* ``ema_update(step, total_steps)`` — called after each optimiser step by the shared loop's
  ``on_step`` hook (no-op unless the objective has an EMA target encoder).

Only what is intrinsic to a paradigm differs (as in SLICES' pretraining recipes):

* ``mae`` — random timestep masking; the encoder sees only visible hours; a small
  Transformer decoder with a learned mask token reconstructs; **MSE on observed features at
  masked hours**.
* ``jepa`` — block masking; EMA target encoder sees every valid hour (momentum rising
  linearly per step 0.999 → 1.0); a narrow Transformer predictor; **LayerNorm-ed targets**;
  MSE (or cosine) on masked valid hours.
* ``contrastive`` — two complementary masked views, mean-pooled, projected
  (64→256→LN→ReLU→64), L2-normalised, **NT-Xent** (τ = 0.07) over the 2B×2B matrix.
* ``smart`` — MART encoder; element-wise masking at a per-sample ratio U[0, 0.75]; EMA target
  (0.996 → 1.0); MLP predictor; **smooth-L1** on observed masked entries only.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from clinssl.icu.encoders import MARTEncoder, TimestepTransformerEncoder
from clinssl.icu.masking import (
    block_timestep_mask,
    complementary_timestep_masks,
    elementwise_mask,
    random_timestep_mask,
)
from clinssl.nn.dropout import use_fast_dropout
from clinssl.nn.layers import masked_mean, safe_keys, sinusoidal_encoding, transformer_stack
from clinssl.nn.ssl import ema_momentum, ema_update_, frozen_copy, nt_xent

__all__ = [
    "OBJECTIVES",
    "ContrastiveObjective",
    "JEPAObjective",
    "MAEObjective",
    "SMARTObjective",
    "build_objective",
]


def _require(encoder: nn.Module, cls: type, paradigm: str) -> None:
    if not isinstance(encoder, cls):
        raise ValueError(
            f"SSL paradigm {paradigm!r} needs a {cls.__name__}, got {type(encoder).__name__}; "
            "check config icu.ssl.encoders"
        )


class _TokenDecoder(nn.Module):
    """Transformer over all valid hours: encoder outputs at kept hours, a mask token elsewhere."""

    def __init__(
        self,
        d_in: int,
        d_model: int,
        n_layers: int,
        n_heads: int,
        d_ff: int,
        dropout: float,
        d_out: int,
    ) -> None:
        super().__init__()
        self.d_model = d_model
        self.inp = nn.Linear(d_in, d_model) if d_in != d_model else nn.Identity()
        self.mask_token = nn.Parameter(torch.zeros(d_model))
        nn.init.normal_(self.mask_token, std=0.02)
        self.layers, self.norm = transformer_stack(d_model, n_layers, n_heads, d_ff, dropout)
        self.out = nn.Linear(d_model, d_out)

    def forward(self, h: torch.Tensor, visible: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        x = self.inp(h)
        x = torch.where(visible.unsqueeze(-1), x, self.mask_token.to(x.dtype).expand_as(x))
        steps = torch.arange(h.shape[1], device=h.device)
        x = x + sinusoidal_encoding(steps, self.d_model).to(x.dtype)
        x = self.norm(self.layers(x, src_key_padding_mask=~safe_keys(valid)))
        return self.out(x)


class MAEObjective(nn.Module):
    """Masked autoencoding of hours (see module docstring)."""

    def __init__(
        self,
        encoder: nn.Module,
        mask_ratio: float = 0.5,
        decoder_d_model: int = 64,
        decoder_layers: int = 2,
        decoder_heads: int = 4,
        decoder_d_ff: int = 256,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        _require(encoder, TimestepTransformerEncoder, "mae")
        self.encoder, self.mask_ratio = encoder, mask_ratio
        self.decoder = _TokenDecoder(
            encoder.d_model,
            decoder_d_model,
            decoder_layers,
            decoder_heads,
            decoder_d_ff,
            dropout,
            encoder.n_features,
        )

    def pretext(
        self, values: torch.Tensor, mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(reconstruction (B, T, D), weight (B, T, D))``: one draw of the pretext task,
        the weight selecting the observed entries of masked hours (what :meth:`loss` scores
        and the objective check compares with mean imputation)."""
        tokens, valid = self.encoder.tokenize(values, mask)
        visible = random_timestep_mask(valid, self.mask_ratio)
        h = self.encoder.encode(tokens, visible)
        recon = self.decoder(h, visible, valid)
        return recon, (mask.bool() & (valid & ~visible).unsqueeze(-1)).to(recon.dtype)

    def loss(self, values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        recon, target_w = self.pretext(values, mask)
        return ((recon - values) ** 2 * target_w).sum() / target_w.sum().clamp(min=1.0)

    def ema_update(self, step: int, total_steps: int) -> None:
        """MAE has no target encoder."""


class JEPAObjective(nn.Module):
    """Latent prediction of masked hours from visible ones (see module docstring)."""

    def __init__(
        self,
        encoder: nn.Module,
        mask_ratio: float = 0.5,
        n_blocks: int = 3,
        predictor_d_model: int = 32,
        predictor_layers: int = 2,
        predictor_heads: int = 4,
        predictor_d_ff: int = 128,
        dropout: float = 0.1,
        momentum_start: float = 0.999,
        momentum_end: float = 1.0,
        loss_type: str = "mse",
    ) -> None:
        super().__init__()
        _require(encoder, TimestepTransformerEncoder, "jepa")
        if loss_type not in ("mse", "cosine"):
            raise ValueError(f"jepa loss_type must be 'mse' or 'cosine', got {loss_type!r}")
        self.encoder, self.mask_ratio, self.n_blocks = encoder, mask_ratio, n_blocks
        self.target_encoder = frozen_copy(encoder)
        self.predictor = _TokenDecoder(
            encoder.d_model,
            predictor_d_model,
            predictor_layers,
            predictor_heads,
            predictor_d_ff,
            dropout,
            encoder.d_model,
        )
        self.momentum_start, self.momentum_end, self.loss_type = (
            momentum_start,
            momentum_end,
            loss_type,
        )

    def pretext(
        self, values: torch.Tensor, mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(prediction (B, T, d), LayerNorm-ed target (B, T, d), weight (B, T))`` of one
        draw of the pretext task: the masked valid hours."""
        tokens, valid = self.encoder.tokenize(values, mask)
        visible = block_timestep_mask(valid, self.mask_ratio, self.n_blocks)
        h = self.encoder.encode(tokens, visible)
        pred = self.predictor(h, visible, valid)
        with torch.no_grad():
            self.target_encoder.eval()
            t_tokens, _ = self.target_encoder.tokenize(values, mask)
            target = self.target_encoder.encode(t_tokens, valid)
            target = F.layer_norm(target, target.shape[-1:])
        return pred, target, (valid & ~visible).to(pred.dtype)

    def loss(self, values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        pred, target, w = self.pretext(values, mask)
        if self.loss_type == "mse":
            per_tok = ((pred - target) ** 2).mean(dim=-1)
        else:
            per_tok = 1.0 - F.cosine_similarity(pred, target, dim=-1)
        return (per_tok * w).sum() / w.sum().clamp(min=1.0)

    def ema_update(self, step: int, total_steps: int) -> None:
        m = ema_momentum(step, total_steps, self.momentum_start, self.momentum_end)
        ema_update_(self.target_encoder, self.encoder, m)


class ContrastiveObjective(nn.Module):
    """Instance contrast between two complementary masked views (see module docstring)."""

    def __init__(
        self,
        encoder: nn.Module,
        mask_ratio: float = 0.5,
        projection_hidden: int = 256,
        projection_dim: int = 64,
        temperature: float = 0.07,
    ) -> None:
        super().__init__()
        _require(encoder, TimestepTransformerEncoder, "contrastive")
        self.encoder, self.mask_ratio, self.temperature = encoder, mask_ratio, temperature
        self.projection = nn.Sequential(
            nn.Linear(encoder.d_model, projection_hidden),
            nn.LayerNorm(projection_hidden),
            nn.ReLU(),
            nn.Linear(projection_hidden, projection_dim),
        )

    def pretext(
        self, values: torch.Tensor, mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(z1, z2)``: projected, L2-normalised embeddings ``(B, p)`` of the two views."""
        tokens, valid = self.encoder.tokenize(values, mask)
        view1, view2 = complementary_timestep_masks(valid, self.mask_ratio)
        z = []
        for view in (view1, view2):
            pooled = masked_mean(self.encoder.encode(tokens, view), view)
            z.append(F.normalize(self.projection(pooled), dim=-1))
        return z[0], z[1]

    def loss(self, values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return nt_xent(*self.pretext(values, mask), self.temperature)

    def ema_update(self, step: int, total_steps: int) -> None:
        """Contrastive learning has no target encoder."""


class SMARTObjective(nn.Module):
    """SMART: element-wise masking, EMA target, smooth-L1 in latent space (module docstring)."""

    def __init__(
        self,
        encoder: nn.Module,
        min_ratio: float = 0.0,
        max_ratio: float = 0.75,
        predictor_ratio: int = 4,
        dropout: float = 0.1,
        momentum_start: float = 0.996,
        momentum_end: float = 1.0,
        beta: float = 1.0,
    ) -> None:
        super().__init__()
        _require(encoder, MARTEncoder, "smart")
        self.encoder, self.min_ratio, self.max_ratio, self.beta = (
            encoder,
            min_ratio,
            max_ratio,
            beta,
        )
        d = encoder.d_model
        self.target_encoder = frozen_copy(encoder)
        self.predictor = nn.Sequential(
            nn.Linear(d, predictor_ratio * d),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(predictor_ratio * d, d),
        )
        self.proj_out = nn.Linear(d, d)
        self.momentum_start, self.momentum_end = momentum_start, momentum_end

    def pretext(
        self, values: torch.Tensor, mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(prediction (B, V, T, d), target (B, V, T, d), weight (B, V, T))`` of one draw
        of the pretext task: the masked observed entries."""
        obs = mask.bool()
        visible = elementwise_mask(obs, self.min_ratio, self.max_ratio)
        h = self.encoder.forward_tokens(values * visible.to(values.dtype), visible)
        pred = self.proj_out(self.predictor(h))
        with torch.no_grad():
            self.target_encoder.eval()
            target = self.target_encoder.forward_tokens(values, obs)
        return pred, target, (obs & ~visible).transpose(1, 2).to(pred.dtype)

    def loss(self, values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        pred, target, w = self.pretext(values, mask)
        per_tok = F.smooth_l1_loss(pred, target, beta=self.beta, reduction="none").mean(-1)
        return (per_tok * w).sum() / w.sum().clamp(min=1.0)

    def ema_update(self, step: int, total_steps: int) -> None:
        m = ema_momentum(step, total_steps, self.momentum_start, self.momentum_end)
        ema_update_(self.target_encoder, self.encoder, m)


OBJECTIVES: dict[str, type[nn.Module]] = {
    "mae": MAEObjective,
    "jepa": JEPAObjective,
    "contrastive": ContrastiveObjective,
    "smart": SMARTObjective,
}



def build_objective(name: str, encoder: nn.Module, **kwargs: Any) -> nn.Module:
    """Instantiate SSL objective ``name`` around ``encoder`` with its config kwargs (its
    dropout layers draw their CPU masks cheaply: :mod:`clinssl.nn.dropout`)."""
    if name not in OBJECTIVES:
        raise ValueError(f"unknown SSL paradigm {name!r}; known: {sorted(OBJECTIVES)}")
    return use_fast_dropout(OBJECTIVES[name](encoder, **kwargs))
