"""CNN14 beside the ResNet-18 (`spectrogram`) on the CPU: seconds per clip of one training
step (forward, loss, backward, AdamW step) on a batch of 5 s clips at 16 kHz, in float32
and in bf16 autocast, and each process's peak memory.

.venv/bin/python benchmarks/cnn14_speed.py [--batch 16] [--threads 2] [--steps 4]

Each type is built by the registry from its defaults (CNN14 at full width, 79.7M
parameters; ResNet-18 without ImageNet weights: speed does not depend on the weights), in
training mode with its training masks, in a fresh process per type and precision so that
the peak resident memory is that configuration's own. A step's time is the median of
`--steps` steps after one warm-up step; per clip is that over the batch size.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RATE = 16000
TYPES = {"spectrogram": {"arch": "resnet18", "pretrained": False}, "cnn14": {}}


def worker(args) -> None:
    """One type at one precision, in this process: print its step times as JSON."""
    sys.path.insert(0, str(REPO / "workflow" / "scripts"))
    import torch

    from audioclf.devices import autocast
    from audioclf.learn.models import count_parameters
    from audioclf.learn.registry import build_model

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    samples = int(args.seconds * RATE)
    model = build_model({"type": args.type, **TYPES[args.type]}, 5, samples, RATE).train()
    optimiser = torch.optim.AdamW(model.parameters(), lr=1e-3)
    wave = torch.randn(args.batch, 1, samples) * 0.1
    target = torch.randint(0, 5, (args.batch,))
    dtype = torch.bfloat16 if args.precision == "bf16" else None
    times = []
    for _ in range(args.steps + 1):
        started = time.perf_counter()
        with autocast(torch.device("cpu"), dtype):
            loss = torch.nn.functional.cross_entropy(model(wave).float(), target)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        times.append(time.perf_counter() - started)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("RESULT " + json.dumps({"steps": times[1:], "params": count_parameters(model),
                                  "peak_mb": peak_mb}))  # fmt: skip


def measure(model_type: str, precision: str, args) -> dict:
    cmd = [sys.executable, __file__, "--worker", "--type", model_type, "--precision", precision,
           "--batch", str(args.batch), "--threads", str(args.threads),
           "--steps", str(args.steps), "--seconds", str(args.seconds)]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT "))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--precisions", nargs="+", default=["float32", "bf16"])
    parser.add_argument("--worker", action="store_true")
    parser.add_argument("--type")
    parser.add_argument("--precision")
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    print(f"batch {args.batch} x {args.seconds:g} s at {RATE} Hz, {args.threads} threads, "
          f"median of {args.steps} steps after one warm-up")  # fmt: skip
    print("| type | parameters | precision | s/step | s/clip | peak RSS MB |")
    print("|---|---|---|---|---|---|")
    for model_type in TYPES:
        for precision in args.precisions:
            got = measure(model_type, precision, args)
            step = statistics.median(got["steps"])
            print(f"| {model_type} | {got['params']:,} | {precision} | {step:.2f} | "
                  f"{step / args.batch:.3f} | {got['peak_mb']:,.0f} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
