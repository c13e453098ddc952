"""Stateless audio functions on numpy arrays: decode a file, downmix, resample, remove
silence, and the whole path from one file to its cache samples (`process_clip`). Torch is
not imported here, so predicting with a model.onnx needs numpy and soundfile only."""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import typing
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from audioclf.choices import SILENCE_MODES, TOO_LONG
from audioclf.datasets.files import file_problem

SILENCE_FRAME_LENGTH = 2048
# Frames quieter than this mean power (-100 dB full scale) are silent whatever the clip's
# loudest frame is, so an all-zero clip is silent rather than "0 dB below itself".
SILENCE_POWER_FLOOR = 1e-10
INT16_SCALE = 32767.0
# A clip whose int16 samples, as cached, peak below this is silent: 16-bit dither (sox's
# +-1 LSB, about -90 dBFS) stays under it, so a dithered "silent" file is excluded.
SILENT_PEAK_DBFS = -80.0
SILENT_PEAK = INT16_SCALE * 10 ** (SILENT_PEAK_DBFS / 20)  # 3.3 LSB: a peak of 3 is silent
# A silent clip's sound was removed by a step (the downmix, or resampling) only when it
# was at least this much louder before that step: a stereo file with one channel silent
# and the other just above the floor loses 6 dB to the mean, and is silent, not cancelling.
REMOVED_BY_STEP_DB = 20.0


class AudioError(ValueError):
    """A file that cannot be used as audio; the message is a short reason for excluded.csv."""


READ_BLOCK = 1 << 16  # frames decoded at a time: memory follows the clip kept, not the file
UNKNOWN_FRAMES = 1 << 62  # libsndfile's frame count for a stream of unknown length
# MP3 headers count frames from the Xing/LAME tag, or estimate them: allow this much slack
MP3_SLACK = (1152, 0.01)  # one MPEG frame, or 1% of the clip
HEADER_SLACK = (64, 0.001)  # other formats: 64 frames (a header over by a chunk), or 0.1%


def load_audio(
    path: str | os.PathLike,
    max_seconds: float | None = None,
    too_long: str = "exclude",
    mono: bool = False,
    info: dict | None = None,
) -> tuple[np.ndarray, int]:
    """Decode any format libsndfile reads to float32 (channels, samples), or (samples,)
    downmixed with `mono`, and its rate; AudioError with a short reason otherwise.

    The file is decoded in blocks into an array of the clip's final size, so memory
    follows what is kept. A file that decodes to fewer frames than its header promises
    (a WAV's data chunk, a FLAC's or MP3's frame count) is "truncated (N of M frames)"; a
    decoder error midway names how far it got. A file longer than `max_seconds` is an
    AudioError (`too_long: exclude`) or read up to max_seconds (`cut`; `info["cut"]` is
    then set True). `info["peak"]` is the largest magnitude of any channel,
    `info["mono_peak"]` that of their mean (the downmix, at the file's rate) and
    `info["channels"]` their number, so a caller can tell a silent file from one whose
    channels cancel in the downmix or whose sound resampling removed.
    """
    if too_long not in TOO_LONG:
        raise ValueError(f"too_long must be one of {TOO_LONG}, got {too_long!r}")
    path = Path(path)
    try:
        handle = sf.SoundFile(path)
    except (sf.SoundFileError, RuntimeError, OSError) as err:
        raise _open_error(path, err) from err
    with handle:
        rate, channels = int(handle.samplerate), int(handle.channels)
        held = int(handle.frames)  # what libsndfile finds in the file (an MP3's: estimated)
        known = 0 < held < UNKNOWN_FRAMES
        cap = None if max_seconds is None else int(max_seconds * rate)
        if known and cap is not None and held > cap and too_long == "exclude":
            raise AudioError(f"longer than max_seconds ({held / rate:.1f} s > {max_seconds:g} s)")
        # what the header promises: the larger of libsndfile's count and a WAV's data chunk
        expected = max(held, _wav_declared_frames(path, handle) or 0) if known else None
        limit = min(held, cap) if known and cap is not None else held if known else cap
        out, done, peak, mono_peak = _decode(handle, channels, mono, limit)
    if done == 0:
        raise AudioError("zero length")
    if cap is not None and done > cap:  # a stream of unknown length ran past the cap
        if too_long == "exclude":
            raise AudioError(f"longer than max_seconds (> {max_seconds:g} s)")
        out, done = out[..., :cap], cap
    cut = cap is not None and done == cap and (not known or held > cap)
    if info is not None:
        info.update(cut=cut, peak=peak, mono_peak=mono_peak, channels=channels)
    if expected is not None and not cut and _short(done, expected, handle.format):
        raise AudioError(f"truncated ({done} of {expected} frames)")
    return np.ascontiguousarray(out[..., :done]), rate


