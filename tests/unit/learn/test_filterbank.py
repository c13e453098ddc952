"""The models that separate input, capacity and front end: a compact spectrogram CNN at the
deep raw model's size, and a learnable Gabor filterbank that can start on the mel scale."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from audioclf.learn.features import (
    AMIN,
    ENERGY_FWHM,
    FilterbankFrontEnd,
    LogMelFrontEnd,
    mel_band_edges,
)
from audioclf.learn.limits import SIGMA_MIN
from audioclf.learn.models import count_parameters
from conftest import make_model

RATE = 16000
FRONT = {"n_fft": 1024, "hop_length": 200, "n_mels": 64}
NO_MASKS = {"freq_mask_width": 0, "time_mask_width": 0}


@pytest.mark.parametrize("n_classes", [5, 10])
def test_spectrogram_small_has_the_deep_raw_models_parameter_count(n_classes):
    deep = count_parameters(make_model("raw1d_deep", n_classes, {}, clip_seconds=5.0))
    small = count_parameters(make_model("spectrogram_small", n_classes, {}, clip_seconds=5.0))
    assert abs(small - deep) / deep < 0.10, (small, deep)
    # the filterbank model adds only its filters to the same CNN: n_mels + 1 gaps between
    # the centres (and the ends) and n_mels widths
    bank = count_parameters(make_model("raw_filterbank", n_classes, {}, clip_seconds=5.0))
    assert bank - small == 2 * 128 + 1


def a_clip(seconds=2.0):
    """A rising chirp, a noise burst and a low tone: energy that moves across the bands."""
    t = np.arange(int(seconds * RATE)) / RATE
    chirp = np.sin(2 * np.pi * (100 * t + 3000 * t**2))
    rng = np.random.default_rng(0)
    burst = rng.standard_normal(t.size) * ((t > 0.8) & (t < 1.1))
    tone = 0.5 * np.sin(2 * np.pi * 300 * t) * (t > 1.4)
    return torch.tensor(0.3 * (chirp + burst + tone), dtype=torch.float32).view(1, 1, -1)


def per_band_correlation(a: torch.Tensor, b: torch.Tensor) -> float:
    """Mean over bands of the Pearson correlation of two (1, 1, bands, frames) images' rows."""
    a, b = a[0, 0].double(), b[0, 0].double()
    a = (a - a.mean(1, keepdim=True)) / a.std(1, keepdim=True)
    b = (b - b.mean(1, keepdim=True)) / b.std(1, keepdim=True)
    return float((a * b).mean(1).mean() * a.shape[1] / (a.shape[1] - 1))


def test_mel_initialised_filters_see_what_the_mel_spectrogram_sees():
    clip = a_clip()
    with torch.no_grad():
        mel = LogMelFrontEnd(RATE, **FRONT, **NO_MASKS).eval()(clip)
        bank = FilterbankFrontEnd(RATE, **FRONT, **NO_MASKS, init="mel").eval()
        learned = bank(clip)
        torch.manual_seed(0)
        random = FilterbankFrontEnd(RATE, **FRONT, **NO_MASKS, init="random").eval()(clip)
    assert learned.shape == mel.shape
    mel_like = per_band_correlation(learned, mel)
    assert mel_like > 0.9, mel_like
    assert per_band_correlation(random, mel) < mel_like - 0.1
    centres = mel_band_edges(FRONT["n_mels"], RATE)[1:-1]
    assert np.allclose(bank.centre_hz().numpy(), centres.numpy(), rtol=1e-4)


def test_random_init_draws_other_filters_and_is_seeded():
    torch.manual_seed(1)
    first = FilterbankFrontEnd(RATE, **FRONT, init="random")
    torch.manual_seed(1)
    again = FilterbankFrontEnd(RATE, **FRONT, init="random")
    mel = FilterbankFrontEnd(RATE, **FRONT, init="mel")
    assert torch.equal(first.centres, again.centres)
    assert not torch.allclose(first.centres, mel.centres, atol=1.0)
    assert not torch.allclose(first.log_sigmas, mel.log_sigmas, atol=1e-3)


def half_max_hz(bank: FilterbankFrontEnd) -> torch.Tensor:
    """Each filter's energy half-maximum width in Hz, from its window width."""
    sigmas = bank.log_sigmas.detach().double().exp()
    return ENERGY_FWHM / (2 * math.pi * sigmas) * RATE


