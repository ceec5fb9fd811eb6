"""ICU time-series encoders and their registry (config picks one by name).

Every encoder maps ``values (B, T, D)`` (normalized, zero-filled) and ``mask (B, T, D)``
(True = observed) to a pooled embedding ``(B, out_dim)`` via ``forward``; the SSL objectives
use the token-level API documented on each class.

* ``transformer`` — SLICES' canonical observation-aware **timestep** Transformer: one token
  per hour from ``values ‖ mask``, pre-LN, sinusoidal time encoding, masked mean pooling over
  valid hours. SSL API: ``tokenize`` → ``encode(tokens, keep)`` runs the layers on a chosen
  subset of hours (the others are neither attended to nor used).
* ``observation`` — one token per *observed measurement* (value + feature embedding + time
  encoding). SLICES dropped it because ~1,660 tokens/sample exhausted GPU memory; here a
  token cap keeps the most recent ``max_tokens`` observations and packing (observed entries
  moved to the front) makes a batch only as long as its fullest sample.
* ``mart`` — SMART's MART encoder: per-(variable, hour) tokens from one (value, mask)
  projection shared by every variable, a learned query token prepended to each variable's
  hours, blocks of temporal attention (additive observation bias) and SMART's variable attention
  (query tokens attend across variables, mixing whole trajectories), and a readout of the
  query tokens.
* ``linear`` — supervised-only baseline: per-feature summaries (observed mean, last value,
  observed fraction) → Linear. No SSL API.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from clinssl.nn.dropout import use_fast_dropout
from clinssl.nn.layers import masked_mean, safe_keys, sinusoidal_encoding, transformer_stack

__all__ = [
    "ENCODERS",
    "LinearEncoder",
    "MARTEncoder",
    "ObservationTransformerEncoder",
    "TimestepTransformerEncoder",
    "build_encoder",
]


class TimestepTransformerEncoder(nn.Module):
    """Observation-aware timestep Transformer (see module docstring; ~170K parameters)."""


    def __init__(
        self,
        n_features: int,
        d_model: int = 64,
        n_layers: int = 2,
        n_heads: int = 4,
        d_ff: int = 256,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        self.n_features, self.d_model, self.out_dim = n_features, d_model, d_model
        self.embed = nn.Sequential(
            nn.Linear(2 * n_features, d_ff),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(d_ff, d_model),
        )
        self.layers, self.norm = transformer_stack(d_model, n_layers, n_heads, d_ff, dropout)

    def tokenize(
        self, values: torch.Tensor, mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(tokens (B, T, d) with time encoding, valid (B, T))``; valid = any observation."""
        x = torch.cat([values, mask.to(values.dtype)], dim=-1)
        steps = torch.arange(values.shape[1], device=values.device)
        tokens = self.embed(x) + sinusoidal_encoding(steps, self.d_model).to(values.dtype)
        return tokens, mask.bool().any(dim=-1)

    def encode(self, tokens: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        """Run the layers on the hours where ``keep``; others are not attended to.

        Outputs at non-kept positions are meaningless and must be ignored by the caller.
        """
        return self.norm(self.layers(tokens, src_key_padding_mask=~safe_keys(keep)))

    def forward_tokens(self, values: torch.Tensor, mask: torch.Tensor):
        """``(h (B, T, d), valid (B, T))`` with every valid hour visible."""
        tokens, valid = self.tokenize(values, mask)
        return self.encode(tokens, valid), valid

    def forward(self, values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h, valid = self.forward_tokens(values, mask)
        return masked_mean(h, valid)


class ObservationTransformerEncoder(nn.Module):
    """One token per observed measurement, with a token cap and packing (module docstring)."""


    def __init__(
        self,
        n_features: int,
        d_model: int = 64,
        n_layers: int = 2,
        n_heads: int = 4,
        d_ff: int = 256,
        dropout: float = 0.1,
        max_tokens: int = 512,
    ) -> None:
        super().__init__()
        if max_tokens < 1:
            raise ValueError(f"max_tokens must be >= 1, got {max_tokens}")
        self.n_features, self.d_model, self.out_dim = n_features, d_model, d_model
        self.max_tokens = max_tokens
        self.value_proj = nn.Linear(1, d_model)
        self.feature_embed = nn.Embedding(n_features, d_model)
        self.dropout = nn.Dropout(dropout)
        self.layers, self.norm = transformer_stack(d_model, n_layers, n_heads, d_ff, dropout)

    def pack(self, values: torch.Tensor, mask: torch.Tensor):
        """Gather observed entries into ``(value, feature, hour, keep)`` of length ``L``.

        ``L = min(max observations in the batch, max_tokens)``; when a sample has more
        observations than the cap, its most recent ones are kept (latest hours matter most
        for the 24 h-ahead tasks).
        """
        batch, steps, feats = values.shape
        flat_mask = mask.bool().reshape(batch, steps * feats)
        order = torch.arange(steps * feats, device=values.device)
        # observed first, most recent first: key = observed * (1 + position)
        key = torch.where(flat_mask, order + 1, torch.zeros_like(order))
        idx = key.argsort(dim=1, descending=True, stable=True)
        length = int(min(max(int(flat_mask.sum(dim=1).max()), 1), self.max_tokens))
        idx = idx[:, :length]
        keep = flat_mask.gather(1, idx)
        vals = values.reshape(batch, -1).gather(1, idx)
        return vals, idx % feats, idx // feats, keep

    def forward(self, values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        vals, feat, hour, keep = self.pack(values, mask)
        tokens = (
            self.value_proj(vals.unsqueeze(-1))
            + self.feature_embed(feat)
            + sinusoidal_encoding(hour, self.d_model).to(vals.dtype)
        )
        h = self.norm(self.layers(self.dropout(tokens), src_key_padding_mask=~safe_keys(keep)))
        return masked_mean(h, keep)


def _attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, bias: torch.Tensor | None
) -> torch.Tensor:
    """Softmax attention through PyTorch's fused kernel (queries/keys ``(N, H, L, dh)``;
    the values may be wider, as in MART's variable attention).

    No dropout on the attention probabilities: MART's temporal attention runs over ``B·V``
    sequences, so that dropout draws a Bernoulli mask of ``B·H·V·T²`` elements per layer,
    a large share of a CPU training step; the residual and feed-forward dropout
    (``dropout``) still regularise every block."""
    return F.scaled_dot_product_attention(q, k, v, attn_mask=bias)


class _MARTBlock(nn.Module):
    """SMART's block on ``(B, V, 1+T, d)`` (query token at position 0 of every variable).

    * temporal attention within each variable, with SMART's additive observation bias
      ``obs[i] + obs[j]`` (the query token counts as observed);
    * variable attention as in SMART: each variable's **query token** asks, keys are the
      variable's tokens averaged over its observed positions, and the values are the whole
      ``1+T`` sequence packed into the feature axis — so one ``V×V`` attention map per head
      mixes entire trajectories across variables (this is where the query tokens of all but
      the last block receive gradient from SMART's hour-token loss);
    * a pre-LN feed-forward block.
    """

    def __init__(self, d_model: int, n_heads: int, d_ff: int, dropout: float) -> None:
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"d_model {d_model} is not divisible by n_heads {n_heads}")
        self.n_heads = n_heads
        self.norm_t, self.norm_v, self.norm_f = (nn.LayerNorm(d_model) for _ in range(3))
        self.qkv_t = nn.Linear(d_model, 3 * d_model, bias=False)
        self.out_t = nn.Linear(d_model, d_model)
        self.qkv_v = nn.Linear(d_model, 3 * d_model, bias=False)
        self.out_v = nn.Linear(d_model, d_model)
        self.ffn = nn.Sequential(
            nn.Linear(d_model, d_ff), nn.GELU(), nn.Dropout(dropout), nn.Linear(d_ff, d_model)
        )
        self.drop = nn.Dropout(dropout)

    def _temporal(self, x: torch.Tensor, obs: torch.Tensor) -> torch.Tensor:
        batch, nvar, length, dim = x.shape
        heads = self.n_heads
        o = obs.reshape(batch * nvar, length).to(x.dtype)
        bias = (o[:, :, None] + o[:, None, :]).unsqueeze(1)  # mask[i] + mask[j]
        h = self.norm_t(x).reshape(batch * nvar, length, dim)
        q, k, v = (
            t.reshape(batch * nvar, length, heads, dim // heads).transpose(1, 2)
            for t in self.qkv_t(h).chunk(3, dim=-1)
        )
        att = _attention(q, k, v, bias).transpose(1, 2).reshape(x.shape)
        return self.out_t(att)

    def _variable(self, x: torch.Tensor, obs: torch.Tensor) -> torch.Tensor:
        batch, nvar, length, dim = x.shape
        heads, dh = self.n_heads, dim // self.n_heads
        # (B, V, L, 3, H, dh) -> each (B, H, V, L, dh)
        q, k, v = self.qkv_v(self.norm_v(x)).reshape(batch, nvar, length, 3, heads, dh).unbind(3)
        q, k, v = (t.permute(0, 3, 1, 2, 4) for t in (q, k, v))
        w = obs.to(x.dtype)[:, None, :, :, None]  # (B, 1, V, L, 1)
        key = (k * w).sum(3) / w.sum(3).clamp(min=1.0)  # observed-position mean
        packed = v.transpose(-1, -2).reshape(batch, heads, nvar, dh * length)
        att = _attention(q[:, :, :, 0], key, packed, None)  # (B, H, V, dh·L)
        att = att.reshape(batch, heads, nvar, dh, length).permute(0, 2, 4, 1, 3)
        return self.out_v(att.reshape(x.shape))

    def forward(self, x: torch.Tensor, obs: torch.Tensor) -> torch.Tensor:
        # x: (B, V, 1+T, d); obs: (B, V, 1+T), the query position counted as observed
        x = x + self.drop(self._temporal(x, obs))
        x = x + self.drop(self._variable(x, obs))
        return x + self.drop(self.ffn(self.norm_f(x)))


class MARTEncoder(nn.Module):
    """SMART's MART encoder (see module docstring).

    Each variable's sequence starts with a learned **query token** that attends over the
    variable's hours in every block. SMART's loss covers only the hour tokens (as in the
    reference), so the last block's query tokens, which pooling reads out, are shaped by
    pretraining only through the hour tokens they attend to.
    ``forward_tokens`` gives the hour tokens ``(B, V, T, d)`` the SMART objective predicts;
    ``forward`` pools the query tokens: ``pooling="query"`` (SMART's readout) concatenates
    them into ``V·d`` features, ``"query_mean"`` averages them over variables (``d``)."""


    def __init__(
        self,
        n_features: int,
        d_model: int = 32,
        n_layers: int = 2,
        n_heads: int = 4,
        d_ff: int = 128,
        dropout: float = 0.1,
        pooling: str = "query",
    ) -> None:
        super().__init__()
        if pooling not in ("query", "query_mean"):
            raise ValueError(f"MART pooling must be 'query' or 'query_mean', got {pooling!r}")
        self.n_features, self.d_model, self.pooling = n_features, d_model, pooling
        self.out_dim = n_features * d_model if pooling == "query" else d_model
        # SMART's variable-independent input encoder: one (value, mask) -> d projection shared
        # by every variable (Linear -> Linear, no activation, as in the reference); a token
        # learns which variable it belongs to from that variable's query token
        self.embed = nn.Sequential(nn.Linear(2, d_model), nn.Linear(d_model, d_model))
        self.query = nn.Parameter(torch.randn(n_features, d_model) * 0.02)
        self.blocks = nn.ModuleList(
            _MARTBlock(d_model, n_heads, d_ff, dropout) for _ in range(n_layers)
        )
        self.norm = nn.LayerNorm(d_model)

    def _encode(self, values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """All tokens ``(B, V, 1+T, d)``, the query token at position 0."""
        batch, steps, _ = values.shape
        obs = mask.bool().transpose(1, 2)  # (B, V, T)
        pair = torch.stack([values.transpose(1, 2), obs.to(values.dtype)], dim=-1)  # (B,V,T,2)
        x = self.embed(pair)
        query = self.query[None, :, None, :].expand(batch, -1, 1, -1).to(x.dtype)
        x = torch.cat([query, x], dim=2)
        positions = torch.arange(steps + 1, device=values.device)
        x = x + sinusoidal_encoding(positions, self.d_model).to(x.dtype)
        obs = torch.cat([torch.ones_like(obs[:, :, :1]), obs], dim=2)
        for block in self.blocks:
            x = block(x, obs)
        return self.norm(x)

    def forward_tokens(self, values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Hour token representations ``(B, V, T, d)`` for the given (possibly masked) input."""
        return self._encode(values, mask)[:, :, 1:]

    def forward(self, values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        queries = self._encode(values, mask)[:, :, 0]  # (B, V, d)
        if self.pooling == "query":
            return queries.flatten(1)
        return queries.mean(dim=1)


class LinearEncoder(nn.Module):
    """Supervised-only baseline: per-feature summaries → Linear (see module docstring)."""


    def __init__(self, n_features: int, d_model: int = 64, **_: Any) -> None:
        super().__init__()
        self.n_features, self.d_model, self.out_dim = n_features, d_model, d_model
        self.proj = nn.Linear(3 * n_features, d_model)

    def forward(self, values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        m = mask.to(values.dtype)
        count = m.sum(dim=1)
        mean = (values * m).sum(dim=1) / count.clamp(min=1.0)
        steps = torch.arange(values.shape[1], device=values.device, dtype=values.dtype)
        last_idx = (m * (steps[None, :, None] + 1)).argmax(dim=1, keepdim=True)
        last = values.gather(1, last_idx).squeeze(1) * (count > 0).to(values.dtype)
        frac = count / values.shape[1]
        return self.proj(torch.cat([mean, last, frac], dim=-1))


ENCODERS: dict[str, type[nn.Module]] = {
    "transformer": TimestepTransformerEncoder,
    "observation": ObservationTransformerEncoder,
    "mart": MARTEncoder,
    "linear": LinearEncoder,
}


def build_encoder(name: str, n_features: int, **kwargs: Any) -> nn.Module:
    """Instantiate encoder ``name`` from the registry with its config keyword arguments
    (its dropout layers draw their CPU masks cheaply: :mod:`clinssl.nn.dropout`)."""
    if name not in ENCODERS:
        raise ValueError(f"unknown encoder {name!r}; known: {sorted(ENCODERS)}")
    if n_features < 1:
        raise ValueError(f"n_features must be >= 1, got {n_features}")
    return use_fast_dropout(ENCODERS[name](n_features, **kwargs))
