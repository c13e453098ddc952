"""A synthetic, FSDKaggle2018-shaped dataset whose labels each have their own sound."""

from __future__ import annotations

import functools
import hashlib
import os
import wave
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from audioclf.datasets.fsdkaggle import AUDIO_DIRS, META_DIR, TEST_CSVS, TRAIN_CSV
from audioclf.datasets.kinds import DEMO_LABELS
from audioclf.io import write_csv

TRAIN_DIR, TEST_DIR = AUDIO_DIRS["train"], AUDIO_DIRS["test"]
TEST_CSV = TEST_CSVS[1]  # the full Kaggle table, padding rows included
PADDING_LABEL = "None"
LICENSES = ("Attribution", "Creative Commons 0", "Attribution Noncommercial")
LICENSE_WEIGHTS = (0.6, 0.395, 0.005)
TABLE_SIZE = 2048
NOISE_BANK_SIZE = 2**19
LOWPASS_CUTOFFS = (500, 800, 1300, 2000, 3200, 5000, 8000)
INTERFERENCE_PROBABILITY = 0.25
SPLIT_KEYS = {"train": 1, "test": 2, "padding": 3}

Bout = Callable[[np.random.Generator, int, int], np.ndarray]


def stable_hash(text: str) -> int:
    """A 32-bit hash of `text` that is the same in every process and Python version."""
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:4], "little")


# --- building blocks ------------------------------------------------------------------------


def _harmonic_table(amplitudes: np.ndarray) -> np.ndarray:
    """One period of a waveform with the given harmonic amplitudes, peak 1."""
    x = np.arange(TABLE_SIZE) / TABLE_SIZE
    k = np.arange(1, len(amplitudes) + 1)[:, None]
    table = (amplitudes[:, None] * np.sin(2 * np.pi * k * x)).sum(axis=0)
    return (table / np.abs(table).max()).astype(np.float32)


def _play(table: np.ndarray, cycles: np.ndarray) -> np.ndarray:
    """Read a wavetable at the given phases (in cycles): a cheap oscillator of any pitch curve."""
    return table[(cycles * TABLE_SIZE).astype(np.int64) & (TABLE_SIZE - 1)]


def _seconds(n: int, sr: int) -> np.ndarray:
    return np.arange(n, dtype=np.float32) / np.float32(sr)


def _vibrato_cycles(t: np.ndarray, f0: float, depth: float, rate_hz: float) -> np.ndarray:
    """Phase of f0 * (1 + depth * sin(2 pi rate t)), integrated in closed form (no cumsum)."""
    w = np.float32(2 * np.pi * rate_hz)
    return np.float32(f0) * (t + np.float32(depth) / w * (1 - np.cos(w * t)))


def _glide_cycles(t: np.ndarray, f_start: float, f_end: float) -> np.ndarray:
    """Phase of a pitch moving linearly from f_start to f_end over t."""
    duration = max(float(t[-1]), 1e-6) if len(t) else 1.0
    slope = np.float32((f_end - f_start) / (2 * duration))
    return t * (np.float32(f_start) + slope * t)


def _envelope(n: int, sr: int, attack_s: float, release_s: float) -> np.ndarray:
    """Linear attack, flat sustain, linear release over n samples."""
    env = np.ones(n, dtype=np.float32)
    attack = min(n, max(1, int(attack_s * sr)))
    release = min(n - attack, int(release_s * sr))
    env[:attack] = np.linspace(0, 1, attack, endpoint=False, dtype=np.float32)
    if release > 0:
        env[n - release :] *= np.linspace(1, 0, release, dtype=np.float32)
    return env


def _decay(n: int, sr: int, tau_s: float) -> np.ndarray:
    return np.exp(np.arange(n, dtype=np.float32) * np.float32(-1 / (tau_s * sr)))


