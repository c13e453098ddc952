"""ONNX runtime vs torch on the CPU: clips per second of each model type's forward pass,
the same batch of 5 s clips at 16 kHz for both, float32, the same number of threads.

.venv/bin/python benchmarks/onnx_speed.py [--batch 16] [--seconds 5] [--threads 2]

Each type is built with its defaults (untrained: speed does not depend on the weights),
written as model.onnx by export_model (which checks it against torch), then both run the
batch until `--repeat-seconds` have passed. A whole-clip crnn reads the batch as clips of
equal length (torch: its packed, masked eval path; ONNX: the unmasked graph).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow" / "scripts"))

import torch  # noqa: E402

from audioclf.evaluate.onnx_model import load_onnx  # noqa: E402
from audioclf.learn.checkpoint import load_trained, save_checkpoint  # noqa: E402
from audioclf.learn.export import export_model  # noqa: E402
from audioclf.learn.registry import MODEL_TYPES, build_model, resolve_settings  # noqa: E402

RATE = 16000
CLASSES = [f"class{k}" for k in range(5)]


def model_file(model_type: str, seconds: float, folder: Path) -> Path:
    """A model.pt of `model_type` with its default settings and fresh weights."""
    settings = resolve_settings({"type": model_type, "pretrained": False})
    network = build_model(settings, len(CLASSES), int(seconds * RATE), RATE)
    path = folder / f"{model_type}.pt"
    save_checkpoint(path, {
        "model": model_type, "type": model_type, "settings": settings, "classes": CLASSES,
        "sample_rate": RATE, "clip_seconds": seconds, "preprocess": {},
        "state_dict": network.state_dict(), "train_seconds": 0.0, "device": "cpu", "seed": 0,
        "pretrained": False, "weight_source": None, "n_params": 0, "epochs_run": 0,
        "optimizer_steps": 0,
    })  # fmt: skip
    return path


def clips_per_second(run, batch: int, repeat_seconds: float) -> float:
    run()  # one untimed pass: allocation and kernel selection stay out of the rate
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < repeat_seconds:
        run()
        done += batch
    return done / (time.perf_counter() - started)


def measure(model_type: str, args, folder: Path) -> tuple[float, float]:
    """(torch clips/s, onnxruntime clips/s) of `model_type`."""
    pt = model_file(model_type, args.seconds, folder)
    export_model(pt, folder / f"{model_type}.onnx")
    trained = load_trained(pt, "cpu")
    session = load_onnx(folder / f"{model_type}.onnx", threads=args.threads).session
    wave = torch.randn(args.batch, int(args.seconds * RATE)) * 0.1
    lengths = torch.full((args.batch,), wave.shape[-1])
    inputs = (wave.unsqueeze(1), lengths) if trained.reading else (wave.unsqueeze(1),)

    @torch.inference_mode()
    def torch_run():
        trained.network(*inputs).softmax(-1)

    feed = {"wave": wave.numpy()}
    return (
        clips_per_second(torch_run, args.batch, args.repeat_seconds),
        clips_per_second(lambda: session.run(None, feed), args.batch, args.repeat_seconds),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat-seconds", type=float, default=5.0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"batch {args.batch} x {args.seconds:g} s at {RATE} Hz, {args.threads} threads, CPU")
    print("| model type | torch clips/s | onnxruntime clips/s | onnxruntime / torch |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for model_type in MODEL_TYPES:
            ours, theirs = measure(model_type, args, Path(tmp))
            print(f"| {model_type} | {ours:.1f} | {theirs:.1f} | {theirs / ours:.2f}x |")


if __name__ == "__main__":
    main()
