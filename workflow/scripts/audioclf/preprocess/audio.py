"""Stateless audio functions: decode a file, downmix, resample and remove silence."""

from __future__ import annotations

import functools
import math
import os
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
import torchaudio.transforms as T

SILENCE_FRAME_LENGTH = 2048
# Frames quieter than this mean power (-100 dB full scale) are silent whatever the clip's
# loudest frame is, so an all-zero clip is silent rather than "0 dB below itself".
SILENCE_POWER_FLOOR = 1e-10
SILENCE_MODES = ("all", "trim")


class AudioError(ValueError):
    """A file that cannot be used as audio; the message is a short reason for excluded.csv."""


def load_audio(path: str | os.PathLike) -> tuple[torch.Tensor, int]:
    """Decode WAV (16/24/32-bit, float), FLAC or OGG to float32 (channels, samples) and its rate."""
    path = Path(path)
    try:
        data, sample_rate = sf.read(path, dtype="float32", always_2d=True)
    except (sf.SoundFileError, RuntimeError, OSError) as err:
        # Diagnose only after a failure: two stat calls per clip are a real cost for short clips.
        if not path.exists():
            raise AudioError("file missing") from err
        if not path.is_file():
            raise AudioError("not a file") from err
        if not os.access(path, os.R_OK):
            raise AudioError("unreadable (permission denied)") from err
        if isinstance(err, sf.LibsndfileError):
            raise AudioError(f"not an audio file ({err.error_string.strip()})") from err
        if isinstance(err, OSError):
            raise AudioError(f"unreadable ({err.strerror or err})") from err
        raise AudioError(f"not an audio file ({err})") from err
    if data.shape[0] == 0:
        raise AudioError("zero length")
    if not np.isfinite(data).all():
        raise AudioError("non-finite samples (NaN or infinity)")
    return torch.from_numpy(np.ascontiguousarray(data.T)), int(sample_rate)


def to_mono(wave: torch.Tensor) -> torch.Tensor:
    """Mean of the channels of a (channels, samples) wave; a 1-D wave is returned as it is."""
    if wave.dim() == 1:
        return wave
    if wave.dim() != 2:
        raise ValueError(f"expected a (channels, samples) wave, got shape {tuple(wave.shape)}")
    return wave[0] if wave.shape[0] == 1 else wave.mean(dim=0)


# torchaudio's resampler builds one sinc kernel of about (new / g) x 12 (orig / g) values
# (g = gcd of the rates): small for the usual rates (44,100 -> 16,000: 160 x ~5,300), but
# 1.4 GB for 22,254 Hz and several GB for 44,101 or 48,001. Up to this many phases
# (orig / g x new / g) it is used as before; past it, scipy's polyphase FIR, whose filter
# holds 20 taps per phase of the larger side (about 8 MB for 48,001 Hz) and runs in time
# linear in the clip.
TORCHAUDIO_MAX_PHASES = 1_000_000
RESAMPLER_CACHE = 8  # kernels kept: one per rate a dataset mixes, each at most a few MB


def resample(wave: torch.Tensor, orig_sr: int, new_sr: int) -> torch.Tensor:
    """Band-limited resampling along the last axis, in memory and time bounded for any
    pair of rates: torchaudio's (as before) when its kernel is small, else a polyphase
    FIR filter (scipy.signal.resample_poly, Kaiser window)."""
    orig_sr, new_sr = int(orig_sr), int(new_sr)
    if orig_sr == new_sr:
        return wave
    g = math.gcd(orig_sr, new_sr)
    up, down = new_sr // g, orig_sr // g
    if up * down <= TORCHAUDIO_MAX_PHASES:
        with torch.no_grad():
            return _resampler(orig_sr, new_sr, wave.dtype)(wave)
    from scipy.signal import resample_poly  # here: most datasets never need it

    # resample_poly scales the filter it is given in place: hand it a copy of the cached one
    out = resample_poly(wave.numpy(), up, down, axis=-1, window=_fir(up, down).copy())
    return torch.from_numpy(np.ascontiguousarray(out, dtype=np.float32)).to(wave.dtype)