def _decode(handle: sf.SoundFile, channels: int, mono: bool, limit: int | None):
    """(samples, frames decoded, peak magnitude over every channel, peak magnitude of the
    channels' mean): block by block up to
    `limit` frames, or to the file's end (one frame past `limit` when the length is
    unknown, so a caller sees it ran over)."""
    if limit is not None and handle.frames < UNKNOWN_FRAMES:
        out = np.empty((limit,) if mono else (channels, limit), dtype=np.float32)
    else:  # unknown length: blocks are collected, then joined
        out = None
    blocks, done, peak, mono_peak = [], 0, 0.0, 0.0
    while limit is None or done < limit + (out is None):
        want = READ_BLOCK if limit is None else min(READ_BLOCK, limit + (out is None) - done)
        try:
            block = handle.read(want, dtype="float32", always_2d=True)
        except (sf.SoundFileError, RuntimeError) as err:
            detail = getattr(err, "error_string", str(err)).strip()
            whole = f" of {handle.frames}" if handle.frames < UNKNOWN_FRAMES else ""
            raise AudioError(f"decoding failed (after {done}{whole} frames: {detail})") from err
        got = len(block)
        if got and not np.isfinite(block).all():
            raise AudioError("non-finite samples (NaN or infinity)")
        if got:
            peak = max(peak, float(np.abs(block).max()))
            mixed = block[:, 0] if channels == 1 else _downmix(block)
            mono_peak = max(mono_peak, float(np.abs(mixed).max()))
            samples = mixed if mono else block.T
            if out is None:
                blocks.append(np.array(samples, dtype=np.float32))
            else:
                out[..., done : done + got] = samples
        done += got
        if got < want:
            break
    if out is None:
        shape = (0,) if mono else (channels, 0)
        out = np.concatenate(blocks, axis=-1) if blocks else np.empty(shape, np.float32)
    return out, done, peak, mono_peak


def _short(done: int, expected: int, file_format: str) -> bool:
    """Whether `done` of `expected` frames is a truncated file, allowing the slack of the
    format's frame count (an MP3's is often an estimate; a WAV header may over-declare
    its data by a few bytes)."""
    frames, share = MP3_SLACK if file_format == "MP3" else HEADER_SLACK
    return expected - done > max(frames, share * expected)


def _downmix(block: np.ndarray) -> np.ndarray:
    # a (frames, channels) block as to_mono mixes the (channels, frames) wave
    return to_mono(block.T)


def _open_error(path: Path, err: Exception) -> AudioError:
    # Diagnose only after a failure: two stat calls per clip are a real cost for short clips.
    if not path.exists():
        return AudioError("file missing")
    if not path.is_file():
        return AudioError("not a file")
    if not os.access(path, os.R_OK):
        return AudioError("unreadable (permission denied)")
    if isinstance(err, sf.LibsndfileError):
        return AudioError(f"not an audio file ({err.error_string.strip()})")
    if isinstance(err, OSError):
        return AudioError(f"unreadable ({err.strerror or err})")
    return AudioError(f"not an audio file ({err})")


