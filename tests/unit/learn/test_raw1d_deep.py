"""The deep raw-waveform CNN (M5 family) and its waveform augmentation."""

import math

import pandas as pd
import pytest
import torch

from audioclf.evaluate.scoring import evaluate
from audioclf.learn.augment import NOISE_SNR_SPAN_DB, WaveformAugment
from audioclf.learn.models import (
    RAW1D_DEEP_DEFAULTS,
    RawWaveformCNN,
    count_parameters,
    parameter_groups,
)
from conftest import make_model, train_tiny

CLIP_SECONDS = 1.0
NO_AUGMENT = {"gain_db": 0, "shift_fraction": 0, "noise_snr_db": None}
DEEP = {"type": "raw1d_deep", "epochs": 8, "lr": 3e-3, "batch_size": 8, "min_steps": 0}


def test_default_network_shapes_and_parameter_count():
    model = make_model("raw1d_deep", 5, {}, clip_seconds=5.0, sample_rate=16000)
    assert isinstance(model, RawWaveformCNN)
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv1d)]
    stem = convs[0]
    assert (stem.kernel_size, stem.stride, stem.out_channels) == ((80,), (4,), 64)
    assert [c.out_channels for c in convs] == [64, 64, 128, 256]
    assert all(c.kernel_size == (3,) for c in convs[1:])
    # conv weights (no bias) + BatchNorm weight and bias + the linear head:
    #   1*64*80 + 2*64 = 5,248;  64*64*3 + 2*64 = 12,416;  64*128*3 + 2*128 = 24,832;
    #   128*256*3 + 2*256 = 98,816;  head 256*5 + 5 = 1,285;  total 142,597
    expected = 5_248 + 12_416 + 24_832 + 98_816 + 1_285
    n_params = count_parameters(model)
    print(f"raw1d_deep defaults {RAW1D_DEEP_DEFAULTS}: {n_params:,} parameters")
    assert n_params == expected == 142_597
    model.eval()
    wave = torch.randn(2, 1, 80_000)
    # 80,000 samples -> stride 4 -> 20,000 -> four pools of 4 -> 78 frames
    assert model.features(wave).shape == (2, 256, 78)
    assert model(wave).shape == (2, 5)
    assert len(parameter_groups(model)) == 1


def test_settings_change_width_and_depth():
    settings = {"channels": 16, "blocks": 5, "convs_per_block": 2, "dropout": 0.5}
    model = make_model("raw1d_deep", 3, settings, CLIP_SECONDS, 16000).eval()
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv1d)]
    assert [c.out_channels for c in convs] == [16, 16, 16, 32, 32, 64, 64, 128, 128]
    assert model.head[0].p == 0.5 and model.head[1].in_features == 128
    print(f"raw1d_deep {settings}: {count_parameters(model):,} parameters")
    assert model(torch.randn(2, 1, 16_000)).shape == (2, 3)


def test_too_short_clips_or_bad_settings_are_errors():
    with pytest.raises(ValueError, match="clip_seconds"):
        make_model("raw1d_deep", 3, {"blocks": 7}, CLIP_SECONDS, 16000)
    with pytest.raises(ValueError, match="channels"):
        make_model("raw1d_deep", 3, {"channels": 0}, CLIP_SECONDS, 16000)
    with pytest.raises(ValueError, match="gain_db"):
        WaveformAugment(gain_db=-1)


def test_augmentation_only_in_training_mode():
    torch.manual_seed(0)
    model = make_model("raw1d_deep", 3, {"dropout": 0.0}, CLIP_SECONDS, 16000)
    wave = torch.randn(4, 1, 16_000)
    with torch.no_grad():
        model.eval()
        assert torch.equal(model(wave), model(wave))
        model.train()  # BatchNorm uses batch statistics, deterministic; augmentation is not
        assert not torch.allclose(model(wave), model(wave))
        plain = make_model("raw1d_deep", 3, {"dropout": 0.0, **NO_AUGMENT}, CLIP_SECONDS, 16000)
        plain.train()
        assert not plain.augment.active
        assert torch.equal(plain(wave), plain(wave))