@functools.cache
def _noise_bank(cutoff_hz: float | None, sr: int) -> np.ndarray:
    """A long read-only stretch of unit-RMS noise, white or one-pole low-passed.

    Generating and filtering fresh noise for every event is most of the cost of a clip, so
    events take random slices of one bank instead; it is fixed, so clips stay deterministic.
    """
    rng = np.random.default_rng(stable_hash("demo noise bank"))
    noise = rng.standard_normal(NOISE_BANK_SIZE, dtype=np.float32)
    if cutoff_hz is not None:
        # A one-pole low-pass applied circularly in the frequency domain: the bank wraps
        # around without a seam when a long clip tiles it.
        a = np.exp(-2 * np.pi * cutoff_hz / sr)
        w = 2 * np.pi * np.fft.rfftfreq(NOISE_BANK_SIZE)
        response = (1 - a) / (1 - a * np.exp(-1j * w))
        noise = np.fft.irfft(np.fft.rfft(noise) * response, NOISE_BANK_SIZE).astype(np.float32)
        noise /= np.sqrt(np.mean(np.square(noise)))
    noise.flags.writeable = False
    return noise


def _noise(rng: np.random.Generator, n: int, sr: int, cutoff_hz: float | None = None):
    """n samples of unit-RMS noise (read-only), low-passed near cutoff_hz if given."""
    if cutoff_hz is not None:
        cutoff_hz = min(LOWPASS_CUTOFFS, key=lambda c: abs(np.log(c / cutoff_hz)))
    bank = _noise_bank(cutoff_hz, sr)
    start = int(rng.integers(0, len(bank) - min(n, len(bank)) + 1))
    if n <= len(bank):
        return bank[start : start + n]
    return np.resize(bank, n)


def _add_hiss(clip: np.ndarray, rng: np.random.Generator, sr: int, level: float) -> None:
    """Add white noise of RMS `level` to clip in place, a bank's length at a time."""
    bank = _noise_bank(None, sr)
    for start in range(0, len(clip), len(bank)):
        piece = clip[start : start + len(bank)]
        offset = int(rng.integers(0, len(bank) - len(piece) + 1))
        piece += bank[offset : offset + len(piece)] * np.float32(level)


def _fit(event: np.ndarray, max_n: int, sr: int) -> np.ndarray:
    """Cut an event to max_n samples with a 5 ms fade so the cut does not click."""
    if len(event) <= max_n:
        return event
    event = event[:max_n].copy()
    fade = min(max_n, int(0.005 * sr))
    event[max_n - fade :] *= np.linspace(1, 0, fade, dtype=np.float32)
    return event


def _train(events: Sequence[tuple[int, np.ndarray]], max_n: int) -> np.ndarray:
    """Lay (start, event) pairs on one track no longer than max_n."""
    end = min(max_n, max(start + len(event) for start, event in events))
    out = np.zeros(end, dtype=np.float32)
    for start, event in events:
        if start < end:
            piece = event[: end - start]
            out[start : start + len(piece)] += piece
    return out


def _repeat(rng, sr, max_n, count, interval_s, make_event) -> np.ndarray:
    """`count` events from make_event(i), each started `interval_s` (jittered) after the last."""
    events, start = [], 0
    for i in range(count):
        if start >= max_n:
            break
        events.append((start, _fit(make_event(i), max_n - start, sr)))
        start += int(interval_s * rng.uniform(0.8, 1.25) * sr)
    return _train(events, max_n)


# --- the five characters --------------------------------------------------------------------


def knock_bout(rng: np.random.Generator, sr: int, max_n: int) -> np.ndarray:
    """Short decaying resonant impacts: a few modes of one surface, struck several times."""
    base = rng.uniform(110, 700)
    modes = base * np.array([1.0, rng.uniform(2.2, 2.9), rng.uniform(3.8, 5.2)])
    gains = np.array([1.0, rng.uniform(0.3, 0.8), rng.uniform(0.1, 0.5)])
    tau = rng.uniform(0.008, 0.045)
    sine = _harmonic_table(np.ones(1))  # cheap: one harmonic

    def knock(_: int) -> np.ndarray:
        n = int(6 * tau * sr)
        t = _seconds(n, sr)
        ring = sum(
            np.float32(g) * _play(sine, np.float32(f) * t + np.float32(rng.random()))
            for f, g in zip(modes, gains, strict=True)
        )
        click = _noise(rng, n, sr) * _decay(n, sr, 0.0015) * np.float32(rng.uniform(0.3, 1.0))
        return (ring + click) * _decay(n, sr, tau) * np.float32(rng.uniform(0.6, 1.0))

    return _repeat(rng, sr, max_n, rng.integers(2, 7), rng.uniform(0.09, 0.35), knock)


