"""Pick the torch device from the config's `device` value ("auto", "cpu" or "cuda")."""

from __future__ import annotations

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


def enable_fast_math(device: torch.device) -> None:
    """Allow TF32 matmuls and convolutions on GPUs that have them (no effect on CPU)."""
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True


def synchronize(device: torch.device) -> None:
    """Wait for queued GPU work so that wall-clock timings are honest."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