@pytest.mark.parametrize("init", ["mel", "random", "linear"])
def test_every_init_gives_each_filter_the_mel_rules_width_at_its_centre(init):
    torch.manual_seed(2)
    bank = FilterbankFrontEnd(RATE, **FRONT, init=init)
    centres = bank.centre_hz().double()
    n_mels = FRONT["n_mels"]
    edges = mel_band_edges(n_mels, RATE)
    # the mel rule: half the base of the triangle one mel step either side of the centre
    top = 2595 * math.log10(1 + RATE / 2 / 700)
    mel = 2595 * torch.log10(1 + centres / 700)

    def hz(m):
        return 700 * (10 ** (m / 2595) - 1)

    step = top / (n_mels + 1)
    rule = (hz(mel + step) - hz((mel - step).clamp(min=0))) / 2
    unclamped = (bank.log_sigmas.detach().exp() > SIGMA_MIN + 1e-3) & (
        bank.log_sigmas.detach().exp() < bank.sigma_max - 1e-3
    )
    assert unclamped.sum() > n_mels // 2
    assert torch.allclose(half_max_hz(bank)[unclamped], rule[unclamped].double(), rtol=1e-3)
    if init == "mel":  # the triangle's own half-maximum width
        triangle = (edges[2:] - edges[:-2]) / 2
        assert torch.allclose(rule, triangle, rtol=1e-6)
    if init == "linear":
        gaps = centres[1:] - centres[:-1]
        assert torch.allclose(gaps, torch.full_like(gaps, RATE / 2 / (n_mels + 1)), rtol=1e-3)


def test_filters_train_with_the_network():
    model = make_model("raw_filterbank", 3, {"n_mels": 32, **NO_MASKS})
    front = model.front_end
    before = front.centre_hz(), front.log_sigmas.detach().clone()
    optimiser = torch.optim.SGD(model.parameters(), lr=0.1)
    wave = torch.randn(4, 1, RATE, generator=torch.Generator().manual_seed(0))
    nn.functional.cross_entropy(model.train()(wave), torch.tensor([0, 1, 2, 0])).backward()
    optimiser.step()
    assert not torch.equal(front.centre_hz(), before[0])
    assert not torch.equal(front.log_sigmas, before[1])


def test_a_filterbank_that_does_not_fit_names_the_key():
    with pytest.raises(ValueError, match="n_mels 600 is more bands than the 257"):
        make_model("raw_filterbank", 3, {"n_fft": 512, "n_mels": 600})
    with pytest.raises(ValueError, match="init 'bark'"):
        make_model("raw_filterbank", 3, {"init": "bark"})
    with pytest.raises(ValueError, match="hop_length 2048"):
        make_model("raw_filterbank", 3, {"hop_length": 2048})


def test_the_compact_cnn_takes_tiny_images_and_bad_widths_are_named():
    model = make_model("spectrogram_small", 3, {"n_mels": 8, "blocks": 6}).eval()
    with torch.no_grad():
        assert model(torch.randn(2, 1, 2000)).shape == (2, 3)  # 8 x 11 image, 6 poolings
    with pytest.raises(ValueError, match="channels 0"):
        make_model("spectrogram_small", 3, {"channels": 0})


def test_the_model_file_keeps_where_the_filters_started_and_ended(tiny):
    from audioclf.learn.checkpoint import load_checkpoint
    from audioclf.learn.features import filterbank_centres
    from audioclf.report.figures import filterbank_figure

    checkpoint = load_checkpoint(tiny.models["raw_filterbank"].model)
    initial, trained = filterbank_centres(checkpoint["state_dict"])
    mel = mel_band_edges(len(initial), checkpoint["sample_rate"])[1:-1].float()
    assert torch.allclose(initial, mel, rtol=1e-4)
    assert not torch.allclose(initial, trained), "training should move the filters"
    other = load_checkpoint(tiny.models["spectrogram_small"].model)
    assert filterbank_centres(other["state_dict"]) is None
    figure = filterbank_figure({"fb": (initial.numpy(), trained.numpy())}, RATE)
    assert len(figure.axes[0].lines) == 3  # mel scale, initial, trained
    assert not filterbank_figure({}, RATE).axes[0].lines