def trumpet_bout(rng: np.random.Generator, sr: int, max_n: int) -> np.ndarray:
    """Harmonic tones with vibrato: a short phrase of bright, brassy notes."""
    harmonics = np.arange(1, 13)
    brightness = rng.uniform(0.5, 1.2)
    table = _harmonic_table(harmonics**-brightness * (1 + 0.8 * (harmonics <= 4)))
    root = rng.uniform(-7, 10)

    def note(_: int) -> np.ndarray:
        n = int(rng.uniform(0.25, 1.4) * sr)
        f0 = 261.6 * 2 ** ((root + rng.integers(-3, 8)) / 12)
        t = _seconds(n, sr)
        tone = _play(table, _vibrato_cycles(t, f0, rng.uniform(0.004, 0.02), rng.uniform(4.5, 7)))
        breath = _noise(rng, n, sr, 3000) * np.float32(rng.uniform(0.01, 0.06))
        return (tone + breath) * _envelope(n, sr, rng.uniform(0.02, 0.08), rng.uniform(0.04, 0.15))

    return _repeat(rng, sr, max_n, rng.integers(1, 5), rng.uniform(0.3, 1.2), note)


def bark_bout(rng: np.random.Generator, sr: int, max_n: int) -> np.ndarray:
    """Short pitched noisy bursts whose pitch falls through each bark."""
    table = _harmonic_table(np.arange(1, 11) ** -rng.uniform(0.6, 1.2))
    pitch = rng.uniform(280, 850)
    noisiness = np.float32(rng.uniform(0.35, 0.8))

    def bark(_: int) -> np.ndarray:
        n = int(rng.uniform(0.07, 0.25) * sr)
        start = pitch * rng.uniform(0.9, 1.1)
        voiced = _play(
            table, _glide_cycles(_seconds(n, sr), start, start * rng.uniform(0.55, 0.85))
        )
        rough = _noise(rng, n, sr, rng.uniform(1500, 5000))
        x = np.linspace(0, 1, n, dtype=np.float32)
        shape = x**0.25 * (1 - x) ** 1.6
        return ((1 - noisiness) * voiced + noisiness * rough * (0.6 + 0.4 * voiced)) * shape

    return _repeat(rng, sr, max_n, rng.integers(1, 5), rng.uniform(0.2, 0.5), bark)


def cough_bout(rng: np.random.Generator, sr: int, max_n: int) -> np.ndarray:
    """Broadband bursts with a sharp attack, then a darker, weakly voiced tail."""
    table = _harmonic_table(np.arange(1, 7) ** -1.5)

    def cough(_: int) -> np.ndarray:
        burst_n = int(rng.uniform(0.03, 0.08) * sr)
        tail_n = int(rng.uniform(0.1, 0.35) * sr)
        attack = _envelope(burst_n, sr, 0.002, 0) * _decay(burst_n, sr, rng.uniform(0.015, 0.04))
        burst = _noise(rng, burst_n, sr) * attack
        voicing = _play(table, _seconds(tail_n, sr) * np.float32(rng.uniform(110, 260)))
        tail = _noise(rng, tail_n, sr, rng.uniform(800, 2500)) + voicing * rng.uniform(0, 0.4)
        tail *= _decay(tail_n, sr, 0.08) * np.float32(0.35 * attack[-1] / attack.max())
        return np.concatenate([burst, tail])

    return _repeat(rng, sr, max_n, rng.integers(1, 4), rng.uniform(0.3, 0.7), cough)


