"""Model settings that config validation checks before any job starts, without torch.

The training defaults, the augmentation's and the front end's defaults, the limits a
filterbank or a whole-clip model must fit, the sample rate a type is defined at and the
pretrained weights a type can load live here, so the Snakefile (which never imports
torch), the procedure record (audioclf.procedure) and the builders in learn/models.py and
learn/cnn14.py read the same values and check the same rules with the same messages.
"""

from __future__ import annotations

from collections.abc import Mapping

from audioclf.learn.published import PUBLISHED_WEIGHTS, published

# What every model type fills in for training settings its config leaves out.
TRAINING_DEFAULTS = {
    "epochs": 10,
    "min_steps": 100,  # epochs are raised when a small train split gives fewer steps in all
    "lr": 1e-3,
    "batch_size": 64,
    "weight_decay": 0.01,
    "pretrained": False,
    "freeze_epochs": 1,
    "mixed_precision": "auto",  # bf16 where it pays: audioclf.devices.autocast_dtype
}

# Waveform augmentation (learn/augment.py), for the types that have it; 0 or null: off.
AUGMENT_DEFAULTS = {
    "gain_db": 6.0,  # gain drawn uniformly in [-gain_db, +gain_db] dB per clip
    "shift_fraction": 0.1,  # roll by up to this fraction of the window, either way
    "noise_snr_db": 20.0,  # Gaussian noise at an SNR drawn in [noise_snr_db, + NOISE_SNR_SPAN_DB]
}
NOISE_SNR_SPAN_DB = 20.0
# Time and frequency masking of the log-mel image: (count, width) pairs; either 0: off.
MASK_SETTINGS = (("freq_masks", "freq_mask_width"), ("time_masks", "time_mask_width"))

FRONT_END_DEFAULTS = {
    "n_fft": 1024,
    "hop_length": 200,
    "n_mels": 128,
    # fastaudio's defaults: one mask of up to 20 mel bins and one of up to 20 frames
    "freq_masks": 1,
    "freq_mask_width": 20,
    "time_masks": 1,
    "time_mask_width": 20,
}

# The types whose front end is defined at one sample rate: a published network's own (CNN14's
# fixed STFT and mel filters are those of PANNs' 16 kHz AudioSet checkpoint), with or
# without its weights.
FIXED_SAMPLE_RATES = {w.fits: w.sample_rate for w in PUBLISHED_WEIGHTS.values()}

FILTERBANK_INITS = ("mel", "random", "linear")
# A Gabor filter's Gaussian window must fit its n_fft taps: +-3 sigma, at least 2 samples.
SIGMA_MIN = 2.0

WHOLE_CLIP_DEFAULTS = {
    "max_seconds": 30.0,  # a longer clip is read up to its first max_seconds
    "batch_seconds": 320.0,  # audio per batch, padding included (64 clips of 5 s)
}


def check_front_end(n_fft: int, hop_length: int, n_mels: int) -> None:
    """Raise ValueError naming the key when a mel front end's bands or hop do not fit its
    window (any front end: log-mel or filterbank; bands always run 0 Hz to Nyquist)."""
    bins = n_fft // 2 + 1
    if n_mels > bins:
        raise ValueError(
            f"n_mels {n_mels} is more bands than the {bins} frequency bins of n_fft {n_fft}; "
            "lower n_mels or raise n_fft"
        )
    if hop_length < 1 or hop_length > n_fft:
        raise ValueError(f"hop_length {hop_length} must be between 1 and n_fft ({n_fft})")


def check_filterbank(sample_rate: int, n_fft: int, hop_length: int, n_mels: int, init: str):
    """Raise ValueError naming the key when the Gabor filterbank cannot be built as set."""
    if init not in FILTERBANK_INITS:
        raise ValueError(f"init {init!r} is not one of {FILTERBANK_INITS}")
    check_front_end(n_fft, hop_length, n_mels)
    if n_fft / 6 < SIGMA_MIN:
        raise ValueError(f"n_fft {n_fft} is too short for a Gabor window; use at least 12")


def check_whole_clip(sample_rate: int, n_fft: int, max_seconds: float, batch_seconds: float):
    """Raise ValueError naming the key when whole clips cannot be read as set."""
    if max_seconds * sample_rate < n_fft:
        raise ValueError(
            f"max_seconds {max_seconds} is shorter than one n_fft window ({n_fft} samples at "
            f"{sample_rate} Hz); raise max_seconds"
        )
    if batch_seconds < 2 * max_seconds:
        # training drops a batch of one clip (batch norm needs two), so a clip that only
        # fits alone would never be trained on
        raise ValueError(
            f"batch_seconds {batch_seconds} cannot hold two clips of max_seconds "
            f"{max_seconds}; raise batch_seconds to at least {2 * max_seconds:g} or lower "
            "max_seconds"
        )


def check_settings(settings: Mapping, sample_rate: int) -> None:
    """Config-time checks of one model's settings, by the keys they set (a type that has
    no such key gets the defaults, which pass): the front end's bands and hop, the
    filterbank's window when `init` is set, whole-clip reading when its keys are set. The
    builders check the same again when a model is built."""
    s = {**FRONT_END_DEFAULTS, **WHOLE_CLIP_DEFAULTS, **settings}
    n_fft = int(s["n_fft"])
    if "init" in settings:
        check_filterbank(sample_rate, n_fft, int(s["hop_length"]), int(s["n_mels"]), s["init"])
    else:
        check_front_end(n_fft, int(s["hop_length"]), int(s["n_mels"]))
    if set(WHOLE_CLIP_DEFAULTS) & set(settings):
        check_whole_clip(sample_rate, n_fft, float(s["max_seconds"]), float(s["batch_seconds"]))


def check_sample_rate(model_type: str, sample_rate: int) -> None:
    """Raise ValueError when `model_type` is defined at one sample rate and the cache
    (preprocess.sample_rate) is at another."""
    fixed = FIXED_SAMPLE_RATES.get(model_type)
    if fixed is not None and sample_rate != fixed:
        raise ValueError(
            f"{model_type}'s front end (and its published weights) is defined at {fixed} Hz "
            f"only, not at preprocess.sample_rate {sample_rate}; set preprocess.sample_rate: "
            f"{fixed}, or use another type"
        )


def check_pretrained(model_type: str, pretrained) -> None:
    """Raise ValueError when `pretrained` asks for weights that cannot fit `model_type`:
    published weights (learn/published.py) of another type, or `true` (torchvision's
    ImageNet resnet18) for a type that has published weights of its own."""
    weights = published(pretrained)
    if weights is not None and weights.fits != model_type:
        raise ValueError(
            f"{pretrained} means {weights.what}, which fits type {weights.fits} only, not "
            f"{model_type}; set type: {weights.fits}, or pretrained: false or the path of a "
            f"{model_type} weights file"
        )
    own = [w.name for w in PUBLISHED_WEIGHTS.values() if w.fits == model_type]
    if pretrained is True and own:
        raise ValueError(
            f"true means torchvision's ImageNet resnet18, which does not fit type "
            f"{model_type}; set pretrained: {' or '.join(own)}, the path of a {model_type} "
            "checkpoint, or false"
        )