def _wav_declared_frames(path: Path, handle: sf.SoundFile) -> int | None:
    """The frames a WAV's data chunk declares (libsndfile reports what the file holds, so a
    cut-off WAV looks complete to it); None for other formats or an unknown size."""
    if handle.format not in ("WAV", "WAVEX"):
        return None
    with open(path, "rb") as raw:
        head = raw.read(12)
        if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        block_align = None
        for _ in range(64):  # chunks before the data: fmt, fact, LIST, ...
            chunk = raw.read(8)
            if len(chunk) < 8:
                return None
            kind, size = chunk[:4], int.from_bytes(chunk[4:], "little")
            if kind == b"fmt ":
                block_align = int.from_bytes(raw.read(size)[12:14], "little")
                raw.seek(size % 2, 1)
            elif kind == b"data":
                if not block_align or size == 0 or size >= 0x7FFF0000:
                    return None  # a streamed WAV's placeholder (sox: 0x7FFFF000; 0xFFFFFFFF)
                return size // block_align
            else:
                raw.seek(size + size % 2, 1)
    return None


def to_mono(wave) -> np.ndarray:
    """Mean of the channels of a (channels, samples) wave, summed in channel order in
    float32; a 1-D wave is returned as it is."""
    wave = np.asarray(wave)
    if wave.ndim == 1:
        return wave
    if wave.ndim != 2:
        raise ValueError(f"expected a (channels, samples) wave, got shape {tuple(wave.shape)}")
    if wave.shape[0] == 1:
        return wave[0]
    total = wave[0].astype(np.float32)  # a copy: the sum below writes into it
    for channel in wave[1:]:
        total += channel
    return total / np.float32(wave.shape[0])


# The sinc kernel holds about (new / g) x 12 (orig / g) values (g = gcd of the rates): small
# for the usual rates (44,100 -> 16,000: 160 x ~475), but 1.4 GB for 22,254 Hz and several
# GB for 44,101 or 48,001. Up to this many phases (orig / g x new / g) it is used; past it,
# scipy's polyphase FIR, whose filter holds 20 taps per phase of the larger side (about 8 MB
# for 48,001 Hz) and runs in time linear in the clip.
SINC_MAX_PHASES = 1_000_000
RESAMPLER_CACHE = 8  # kernels kept: one per rate a dataset mixes, each at most a few MB
# torchaudio.functional.resample's defaults, which the sinc kernel reproduces
LOWPASS_FILTER_WIDTH = 6
ROLLOFF = 0.99


def resample(wave, orig_sr: int, new_sr: int) -> np.ndarray:
    """Band-limited float32 resampling along the last axis, in memory and time bounded for
    any pair of rates: torchaudio.functional.resample's windowed sinc (sinc_interp_hann,
    its defaults) when its kernel is small, else a polyphase FIR filter
    (scipy.signal.resample_poly, Kaiser window)."""
    orig_sr, new_sr = int(orig_sr), int(new_sr)
    if orig_sr == new_sr:
        return wave
    wave = np.asarray(wave, dtype=np.float32)
    g = math.gcd(orig_sr, new_sr)
    up, down = new_sr // g, orig_sr // g
    if up * down <= SINC_MAX_PHASES:
        return _sinc_resample(wave, down, up)
    from scipy.signal import resample_poly  # here: most datasets never need it

    # resample_poly scales the filter it is given in place: hand it a copy of the cached one
    out = resample_poly(wave, up, down, axis=-1, window=_fir(up, down).copy())
    return np.ascontiguousarray(out, dtype=np.float32)