def laughter_bout(rng: np.random.Generator, sr: int, max_n: int) -> np.ndarray:
    """Rhythmic voiced syllables ("ha-ha-ha") with breathy onsets and falling pitch."""
    harmonics = np.arange(1, 16)
    f0 = rng.uniform(170, 380)
    formant = rng.uniform(650, 1100)
    gains = np.exp(-(((harmonics * f0 - formant) / 500) ** 2)) + 0.3 / harmonics
    table = _harmonic_table(gains)
    period = 1 / rng.uniform(3.8, 6.5)
    duty = rng.uniform(0.45, 0.75)
    syllables = rng.integers(3, 11)

    def syllable(i: int) -> np.ndarray:
        n = int(period * duty * rng.uniform(0.85, 1.15) * sr)
        pitch = f0 * (1 - 0.025 * i)
        voiced = _play(table, _glide_cycles(_seconds(n, sr), pitch * 1.05, pitch * 0.95))
        breath = _noise(rng, n, sr, 2500) * _decay(n, sr, 0.03) * np.float32(rng.uniform(0.3, 1))
        shape = np.abs(np.sin(np.linspace(0, np.pi, n, dtype=np.float32))) ** 0.7
        return (voiced + breath) * shape * np.float32(1 - 0.04 * i)

    return _repeat(rng, sr, max_n, syllables, period, syllable)


def generic_bout_maker(label: str) -> Bout:
    """A timbre of its own for any other label, fixed by a hash of the label's name."""
    params = np.random.default_rng(stable_hash(label))
    f0 = float(np.exp(params.uniform(np.log(80), np.log(1500))))
    table = _harmonic_table(np.arange(1, params.integers(2, 17)) ** -params.uniform(0.4, 2.5))
    noisiness = np.float32(params.uniform(0, 0.9))
    cutoff = params.uniform(500, 8000)
    length_s = params.uniform(0.05, 0.9)
    tau_s = params.choice([params.uniform(0.01, 0.2), np.inf])
    interval_s = length_s * params.uniform(1.1, 2.5)
    max_count = int(params.integers(1, 7))

    def event(rng: np.random.Generator, sr: int) -> np.ndarray:
        n = max(1, int(length_s * rng.uniform(0.7, 1.3) * sr))
        tone = _play(table, _seconds(n, sr) * np.float32(f0 * rng.uniform(0.9, 1.1)))
        noise = _noise(rng, n, sr, cutoff)
        env = _envelope(n, sr, 0.005, 0.02)
        if np.isfinite(tau_s):
            env *= _decay(n, sr, tau_s)
        return ((1 - noisiness) * tone + noisiness * noise) * env

    def bout(rng: np.random.Generator, sr: int, max_n: int) -> np.ndarray:
        count = rng.integers(1, max_count + 1)
        return _repeat(rng, sr, max_n, count, interval_s, lambda _: event(rng, sr))

    return bout


# each of DEMO_LABELS (the demo's labels for `labels: all`) with its own sound, in that order
CHARACTERS: dict[str, Bout] = dict(
    zip(DEMO_LABELS, (bark_bout, cough_bout, knock_bout, laughter_bout, trumpet_bout), strict=True)
)


def bout_maker(label: str) -> Bout:
    """The sound of `label`: its own character if it has one, else one derived from its name."""
    return CHARACTERS.get(label) or generic_bout_maker(label)


# --- clips and the dataset ------------------------------------------------------------------


