"""Resampling to 16 kHz: quality, time and peak memory, today's resampler vs torchaudio's.

For each input rate a 2 s logarithmic sine sweep (50 Hz to 7 kHz, under the 8 kHz Nyquist
of the output) is written at that rate and resampled to 16 kHz twice, each in a fresh
subprocess that reports its peak memory: by torchaudio's Resample (the resampler before
issue 15, for every rate) and by audioclf.preprocess.audio.resample (torchaudio's sinc
kernel, in numpy, when it is small, a polyphase FIR otherwise). The quality is the SNR
against the same sweep computed at 16 kHz, over the middle 1.8 s (edges left out).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

RATES = (44100, 48000, 22050, 22254, 44101, 48001)
CASE = r"""
import json, resource, sys, time
import numpy as np, torch
rate, how, seconds = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
def sweep(sr):
    t = np.arange(int(seconds * sr)) / sr
    f0, f1 = 50.0, 7000.0
    k = np.log(f1 / f0) / seconds
    return np.sin(2 * np.pi * f0 * (np.exp(k * t) - 1) / k)
wave = torch.from_numpy(sweep(rate).astype(np.float32))
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
if how == "torchaudio":
    import torchaudio.transforms as T
    out = T.Resample(rate, 16000)(wave)
else:
    from audioclf.preprocess.audio import resample
    out = torch.from_numpy(resample(wave.numpy(), rate, 16000))
seconds_taken = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
ideal = sweep(16000)
n = min(len(ideal), len(out))
edge = int(0.1 * 16000)
error = out.numpy()[edge:n - edge] - ideal[edge:n - edge]
snr = 10 * np.log10(np.sum(ideal[edge:n - edge] ** 2) / max(np.sum(error ** 2), 1e-30))
print(json.dumps({"seconds": seconds_taken, "peak_mb": peak / 1024,
                  "extra_mb": (peak - base) / 1024,
                  "snr_db": float(snr), "length": int(len(out))}))
"""


def run(rate: int, how: str, seconds: float, timeout: float) -> dict:
    try:
        done = subprocess.run(
            [sys.executable, "-c", CASE, str(rate), how, str(seconds)],
            capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return {"error": f"over {timeout:.0f} s"}
    if done.returncode < 0:
        return {"error": f"killed by signal {-done.returncode} (9: out of memory)"}
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["failed"])[-1][:60]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rates", type=int, nargs="+", default=list(RATES))
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args()
    print(f"{'rate':>7} {'resampler':<11}{'SNR dB':>8}{'seconds':>9}{'extra MB':>10}{'peak MB':>9}")
    for rate in args.rates:
        for how in ("torchaudio", "audioclf"):
            r = run(rate, how, args.seconds, args.timeout)
            if "error" in r:
                print(f"{rate:>7} {how:<11} {r['error']}")
                continue
            print(f"{rate:>7} {how:<11}{r['snr_db']:>8.1f}{r['seconds']:>9.2f}"
                  f"{r['extra_mb']:>10.0f}{r['peak_mb']:>9.0f}")  # fmt: skip


if __name__ == "__main__":
    main()