@functools.lru_cache(maxsize=RESAMPLER_CACHE)
def _fir(up: int, down: int) -> np.ndarray:
    """resample_poly's own default filter (Kaiser, beta 5, 10 zero crossings a side),
    designed once per ratio: designing it costs more than filtering a short clip."""
    from scipy.signal import firwin

    half = 10 * max(up, down)
    return firwin(2 * half + 1, 1.0 / max(up, down), window=("kaiser", 5.0))


@functools.lru_cache(maxsize=RESAMPLER_CACHE)
def _resampler(orig_sr: int, new_sr: int, dtype: torch.dtype) -> T.Resample:
    # Building the sinc kernel costs as much as resampling a short clip: build it once per rate.
    return T.Resample(orig_sr, new_sr, dtype=dtype)


def frame_power(wave_1d: np.ndarray, hop: int, frame_length: int = SILENCE_FRAME_LENGTH):
    """Mean power of centred, zero-padded frames every `hop` samples (librosa's rms squared)."""
    half = frame_length // 2
    n_frames = 1 + len(wave_1d) // hop
    energy = np.zeros(len(wave_1d) + 2 * half + 1, dtype=np.float64)
    np.cumsum(np.square(wave_1d, dtype=np.float64), out=energy[half + 1 : half + 1 + len(wave_1d)])
    energy[half + 1 + len(wave_1d) :] = energy[half + len(wave_1d)]
    starts = np.arange(n_frames, dtype=np.int64) * hop
    return (energy[starts + frame_length] - energy[starts]) / frame_length


def non_silent_intervals(
    wave_1d: torch.Tensor, sample_rate: int, top_db: float = 20, pad_ms: float = 20
) -> list[tuple[int, int]]:
    """Sample intervals [start, end) to keep: loud stretches padded by `pad_ms`, merged."""
    if top_db <= 0:
        raise ValueError(f"top_db must be positive, got {top_db}")
    if pad_ms < 0:
        raise ValueError(f"pad_ms must be zero or more, got {pad_ms}")
    samples = wave_1d.detach().cpu().numpy()
    n = len(samples)
    pad = int(pad_ms / 1000 * sample_rate)
    hop = max(pad, 1)
    if n == 0:
        return []
    power = frame_power(samples, hop)
    loud = (power > SILENCE_POWER_FLOOR) & (power > power.max() * 10 ** (-top_db / 10))
    # Runs of loud frames [f0, f1) map to samples [f0 * hop, f1 * hop) as in librosa.effects.split.
    bounded = np.concatenate(([False], loud, [False]))
    edges = np.flatnonzero(bounded[1:] != bounded[:-1])
    runs = np.minimum(edges.reshape(-1, 2) * hop, n)
    intervals: list[tuple[int, int]] = []
    for start, end in runs:
        start, end = max(int(start) - pad, 0), min(int(end) + pad, n)
        if intervals and start <= intervals[-1][1]:
            intervals[-1] = (intervals[-1][0], max(end, intervals[-1][1]))
        else:
            intervals.append((start, end))
    return intervals


def remove_silence(
    wave_1d: torch.Tensor,
    sample_rate: int,
    top_db: float = 20,
    pad_ms: float = 20,
    mode: str = "all",
) -> torch.Tensor:
    """Drop stretches more than `top_db` below the loudest frame, keeping `pad_ms` around sound.

    mode "all" concatenates the kept stretches (leading, trailing and inner silence go);
    mode "trim" keeps everything from the first kept sample to the last. A clip with no
    sound at all comes back empty.
    """
    if mode not in SILENCE_MODES:
        raise ValueError(f"silence removal mode must be one of {SILENCE_MODES}, got {mode!r}")
    if wave_1d.dim() != 1:
        raise ValueError(f"remove_silence needs a 1-D wave, got shape {tuple(wave_1d.shape)}")
    intervals = non_silent_intervals(wave_1d, sample_rate, top_db, pad_ms)
    if not intervals:
        return wave_1d[:0]
    if mode == "trim":
        return wave_1d[intervals[0][0] : intervals[-1][1]]
    if len(intervals) == 1:
        return wave_1d[intervals[0][0] : intervals[0][1]]
    return torch.cat([wave_1d[start:end] for start, end in intervals])