def synthesize_clip(
    rng: np.random.Generator, bout: Bout, n: int, sr: int, interferers: Sequence[Bout] = ()
) -> np.ndarray:
    """A 16-bit clip of n samples: silence, bouts of sound with silence between, silence; hiss.

    A quarter of the clips also hold one quieter bout of another label (`interferers`), as
    real recordings do, so that no classifier is trivially perfect.
    """
    clip = np.zeros(n, dtype=np.float32)
    cursor = int(n * rng.uniform(0.04, 0.2))
    end = n - int(n * rng.uniform(0.04, 0.2))
    start = cursor
    while True:
        sound = bout(rng, sr, end - cursor)
        clip[cursor : cursor + len(sound)] += sound * np.float32(10 ** (rng.uniform(-8, 0) / 20))
        cursor += len(sound) + int(rng.uniform(0.2, 1.6) * sr)
        if cursor >= end - int(0.05 * sr):
            break
    if interferers and rng.random() < INTERFERENCE_PROBABILITY:
        other = interferers[int(rng.integers(len(interferers)))](rng, sr, end - start)
        at = start + int(rng.integers(0, end - start - len(other) + 1))
        gain = 10 ** (rng.uniform(-18, -6) / 20) * np.abs(clip).max() / (np.abs(other).max() or 1)
        clip[at : at + len(other)] += other * np.float32(gain)
    loudness = 10 ** (rng.uniform(-22, -1) / 20)
    peak = max(float(clip.max()), -float(clip.min())) or 1.0
    clip *= np.float32(32767 * loudness / peak)
    # Hiss 40-65 dB below the peak: silence for the trimmer, but never digital zero.
    _add_hiss(clip, rng, sr, 32767 * loudness * 10 ** (rng.uniform(-65, -40) / 20))
    return np.rint(clip, out=clip).astype(np.int16)


