"""Is the learned filterbank, at mel init, on the log-mel's scale? Real clips, before the
per-clip normalisation.

Reads every `--every`-th recording of ../shared/data/fsdd (8 kHz, resampled to 16 kHz as
the cache holds it) and compares raw_filterbank's band energies (dB) at mel init with
spectrogram_small's log-mel, at config.yaml's front end (hop 200, 128 bands) and the
demo's (hop 400, 64 bands). Prints the correlation of the two images' cells, the mean
|difference| and the mean difference in dB, and the share of cells at the floor of each;
`--no-gain` also shows them without the filterbank's gain, as before issue 25.

    PYTHONPATH=workflow/scripts .venv/bin/python benchmarks/filterbank_scale.py [--every 60]
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from audioclf.learn.features import AMIN, FilterbankFrontEnd, LogMelFrontEnd
from audioclf.preprocess.audio import resample

REPO = Path(__file__).resolve().parents[1]
FSDD = REPO.parent / "shared" / "data" / "fsdd" / "recordings"
RATE = 16000
FRONT_ENDS = {"config.yaml": (200, 128), "demo": (400, 64)}


def clips(every: int) -> list[torch.Tensor]:
    waves = []
    for path in sorted(FSDD.glob("*.wav"))[::every]:
        wave, rate = sf.read(path, dtype="float32")
        waves.append(torch.from_numpy(resample(wave, rate, RATE)).view(1, 1, -1))
    return waves


def compare(waves: list[torch.Tensor], hop: int, n_mels: int, gain: bool) -> dict:
    settings = {"n_fft": 1024, "hop_length": hop, "n_mels": n_mels}
    mel_front, bank_front = LogMelFrontEnd(RATE, **settings), FilterbankFrontEnd(RATE, **settings)
    if not gain:
        bank_front.gain = 1.0
    mels, banks = [], []
    with torch.no_grad():
        for wave in waves:
            mel, bank = mel_front.energies_db(wave), bank_front.energies_db(wave)
            assert mel.shape == bank.shape, (mel.shape, bank.shape)
            mels.append(mel.flatten().double())
            banks.append(bank.flatten().double())
    mel, bank = torch.cat(mels), torch.cat(banks)
    floor = 10 * math.log10(AMIN) + 1e-6
    return {
        "cells": mel.numel(),
        "correlation": float(np.corrcoef(bank, mel)[0, 1]),
        "mean_abs_db": float((bank - mel).abs().mean()),
        "mean_db": float((bank - mel).mean()),
        "bank_floor": float((bank <= floor).double().mean()),
        "mel_floor": float((mel <= floor).double().mean()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--every", type=int, default=60, help="every n-th FSDD recording")
    parser.add_argument("--no-gain", action="store_true", help="also without the gain")
    args = parser.parse_args()
    if not FSDD.is_dir():
        raise SystemExit(f"{FSDD} is missing: this benchmark needs ../shared/data/fsdd")
    waves = clips(args.every)
    print(f"{len(waves)} FSDD recordings (every {args.every}th)")
    print("| front end | gain | cells | correlation | mean abs diff | mean diff | "
          "at floor: filterbank / log-mel |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for name, (hop, n_mels) in FRONT_ENDS.items():
        for gain in (True, False) if args.no_gain else (True,):
            r = compare(waves, hop, n_mels, gain)
            print(f"| {name} (hop {hop}, {n_mels} bands) | {'yes' if gain else 'no'} | "
                  f"{r['cells']} | {r['correlation']:.3f} | {r['mean_abs_db']:.2f} dB | "
                  f"{r['mean_db']:+.2f} dB | {100 * r['bank_floor']:.2f}% / "
                  f"{100 * r['mel_floor']:.2f}% |")  # fmt: skip


if __name__ == "__main__":
    main()