def test_a_window_pushed_past_its_bounds_still_learns():
    """A plain clamp has no gradient at its bounds: a window wider than n_fft allows would
    never narrow again."""
    front = FilterbankFrontEnd(RATE, n_fft=1024, hop_length=200, n_mels=16, **NO_MASKS)
    with torch.no_grad():
        front.log_sigmas[1] = float(np.log(10 * front.sigma_max))  # far wider than allowed
    wave = torch.randn(1, 1, RATE // 4, generator=torch.Generator().manual_seed(0))
    front.train()(wave).pow(3).sum().backward()
    assert front.log_sigmas.grad[1] != 0


@pytest.mark.parametrize("init", ["mel", "random", "linear"])
@pytest.mark.parametrize("lr", [0.05, 5.0])
def test_the_centres_stay_sorted_and_below_nyquist_after_any_step(init, lr):
    """Adam at 500 and at 50,000 times the default front end's lr: steps that would
    scramble free centres leave these sorted (tied at worst, where a gap collapses)."""
    torch.manual_seed(3)
    front = FilterbankFrontEnd(RATE, **FRONT, **NO_MASKS, init=init)
    optimiser = torch.optim.Adam(front.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(0)
    for _ in range(5):
        optimiser.zero_grad()
        image = front.train()(torch.randn(2, 1, RATE // 4, generator=generator))
        (image * torch.randn(1, 1, FRONT["n_mels"], 1, generator=generator)).sum().backward()
        optimiser.step()
        centres = front.centre_hz()
        assert torch.all(centres[1:] >= centres[:-1]), "neighbouring filters swapped"
        assert 0 <= float(centres[0]) and float(centres[-1]) <= RATE / 2
    if lr < 1:
        assert torch.all(centres[1:] > centres[:-1])
        assert not torch.allclose(centres, front.initial_centres), "the centres should move"


def test_the_state_dict_holds_the_centres_in_hz_and_nothing_else_named_so():
    front = FilterbankFrontEnd(RATE, **FRONT, **NO_MASKS)
    with torch.no_grad():
        front.mel_gap_logits[5] += 1.0  # as training would move them
    state = front.state_dict()
    assert torch.equal(state["centres"], front.centre_hz())
    assert torch.allclose(state["initial_centres"], mel_band_edges(64, RATE)[1:-1].float())
    assert not torch.allclose(state["centres"], state["initial_centres"])
    named = [k for k in state if "centre" in k or "center" in k]
    assert sorted(named) == ["centres", "initial_centres"]
    again = FilterbankFrontEnd(RATE, **FRONT, **NO_MASKS)
    again.load_state_dict(state)
    assert torch.equal(again.centre_hz(), front.centre_hz())


def test_a_model_file_from_the_unordered_filterbank_names_the_fix():
    front = FilterbankFrontEnd(RATE, **FRONT, **NO_MASKS)
    old = {"centres": torch.rand(64) / 2, "initial_centres": torch.rand(64) / 2}
    kept = ("log_sigmas", "taps", "pool")
    old.update({k: v for k, v in front.state_dict().items() if k in kept})
    with pytest.raises(ValueError, match="train the model again"):
        front.load_state_dict(old)


@pytest.mark.parametrize(("hop", "n_mels"), [(200, 128), (400, 64)])
def test_at_mel_init_the_filterbank_is_on_the_log_mels_scale(hop, n_mels):
    """Before the per-clip normalisation, the same dB values as the log-mel: correlation
    >= 0.95, mean |difference| <= 1 dB and under 1% of cells at the floor, on a chirp over
    a noise floor 40 dB down (a clip with no floor at all has cells that hold only each
    window's own leakage, Hann's sidelobes against a truncated Gaussian's; benchmarks/
    filterbank_scale.py measures real clips)."""
    settings = {"n_fft": 1024, "hop_length": hop, "n_mels": n_mels, **NO_MASKS}
    t = torch.arange(2 * RATE, dtype=torch.float64) / RATE
    chirp = 0.3 * torch.sin(2 * math.pi * (100 * t + 950 * t**2))  # 100 Hz to 3.9 kHz
    floor = 0.003 * torch.randn(t.shape, generator=torch.Generator().manual_seed(1))
    clip = (chirp + floor).float().view(1, 1, -1)
    with torch.no_grad():
        mel = LogMelFrontEnd(RATE, **settings).energies_db(clip).double()
        bank = FilterbankFrontEnd(RATE, **settings).energies_db(clip).double()
    assert bank.shape == mel.shape
    correlation = np.corrcoef(bank.flatten(), mel.flatten())[0, 1]
    assert correlation >= 0.95, correlation
    assert float((bank - mel).abs().mean()) <= 1.0, float((bank - mel).abs().mean())
    assert float((bank <= 10 * math.log10(AMIN) + 1e-6).double().mean()) < 0.01
    # without the gain, the filterbank would sit some 54 dB below
    assert abs(float((bank - mel).mean())) < 1.0


def test_in_the_whole_model_only_the_front_ends_centres_are_named_so():
    state = make_model("raw_filterbank", 3, {"n_mels": 16}).state_dict()
    named = sorted(k for k in state if "centre" in k or "center" in k)
    assert named == ["front_end.centres", "front_end.initial_centres"]
    assert state["front_end.centres"].shape == (16,)