def write_wav(path: Path, pcm: np.ndarray, sample_rate: int) -> None:
    """A 16-bit mono WAV (the stdlib writer: libsndfile would fsync every file, 10x slower)."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(pcm.astype("<i2").tobytes())


def _check_arguments(
    labels, distractor_labels, counts: dict[str, int], min_seconds, max_seconds, sample_rate
) -> None:
    negative = {name: count for name, count in counts.items() if int(count) != count or count < 0}
    if negative:
        raise ValueError(f"clip counts must be whole numbers >= 0, got {negative}")
    if not labels:
        raise ValueError("make_demo_dataset needs at least one label")
    if len(set(labels)) != len(labels):
        raise ValueError(f"labels must be unique, got {list(labels)}")
    if not all(isinstance(x, str) and x.strip() for x in [*labels, *distractor_labels]):
        raise ValueError(f"labels must be non-empty strings, got {[*labels, *distractor_labels]}")
    reserved = [x for x in [*labels, *distractor_labels] if x == PADDING_LABEL]
    if reserved:
        raise ValueError(
            f"label {reserved[0]!r} is reserved for the test set's padding rows; rename it"
        )
    if not 0 < min_seconds <= max_seconds:
        raise ValueError(
            f"need 0 < min_seconds <= max_seconds, got min_seconds={min_seconds}, "
            f"max_seconds={max_seconds}"
        )
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")


def _unique_fnames(rng: np.random.Generator, count: int) -> list[str]:
    names: dict[str, None] = {}
    while len(names) < count:
        for value in rng.integers(0, 2**32, size=count - len(names), dtype=np.uint64):
            names[f"{int(value):08x}.wav"] = None
    return list(names)


def make_demo_dataset(
    root: str | os.PathLike,
    labels: Sequence[str],
    train_per_label: int = 40,
    test_per_label: int = 8,
    distractor_labels: Sequence[str] = ("Applause", "Flute", "Telephone"),
    distractors_per_label: int = 5,
    ignored_test_clips: int = 10,
    min_seconds: float = 0.3,
    max_seconds: float = 30.0,
    sample_rate: int = 44100,
    seed: int = 0,
) -> dict:
    """Write a synthetic FSDKaggle2018 (meta CSVs and 16-bit mono WAVs) under `root`.

    Each of `labels` gets train_per_label train and test_per_label scored test clips; each
    distractor label (one the subset must leave out) gets distractors_per_label of each.
    The test CSV also lists `ignored_test_clips` padding rows (label "None", usage
    "Ignored") without audio, as the real one does. The same seed gives the same bytes.
    """
    labels = list(labels)
    distractors = [d for d in distractor_labels if d not in labels]
    counts = {
        "train_per_label": train_per_label,
        "test_per_label": test_per_label,
        "distractors_per_label": distractors_per_label,
        "ignored_test_clips": ignored_test_clips,
    }
    _check_arguments(labels, distractors, counts, min_seconds, max_seconds, sample_rate)
    root = Path(root)
    if root.exists() and any(root.iterdir()):
        raise ValueError(f"{root}: demo dataset folder is not empty; delete it or pick another")
    for folder in (META_DIR, TRAIN_DIR, TEST_DIR):
        (root / folder).mkdir(parents=True, exist_ok=True)

    plan = [("train", label, i) for label in labels for i in range(train_per_label)]
    plan += [("train", label, i) for label in distractors for i in range(distractors_per_label)]
    plan += [("test", label, i) for label in labels for i in range(test_per_label)]
    plan += [("test", label, i) for label in distractors for i in range(distractors_per_label)]
    meta_rng = np.random.default_rng([seed, stable_hash("metadata")])
    fnames = _unique_fnames(meta_rng, len(plan) + ignored_test_clips)
    min_n = int(np.ceil(min_seconds * sample_rate))
    max_n = max(min_n, int(np.floor(max_seconds * sample_rate)))

    bouts = {label: bout_maker(label) for label in [*labels, *distractors]}
    train_rows, test_rows, seconds = _write_clips(
        root, plan, fnames, bouts, min_n, max_n, sample_rate, seed
    )
    test_rows += _padding_rows(fnames[len(plan) :], seed)
    train, test = _write_meta(root, train_rows, test_rows)
    return {
        "root": str(root),
        "labels": labels,
        "distractor_labels": distractors,
        "train_clips": len(train),
        "test_clips": int((test["usage"] != "Ignored").sum()),
        "ignored_test_clips": ignored_test_clips,
        "audio_seconds": seconds,
        "sample_rate": sample_rate,
        "seed": seed,
    }


def _write_clips(root, plan, fnames, bouts, min_n, max_n, sample_rate, seed):
    """Synthesize and write the WAV of each (split, label, i) of `plan`: (train meta rows,
    test meta rows, seconds of audio written)."""
    train_rows, test_rows, seconds = [], [], 0.0
    for (split, label, i), fname in zip(plan, fnames[: len(plan)], strict=True):
        rng = np.random.default_rng([seed, stable_hash(label), SPLIT_KEYS[split], i])
        n = int(rng.integers(min_n, max_n + 1))
        others = [bout for other, bout in bouts.items() if other != label]
        clip = synthesize_clip(rng, bouts[label], n, sample_rate, others)
        folder = TRAIN_DIR if split == "train" else TEST_DIR
        write_wav(root / folder / fname, clip, sample_rate)
        seconds += n / sample_rate
        common = {"freesound_id": int(rng.integers(1000, 450000)), "license": _license(rng)}
        if split == "train":
            verified = int(rng.random() < 0.4)
            train_rows.append({"fname": fname, "label": label, "manually_verified": verified})
            train_rows[-1].update(common)
        else:
            usage = "Public" if rng.random() < 0.2 else "Private"
            test_rows.append({"fname": fname, "label": label, "usage": usage, **common})
    return train_rows, test_rows, seconds


def _padding_rows(fnames, seed) -> list[dict]:
    """The test CSV's padding rows (label PADDING_LABEL, usage "Ignored", no audio)."""
    rows = []
    for i, fname in enumerate(fnames):
        rng = np.random.default_rng([seed, stable_hash(PADDING_LABEL), SPLIT_KEYS["padding"], i])
        rows.append(
            {
                "fname": fname,
                "label": PADDING_LABEL,
                "usage": "Ignored",
                "freesound_id": int(rng.integers(1000, 450000)),
                "license": _license(rng),
            }
        )
    return rows


def _write_meta(root, train_rows, test_rows) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Write the train and test meta CSVs, sorted by fname; return them."""
    train_columns = ["fname", "label", "manually_verified", "freesound_id", "license"]
    test_columns = ["fname", "label", "usage", "freesound_id", "license"]
    train = pd.DataFrame(train_rows, columns=train_columns).sort_values("fname")
    test = pd.DataFrame(test_rows, columns=test_columns).sort_values("fname")
    write_csv(root / META_DIR / TRAIN_CSV, train)
    write_csv(root / META_DIR / TEST_CSV, test)
    return train, test


def _license(rng: np.random.Generator) -> str:
    return str(rng.choice(LICENSES, p=LICENSE_WEIGHTS))