def _sinc_resample(wave: np.ndarray, orig: int, new: int) -> np.ndarray:
    """torchaudio's _apply_sinc_resample_kernel: the wave, zero-padded, cut into frames
    `orig` apart, each frame times every phase of the kernel (`new` output samples), cut
    to ceil(new x length / orig)."""
    kernel = _sinc_kernel(orig, new)
    width = (kernel.shape[1] - orig) // 2
    length = wave.shape[-1]
    rows = wave.reshape(-1, length)
    padded = np.pad(rows, ((0, 0), (width, width + orig)))
    frames = np.lib.stride_tricks.sliding_window_view(padded, kernel.shape[1], axis=-1)
    # float32 frames x kernel in one matrix product, as torch's conv1d computes it. On one
    # BLAS thread: OpenBLAS rounds differently when it splits the product over threads,
    # so samples would depend on the cores (and a worker's threads would fight the others').
    with _blas().limit(limits=1, user_api="blas"):
        out = (frames[:, ::orig] @ kernel.T).reshape(rows.shape[0], -1)
    out = out[:, : math.ceil(new * length / orig)]
    return np.ascontiguousarray(out.reshape(wave.shape[:-1] + out.shape[-1:]))


@functools.cache
def _blas():
    """The BLAS libraries loaded (numpy's OpenBLAS), whose threads resampling limits."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


@functools.lru_cache(maxsize=RESAMPLER_CACHE)
def _sinc_kernel(orig: int, new: int) -> np.ndarray:
    """torchaudio's _get_sinc_resample_kernel (sinc_interp_hann) for a float32 wave, a
    (new, 2 x width + orig) float32 array, by the same float32 operations in the same
    order; only sin and cos are taken in float64 and rounded (torch's own float32 ones
    may differ from it by one unit in the last place). Built once per rate pair: it costs
    as much as resampling a short clip."""
    f32 = np.float32
    base = min(orig, new) * ROLLOFF
    width = math.ceil(LOWPASS_FILTER_WIDTH * orig / base)
    idx = np.arange(-width, width + orig, dtype=f32)[None, :] / f32(orig)
    t = np.arange(0, -new, -1, dtype=f32)[:, None] / f32(new) + idx
    t = np.clip(t * f32(base), -LOWPASS_FILTER_WIDTH, LOWPASS_FILTER_WIDTH)
    angle = t * f32(math.pi) / f32(LOWPASS_FILTER_WIDTH) / f32(2)
    window = np.cos(angle.astype(np.float64)).astype(f32) ** 2
    t = t * f32(math.pi)
    sine = np.sin(t.astype(np.float64)).astype(f32)
    kernel = np.where(t == 0, f32(1), sine / np.where(t == 0, f32(1), t))
    return kernel * (window * f32(base / orig))


@functools.lru_cache(maxsize=RESAMPLER_CACHE)
def _fir(up: int, down: int) -> np.ndarray:
    """resample_poly's own default filter (Kaiser, beta 5, 10 zero crossings a side),
    designed once per ratio: designing it costs more than filtering a short clip."""
    from scipy.signal import firwin

    half = 10 * max(up, down)
    return firwin(2 * half + 1, 1.0 / max(up, down), window=("kaiser", 5.0))


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
    wave_1d, sample_rate: int, top_db: float = 20, pad_ms: float = 20
) -> list[tuple[int, int]]:
    """Sample intervals [start, end) to keep: loud stretches padded by `pad_ms`, merged."""
    if top_db <= 0:
        raise ValueError(f"top_db must be positive, got {top_db}")
    if pad_ms < 0:
        raise ValueError(f"pad_ms must be zero or more, got {pad_ms}")
    samples = np.asarray(wave_1d)
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
    wave_1d,
    sample_rate: int,
    top_db: float = 20,
    pad_ms: float = 20,
    mode: str = "all",
) -> np.ndarray:
    """Drop stretches more than `top_db` below the loudest frame, keeping `pad_ms` around sound.

    mode "all" concatenates the kept stretches (leading, trailing and inner silence go);
    mode "trim" keeps everything from the first kept sample to the last. A clip with no
    sound at all comes back empty.
    """
    if mode not in SILENCE_MODES:
        raise ValueError(f"silence removal mode must be one of {SILENCE_MODES}, got {mode!r}")
    wave_1d = np.asarray(wave_1d)
    if wave_1d.ndim != 1:
        raise ValueError(f"remove_silence needs a 1-D wave, got shape {tuple(wave_1d.shape)}")
    intervals = non_silent_intervals(wave_1d, sample_rate, top_db, pad_ms)
    if not intervals:
        return wave_1d[:0]
    if mode == "trim":
        return wave_1d[intervals[0][0] : intervals[-1][1]]
    if len(intervals) == 1:
        return wave_1d[intervals[0][0] : intervals[0][1]]
    return np.concatenate([wave_1d[start:end] for start, end in intervals])


def to_int16(wave) -> np.ndarray:
    """Float audio in [-1, 1] to int16, clipping what resampling pushed past full scale."""
    scaled = np.clip(np.asarray(wave, dtype=np.float32), -1.0, 1.0) * np.float32(INT16_SCALE)
    return np.round(scaled).astype(np.int16)


def peak_dbfs(peak: float) -> float:
    """A peak magnitude (full scale 1) in dB full scale; -inf for 0."""
    return 20 * math.log10(peak) if peak > 0 else -math.inf


@dataclass(frozen=True)
class ClipSettings:
    """How every clip is turned into cache samples."""

    sample_rate: int = 16000
    top_db: float = 20
    pad_ms: float = 20
    mode: str = "all"
    max_seconds: float = 600.0  # longer files are excluded, or cut there (too_long)
    too_long: str = "exclude"
    min_ms: float = 10.0  # shorter clips are excluded as too short

    def __post_init__(self) -> None:
        problems = []
        if self.max_seconds <= 0:
            problems.append(f"max_seconds must be positive, got {self.max_seconds}")
        if self.too_long not in TOO_LONG:
            problems.append(f"too_long must be one of {list(TOO_LONG)}, got {self.too_long!r}")
        if self.sample_rate <= 0:
            problems.append(f"sample_rate must be a positive number of Hz, got {self.sample_rate}")
        if self.top_db <= 0:
            problems.append(f"top_db must be positive, got {self.top_db}")
        if self.pad_ms < 0:
            problems.append(f"pad_ms must be zero or more, got {self.pad_ms}")
        if self.mode not in SILENCE_MODES:
            problems.append(f"mode must be one of {list(SILENCE_MODES)}, got {self.mode!r}")
        if self.min_ms < 0:
            problems.append(f"min_ms must be zero or more, got {self.min_ms}")
        if problems:
            raise ValueError("preprocess settings: " + "; ".join(problems))

    @classmethod
    def from_record(cls, record: dict, **given) -> ClipSettings:
        """The settings as a cache recorded them (`dataclasses.asdict` of one: the cache's
        `settings`, model.pt's "preprocess"), each one it lacks at its default and each
        `given` one that is not None in its place; every value cast to its field's type."""
        types = typing.get_type_hints(cls)
        values = {}
        for setting in dataclasses.fields(cls):
            value = given.get(setting.name)
            if value is None:
                value = record.get(setting.name, setting.default)
            values[setting.name] = types[setting.name](value)
        return cls(**values)


@dataclass
class ClipResult:
    """One processed clip: int16 samples and its length before trimming, or why it is unusable."""

    samples: np.ndarray | None
    original_seconds: float
    reason: str | None = None
    cut: bool = False  # read only up to max_seconds


def process_clip(path: str | os.PathLike, settings: ClipSettings) -> ClipResult:
    """Decode, downmix, resample, trim and quantise one file to its cache samples; an
    unusable file (unreadable, shorter than min_ms, silent) gives its reason instead, the
    words excluded.csv and predict show."""
    read: dict = {}  # load_audio says there whether it cut the file, and its peaks
    problem = file_problem(path)  # a FIFO, a device or a dangling symlink is never opened
    if problem:
        return ClipResult(None, float("nan"), problem)
    try:
        wave, sample_rate = load_audio(
            path, settings.max_seconds, settings.too_long, mono=True, info=read
        )
    except AudioError as err:
        return ClipResult(None, float("nan"), str(err))
    except OSError as err:  # one file's OS error is that file's exclusion, not the run's end
        return ClipResult(None, float("nan"), f"unreadable ({err.strerror or err})")
    original_seconds = wave.shape[-1] / sample_rate
    if original_seconds * 1000 < settings.min_ms:
        return ClipResult(None, original_seconds, _too_short(original_seconds, settings))
    mono = resample(wave, sample_rate, settings.sample_rate)
    del wave
    trimmed = remove_silence(
        mono, settings.sample_rate, settings.top_db, settings.pad_ms, settings.mode
    )
    # int16 crosses the process boundary: half the bytes of float32, and the cache's own type.
    samples = to_int16(trimmed)
    silent = _silence_reason(samples, mono, read, sample_rate, settings.sample_rate)
    if silent:
        return ClipResult(None, original_seconds, silent)
    if len(samples) * 1000 < settings.min_ms * settings.sample_rate:
        reason = _too_short(len(samples) / settings.sample_rate, settings, " after trimming")
        return ClipResult(None, original_seconds, reason)
    return ClipResult(samples, original_seconds, cut=bool(read.get("cut")))


def _silence_reason(
    samples: np.ndarray, mono: np.ndarray, read: dict, file_rate: int, rate: int
) -> str | None:
    """Why a clip is silent, judged on int16 samples against SILENT_PEAK, or None. The mono
    clip `mono` (resampled to `rate`, before trimming) is that quiet: because its channels
    cancel in their mean (at least two channels, the mean under the floor at the file's
    rate while a channel peaks REMOVED_BY_STEP_DB above it; load_audio's `read` peaks),
    because resampling from `file_rate` removed a sound above the floor, or because the
    file is that quiet. Else trimming left cache samples `samples` that are (or none)."""
    mono_peak = _int16_peak(mono)
    if mono_peak < SILENT_PEAK:
        channel, mixed = read["peak"], read["mono_peak"]
        mixed_silent = _int16_peak(mixed) < SILENT_PEAK
        if (
            mixed_silent
            and read["channels"] >= 2
            and _int16_peak(channel) >= SILENT_PEAK
            and peak_dbfs(channel) - peak_dbfs(mixed) >= REMOVED_BY_STEP_DB
        ):
            return (
                f"silent after mixing to mono (the channels peak at "
                f"{peak_dbfs(channel):.0f} dBFS but cancel in their mean)"
            )
        if not mixed_silent and (
            peak_dbfs(mixed) - peak_dbfs(mono_peak / INT16_SCALE) >= REMOVED_BY_STEP_DB
        ):
            return (
                f"silent at {rate} Hz (its sound, peak {peak_dbfs(mixed):.0f} dBFS at "
                f"{file_rate} Hz, lies above the {min(rate, file_rate) / 2:g} Hz that "
                "resampling keeps)"
            )
        if mono_peak == 0:
            return "silent (every sample is zero)"
        return (
            f"silent (peak {peak_dbfs(mono_peak / INT16_SCALE):.0f} dBFS, under "
            f"{SILENT_PEAK_DBFS:g} dBFS)"
        )
    if not len(samples) or np.abs(samples.astype(np.int32)).max() < SILENT_PEAK:
        return "silent after trimming"
    return None


def _int16_peak(wave) -> int:
    """The largest magnitude of `wave` (full scale 1) as an int16 sample, as to_int16 rounds it."""
    wave = np.asarray(wave, dtype=np.float32)
    if wave.size == 0:
        return 0
    return max(abs(int(to_int16(wave.max()))), abs(int(to_int16(wave.min()))))


def _too_short(seconds: float, settings: ClipSettings, when: str = "") -> str:
    ms = seconds * 1000
    return f"too short{when} ({ms:.3g} ms, under preprocess.min_ms {settings.min_ms:g} ms)"
