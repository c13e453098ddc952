"""Pick the torch device from the config's `device` value ("auto", "cpu" or "cuda")."""

from __future__ import annotations

import os

import torch

DEVICE_CHOICES = ("auto", "cpu", "cuda")


def resolve_device(name: str = "auto") -> torch.device:
    """CUDA when available (or asked for), else CPU; an unavailable CUDA is an error."""
    if name not in DEVICE_CHOICES:
        raise ValueError(f"device {name!r} is not one of {DEVICE_CHOICES}; fix `device` in config")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(
            "device 'cuda' was requested but torch sees no CUDA GPU; set device: auto or cpu"
        )
    if name == "cpu" or not torch.cuda.is_available():
        return torch.device("cpu")
    return torch.device("cuda", torch.cuda.current_device())


def usable_cores() -> int:
    """CPU cores this process may run on (its affinity), not the machine's count."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def set_threads(threads: int | None) -> None:
    """torch's intra-op threads: the rule's `threads`, at most the usable cores. Snakemake
    gives a rule its declared threads up to --cores, which may exceed the machine (8 on a
    2-core laptop), and oversubscribed threads only slow each other down."""
    if threads:
        torch.set_num_threads(max(1, min(int(threads), usable_cores())))


def enable_fast_math(device: torch.device) -> None:
    """Allow TF32 matmuls and convolutions on GPUs that have them (no effect on CPU)."""
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True


def synchronize(device: torch.device) -> None:
    """Wait for queued GPU work so that wall-clock timings are honest."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