def test_gain_scales_each_clip_within_its_range():
    torch.manual_seed(1)
    augment = WaveformAugment(gain_db=6, shift_fraction=0, noise_snr_db=0).train()
    wave = torch.rand(64, 1, 500) + 0.1
    ratio = augment(wave) / wave
    per_clip = ratio[:, 0, 0]
    assert torch.allclose(ratio, per_clip.view(-1, 1, 1).expand_as(ratio), rtol=1e-5)
    db = 20 * torch.log10(per_clip)
    assert db.abs().max() <= 6 + 1e-4 and db.std() > 1  # spread over the range, not constant
    assert torch.equal(augment.eval()(wave), wave)


def test_shift_rolls_each_clip():
    torch.manual_seed(2)
    augment = WaveformAugment(gain_db=0, shift_fraction=0.25, noise_snr_db=None).train()
    wave = torch.arange(8 * 100, dtype=torch.float32).view(8, 1, 100)
    shifted = augment(wave)
    shifts = []
    for row, original in zip(shifted[:, 0], wave[:, 0], strict=True):
        matches = [s for s in range(-25, 26) if torch.equal(row, torch.roll(original, s))]
        assert len(matches) == 1
        shifts.append(matches[0])
    assert len(set(shifts)) > 1


def test_noise_lands_within_the_snr_range():
    torch.manual_seed(3)
    augment = WaveformAugment(gain_db=0, shift_fraction=0, noise_snr_db=10).train()
    t = torch.arange(16_000) / 16_000
    wave = torch.sin(2 * math.pi * 440 * t).repeat(16, 1, 1) * torch.linspace(0.1, 1, 16).view(
        -1, 1, 1
    )
    noise = augment(wave) - wave
    snr = 10 * torch.log10(wave.pow(2).mean(dim=-1) / noise.pow(2).mean(dim=-1)).flatten()
    assert snr.min() > 10 - 0.5 and snr.max() < 10 + NOISE_SNR_SPAN_DB + 0.5
    assert snr.std() > 1


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_augmentation_stays_on_the_gpu():
    augment = WaveformAugment().train()
    wave = torch.randn(4, 1, 16_000, device="cuda")
    out = augment(wave)
    assert out.device == wave.device and not torch.equal(out, wave)


@pytest.fixture(scope="module")
def data(tiny):
    """The shared tiny set (cache.pt and split.csv)."""
    return tiny.folder


def test_trains_on_the_synthetic_set_and_beats_chance(tiny, tmp_path):
    deep = tiny.models["raw1d_deep"]
    result, history = deep.result, pd.read_csv(deep.history)
    assert len(history) == deep.settings["epochs"]
    assert history["train_loss"].iloc[-3:].mean() < history["train_loss"].iloc[:2].mean()
    assert history["valid_accuracy"].iloc[-1] > 1 / 3 + 0.15
    checkpoint = torch.load(deep.model, weights_only=True)
    # the recorded settings are the effective ones: defaults filled in
    assert checkpoint["settings"]["channels"] == RAW1D_DEEP_DEFAULTS["channels"]
    assert checkpoint["settings"]["noise_snr_db"] == RAW1D_DEEP_DEFAULTS["noise_snr_db"]
    metrics = evaluate(
        tiny.cache,
        tiny.split,
        deep.model,
        tmp_path / "predictions.csv",
        tmp_path / "metrics.json",
        deep.history,
        device="cpu",
        threads=1,
    )
    print(
        f"raw1d_deep on the synthetic set: valid {history['valid_accuracy'].iloc[-1]:.2f}, "
        f"test {metrics['accuracy']:.2f}, {result['n_params']:,} parameters, "
        f"{result['train_seconds']:.1f} s"
    )
    assert metrics["accuracy"] > 1 / 3 + 0.15
    assert metrics["type"] == "raw1d_deep" and metrics["n_params"] == result["n_params"]


def test_augmented_training_is_repeatable(data, tmp_path):
    settings = {**DEEP, "epochs": 2, "channels": 16}
    first = pd.read_csv(train_tiny(data, tmp_path / "a", settings).history)
    second = pd.read_csv(train_tiny(data, tmp_path / "b", settings).history)
    columns = ["train_loss", "valid_loss", "valid_accuracy"]
    pd.testing.assert_frame_equal(first[columns], second[columns])
    plain = pd.read_csv(train_tiny(data, tmp_path / "c", {**settings, **NO_AUGMENT}).history)
    assert not first["train_loss"].equals(plain["train_loss"])
