"""ECG augmentations: each one's effect alone (the others at probability 0, its own at 1),
per-sample independence, determinism, edge cases and config validation."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from clinssl.ecg.augment import (
    ECGAugmentConfig,
    augment_batch,
    bandpass_ranges,
    cyclic_partners,
)

AUGMENTATIONS = ("warp", "mixup", "cutmix", "bandpass", "wander", "noise", "dropout")


def only(name: str, p: float = 1.0, **overrides: object) -> ECGAugmentConfig:
    """The default config with every augmentation off except ``name`` (at ``p``)."""
    probs = {f"{a}_p": 0.0 for a in AUGMENTATIONS}
    probs[f"{name}_p"] = p
    return ECGAugmentConfig(**probs, **overrides)


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def randn(*shape: int, seed: int = 1) -> torch.Tensor:
    return torch.randn(*shape, generator=gen(seed))


def sines(freqs_hz: list[float], fs: float, length: int, batch: int, leads: int = 12):
    """Sum of unit sinusoids with random phases per sample and lead: (batch, leads, length)."""
    t = torch.arange(length, dtype=torch.float64) / fs
    phases = 2 * math.pi * torch.rand(len(freqs_hz), batch, leads, 1, generator=gen(7))
    x = sum(torch.sin(2 * math.pi * f * t + phases[i].double()) for i, f in enumerate(freqs_hz))
    return x.float()


def amplitude_at(x: torch.Tensor, fs: float, f_hz: float) -> torch.Tensor:
    """Amplitude of the rfft bin nearest ``f_hz`` (a unit sinusoid on a bin gives ~1)."""
    length = x.shape[-1]
    k = round(f_hz * length / fs)
    return torch.fft.rfft(x.double(), dim=-1)[..., k].abs() * 2 / length


def runs(mask: torch.Tensor) -> list[tuple[int, int]]:
    """Contiguous ``True`` runs of a 1-D mask as ``(start, stop)``."""
    out, start = [], None
    for t, m in enumerate(mask.tolist() + [False]):
        if m and start is None:
            start = t
        elif not m and start is not None:
            out.append((start, t))
            start = None
    return out


# --- the seven augmentations, one at a time ---------------------------------------------


def test_warp_rescales_frequency_by_at_most_five_percent() -> None:
    fs, length, f0 = 100.0, 4001, 5.0
    x = sines([f0], fs, length, batch=64)
    y = augment_batch(x, fs, only("warp"), gen())
    assert y.shape == x.shape
    # scaled about the centre: the centre sample is where it was
    # (to float32 rounding of the sampling grid, ~1e-4 samples)
    torch.testing.assert_close(y[..., length // 2], x[..., length // 2], atol=1e-3, rtol=0)
    spectrum = torch.fft.rfft(y[:, 0].double(), n=16 * length).abs()
    f = spectrum.argmax(dim=-1).double() * fs / (16 * length)
    ratio = f / f0
    assert bool(((ratio > 0.949) & (ratio < 1.051)).all()), ratio
    assert float(ratio.min()) < 0.99 and float(ratio.max()) > 1.01  # both ways, not a no-op
    # every lead of a sample gets the same warp
    f_leads = torch.fft.rfft(y[0].double(), n=16 * length).abs().argmax(dim=-1)
    assert int(f_leads.unique().numel()) == 1


def test_mixup_is_a_convex_combination_with_another_sample() -> None:
    x = randn(32, 12, 250)
    y = augment_batch(x, 100.0, only("mixup"), gen())
    partners, lams = [], []
    for i in range(32):
        # y_i - x_j = λ (x_i - x_j): least-squares λ and residual per candidate j ≠ i
        fits = []
        for j in range(32):
            a, b = (x[i] - x[j]).flatten(), (y[i] - x[j]).flatten()
            lam = float(a @ b / (a @ a)) if j != i else 1.0
            fits.append((float((lam * a - b).abs().max()) if j != i else math.inf, j, lam))
        fits.sort()
        (best, j, lam), (second, *_) = fits[0], fits[1]
        assert best < 1e-5, (i, fits[:2])
        lams.append(lam)
        if lam < 0.999:  # the partner is identifiable: the only exact fit
            assert second > 1e-3, (i, fits[:2])
            partners.append(j)
    assert all(0.5 - 1e-6 <= lam <= 1.0 + 1e-6 for lam in lams)
    assert min(lams) < 0.9  # actually mixes
    assert len(partners) >= 8 and len(set(partners)) == len(partners)  # a permutation's


def test_cutmix_replaces_one_segment_with_a_partners() -> None:
    length = 250
    x = randn(32, 12, length)
    y = augment_batch(x, 100.0, only("cutmix"), gen())
    for i in range(32):
        changed = (y[i] != x[i]).any(dim=0)
        assert bool(((y[i] != x[i]) == changed).all())  # all leads or none
        (start, stop), *rest = runs(changed)
        assert not rest  # one contiguous segment
        assert 0.1 * length - 1 <= stop - start <= 0.3 * length + 1
        matches = [j for j in range(32) if torch.equal(y[i, :, start:stop], x[j, :, start:stop])]
        assert len(matches) == 1 and matches[0] != i


@pytest.mark.parametrize(
    ("fs", "keep_hz", "drop_hz"),
    [(100.0, [10.0, 35.0], [0.2, 47.0]), (500.0, [10.0, 35.0], [0.2, 65.0])],
)
def test_bandpass_removes_out_of_band_and_keeps_in_band(
    fs: float, keep_hz: list[float], drop_hz: list[float]
) -> None:
    """Cutoffs are in Hz at the real ``fs``: the seed's 500-Hz constants on 100-Hz data
    would have cut 10–35 Hz content."""
    length = int(50 * fs)  # 50 s: every test frequency sits on an FFT bin
    x = sines(keep_hz + drop_hz, fs, length, batch=8, leads=2)
    y = augment_batch(x, fs, only("bandpass"), gen())
    for f in keep_hz:
        ratio = amplitude_at(y, fs, f) / amplitude_at(x, fs, f)
        assert bool(((ratio > 0.98) & (ratio < 1.02)).all()), (f, ratio)
    for f in drop_hz:
        assert float(amplitude_at(y, fs, f).max()) < 0.01, f


def test_bandpass_high_cutoff_stays_below_nyquist_at_100_hz() -> None:
    cfg = only("bandpass")
    assert bandpass_ranges(100.0, cfg) == ((0.5, 1.5), (40.0, 45.0))
    assert bandpass_ranges(500.0, cfg) == ((0.5, 1.5), (40.0, 60.0))
    fs, length = 100.0, 250
    x = randn(64, 12, length)
    spectrum = torch.fft.rfft(augment_batch(x, fs, cfg, gen()).double(), dim=-1).abs()
    freq = torch.fft.rfftfreq(length, 1 / fs)
    above = freq > 45.0 + fs / length / 2  # past the cap and its half-bin ramp
    assert float(spectrum[..., above].max()) < 1e-4
    assert float(spectrum[..., (freq > 41) & (freq < 44)].min()) > 0  # cutoffs vary up to 45
    with pytest.raises(ValueError, match="capped"):
        augment_batch(x, 3.0, cfg, gen())  # cap 1.35 Hz is below the low cutoffs' 1.5 Hz


def test_wander_adds_a_slow_sinusoid_of_the_configured_amplitude() -> None:
    fs, length = 100.0, 6000
    x = randn(64, 12, length)
    d = (augment_batch(x, fs, only("wander"), gen()) - x).double()
    amp = math.sqrt(2) * d.std(dim=-1, correction=0)  # of A·sin over >= 30 cycles
    assert bool(((amp > 0.01 * 0.97) & (amp < 0.05 * 1.03)).all()), amp
    assert float(amp.std()) > 0.005  # per-lead amplitudes
    spectrum = torch.fft.rfft(d, n=4 * length, dim=-1).abs()
    f = spectrum.argmax(dim=-1).double() * fs / (4 * length)
    assert bool(((f > 0.49) & (f < 2.01)).all())
    assert float((f.max(dim=1).values - f.min(dim=1).values).max()) < 0.01  # shared by leads
    # in other units: ×4 when one mV is four units
    d4 = augment_batch(x, fs, only("wander"), gen(), units_per_mv=4.0) - x
    torch.testing.assert_close(d4, 4 * d.float(), atol=1e-5, rtol=1e-4)


def test_noise_std_is_half_to_two_percent_of_each_leads_std() -> None:
    length = 20000
    scale = torch.logspace(-1, 1, 12)[None, :, None]  # leads of very different size
    x = randn(16, 12, length) * scale
    x[0, 3] = 0.7  # a flat lead stays flat
    y = augment_batch(x, 100.0, only("noise"), gen())
    rel = ((y - x).std(dim=-1) / x.std(dim=-1))[1:]  # (samples, leads); sample 0 has the flat
    assert bool(((rel > 0.005 * 0.97) & (rel < 0.02 * 1.03)).all()), rel
    spread = rel.max(dim=1).values - rel.min(dim=1).values
    assert float(spread.min()) > 0.003  # drawn per lead, within every sample
    assert torch.equal(y[0, 3], x[0, 3])


@pytest.mark.parametrize("length", [250, 1000])
def test_dropout_masks_5_to_20_percent_and_bridges_gaps_linearly(length: int) -> None:
    cfg = only("dropout")
    x = randn(64, 12, length)
    y = augment_batch(x, 100.0, cfg, gen())
    slack = cfg.dropout_segments / (2 * length)  # rounding of the segment length
    for i in range(64):
        gap = (y[i] != x[i]).any(dim=0)
        assert bool(((y[i] != x[i]) == gap).all())  # all leads or none
        assert not gap[0] and not gap[-1]
        assert 0.05 - slack <= float(gap.float().mean()) <= 0.2 + slack
        gaps = runs(gap)
        assert 1 <= len(gaps) <= cfg.dropout_segments
        for start, stop in gaps:
            left, right = x[i, :, start - 1 : start], x[i, :, stop : stop + 1]
            w = (torch.arange(start, stop) - (start - 1)) / (stop - (start - 1))
            torch.testing.assert_close(y[i, :, start:stop], left + w * (right - left))


# --- behaviour of the whole ---------------------------------------------------------------


@pytest.mark.parametrize("name", AUGMENTATIONS)
def test_each_sample_draws_its_own_decision(name: str) -> None:
    """At p = 0.5 about half the samples are changed, not all or none of the batch."""
    x = randn(2000, 2, 250)
    y = augment_batch(x, 100.0, only(name, p=0.5), gen())
    changed = (y != x).flatten(1).any(dim=1).float().mean()
    assert 0.45 < float(changed) < 0.55, float(changed)


def test_p_zero_everywhere_is_the_identity_and_input_is_untouched() -> None:
    x = randn(8, 12, 250)
    y = augment_batch(x, 100.0, only("warp", p=0.0), gen())
    assert torch.equal(y, x) and y.data_ptr() != x.data_ptr()
    before = x.clone()
    z = augment_batch(x, 100.0, ECGAugmentConfig(), gen())
    assert torch.equal(x, before) and not torch.equal(z, x)


def test_same_generator_seed_gives_the_same_views() -> None:
    x = randn(64, 12, 250)
    cfg = ECGAugmentConfig()
    a = augment_batch(x, 100.0, cfg, gen(3))
    assert torch.equal(a, augment_batch(x, 100.0, cfg, gen(3)))
    assert not torch.equal(a, augment_batch(x, 100.0, cfg, gen(4)))
    g = gen(3)  # two views from one generator differ
    assert not torch.equal(augment_batch(x, 100.0, cfg, g), augment_batch(x, 100.0, cfg, g))


def test_batch_of_one() -> None:
    x = randn(1, 12, 250)
    for name in ("mixup", "cutmix"):  # no partner: no-ops
        assert torch.equal(augment_batch(x, 100.0, only(name), gen()), x)
    all_on = ECGAugmentConfig(**{f"{a}_p": 1.0 for a in AUGMENTATIONS})
    y = augment_batch(x, 100.0, all_on, gen())
    assert y.shape == x.shape and bool(torch.isfinite(y).all())


def test_dtype_and_layout() -> None:
    x = randn(4, 12, 250).double()
    assert augment_batch(x, 100.0, ECGAugmentConfig(), gen()).dtype == torch.float64
    with pytest.raises(ValueError, match=r"\(B, C, L\)"):
        augment_batch(x[0], 100.0, ECGAugmentConfig(), gen())


@pytest.mark.parametrize("batch", [2, 3, 10, 257])
def test_cyclic_partners_have_no_fixed_points(batch: int) -> None:
    for seed in range(5):
        p = cyclic_partners(batch, gen(seed))
        assert sorted(p.tolist()) == list(range(batch))
        assert bool((p != torch.arange(batch)).all())


def test_config_validation_and_yaml_lists() -> None:
    cfg = ECGAugmentConfig(cutmix_fraction=[0.1, 0.2])  # type: ignore[arg-type]
    assert cfg.cutmix_fraction == (0.1, 0.2)
    assert dataclasses.asdict(cfg)["cutmix_fraction"] == (0.1, 0.2)
    bad = [
        ({"warp_p": 1.5}, "ecg.augment.warp_p"),
        ({"noise_p": -0.1}, "ecg.augment.noise_p"),
        ({"wander_mv": (0.05, 0.01)}, "ecg.augment.wander_mv"),
        ({"dropout_fraction": (0.1,)}, "ecg.augment.dropout_fraction"),
        ({"mixup_alpha": 0.0}, "ecg.augment.mixup_alpha"),
        ({"bandpass_high_hz": (1.0, 60.0)}, "ecg.augment.bandpass_high_hz"),
        ({"dropout_segments": 0}, "ecg.augment.dropout_segments"),
    ]
    for kwargs, message in bad:
        with pytest.raises(ValueError, match=message):
            ECGAugmentConfig(**kwargs)  # type: ignore[arg-type]
