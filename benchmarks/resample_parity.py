"""The numpy resampler against torchaudio's, as the cache stores clips (int16).

audioclf.preprocess.audio.resample reproduces torchaudio.functional.resample
(sinc_interp_hann, its defaults, a float32 wave) in numpy, so that predicting with a
model.onnx needs no torch. Its kernel is built by the same float32 operations, but sin
and cos are numpy's, and the matrix product is numpy's BLAS: the float32 results can
differ in the last bits. This counts how often that changes an int16 sample, over every
FSDD recording (8 kHz, /work/shared/data/fsdd; --every N takes every Nth) and over
synthetic signals (tones, noise, a full-scale square wave) at 44.1, 48, 22.05 and 8 kHz.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
import torchaudio.functional as AF

from audioclf.preprocess.audio import resample, to_int16

FSDD = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "fsdd" / "recordings"
RATES = (44100, 48000, 22050, 8000)


def differences(wave: np.ndarray, rate: int, new: int = 16000) -> tuple[int, int, int, float]:
    """(largest int16 difference, samples that differ, samples, largest float difference)."""
    ours = resample(wave, rate, new)
    theirs = AF.resample(torch.from_numpy(wave), rate, new).numpy()
    gap = np.abs(to_int16(ours).astype(np.int32) - to_int16(theirs).astype(np.int32))
    return int(gap.max()), int((gap > 0).sum()), gap.size, float(np.abs(ours - theirs).max())


def synthetic(rate: int, seconds: float, rng: np.random.Generator) -> list[np.ndarray]:
    t = np.arange(int(rate * seconds)) / rate
    return [
        (0.5 * np.sin(2 * np.pi * rng.uniform(50, 7000) * t)).astype(np.float32),
        (0.3 * rng.standard_normal(t.size)).astype(np.float32),
        (0.99 * np.sign(np.sin(2 * np.pi * 440 * t))).astype(np.float32),
    ]


def report(name: str, rows: list[tuple[int, int, int, float]]) -> None:
    worst, differ, total = max(r[0] for r in rows), sum(r[1] for r in rows), sum(r[2] for r in rows)
    floats = max(r[3] for r in rows)
    print(f"{name:<28}{total:>11,}{differ:>9,}{differ / total:>11.2e}{worst:>6}{floats:>11.2e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fsdd", type=Path, default=FSDD, help="FSDD's recordings folder")
    parser.add_argument("--every", type=int, default=1, help="every Nth FSDD recording")
    parser.add_argument("--seconds", type=float, default=10.0, help="per synthetic signal")
    parser.add_argument("--signals", type=int, default=5, help="draws of each signal kind")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"{'input':<28}{'samples':>11}{'differ':>9}{'share':>11}{'max':>6}{'float max':>11}")
    files = sorted(args.fsdd.glob("*.wav"))[:: args.every]
    if files:
        rows = []
        for path in files:
            wave, rate = sf.read(path, dtype="float32")
            rows.append(differences(wave, rate))
        report(f"FSDD ({len(files)} files, 8 kHz)", rows)
    else:
        print(f"FSDD: no recordings in {args.fsdd}", file=sys.stderr)
    rng = np.random.default_rng(0)
    for rate in RATES:
        waves = [w for _ in range(args.signals) for w in synthetic(rate, args.seconds, rng)]
        report(f"synthetic at {rate} Hz", [differences(w, rate) for w in waves])


if __name__ == "__main__":
    main()
