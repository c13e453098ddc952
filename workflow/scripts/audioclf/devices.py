"""Pick the torch device from the config's `device` value ("auto", "cpu" or "cuda"), and
how it computes: threads, mixed precision, determinism."""

from __future__ import annotations

import contextlib
import os
import random

import numpy as np
import torch

from audioclf.choices import DEVICE_CHOICES

# `mixed_precision` and `deterministic`: "auto", or a boolean to force either way
SWITCH_CHOICES = ("auto", True, False)


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


NATIVE_BF16_FLAGS = {"avx512_bf16", "amx_bf16", "bf16"}  # x86 AVX512-BF16, AMX; Arm BF16


def cpu_flags() -> set[str]:
    """The CPU's feature flags as Linux lists them ("flags" on x86, "Features" on Arm)."""
    return _read_flags("/proc/cpuinfo")


def _read_flags(cpuinfo: str | os.PathLike) -> set[str]:
    try:
        text = open(cpuinfo).read()
    except OSError:  # not Linux
        return set()
    flags: set[str] = set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            flags |= set(value.split())
    return flags


def cpu_has_bf16() -> bool:
    """The CPU computes bf16 natively (AVX512-BF16 or AMX on x86, BF16 on Arm), through
    oneDNN. Elsewhere oneDNN emulates bf16, slower than float32 (torch's own
    `_is_mkldnn_bf16_supported` is true on any AVX-512 CPU, emulation included)."""
    return torch.backends.mkldnn.is_available() and bool(cpu_flags() & NATIVE_BF16_FLAGS)


def autocast_dtype(setting, device: torch.device, pays_on_cpu: bool) -> torch.dtype | None:
    """The dtype a model computes in under autocast, or None for float32.

    `auto`: bf16 on a CUDA GPU that has it; on a CPU only where it is native and the model
    type's registry entry asks for it (`pays_on_cpu`, its `cpu_autocast`: measured faster
    in bf16 by benchmarks/train_speed.py, or, for raw1d, set so that the default contrasts
    compare like precision with like). `true`: bf16 on any device. `false`: float32.
    """
    if setting not in SWITCH_CHOICES:
        raise ValueError(f"mixed_precision {setting!r} is not one of {SWITCH_CHOICES}; fix config")
    if setting is False:
        return None
    if setting is True:
        return torch.bfloat16
    if device.type == "cuda":  # native bf16 from Ampere (compute capability 8) on
        return torch.bfloat16 if torch.cuda.get_device_capability(device)[0] >= 8 else None
    return torch.bfloat16 if pays_on_cpu and cpu_has_bf16() else None


def autocast(device: torch.device, dtype: torch.dtype | None):
    """The context a forward pass runs in: torch.autocast at `dtype`, or nothing."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def seed_everything(
    seed: int, deterministic, device: torch.device, fixed_shapes: bool = True
) -> bool:
    """Seed python, numpy and torch; returns whether the run is deterministic.

    On CPU every run is (its kernels are deterministic), whatever the setting. On CUDA,
    `auto` and `false` let cuDNN's autotuner pick the fastest kernels (not always the same
    ones), for models whose batches all have one shape (`fixed_shapes`; the whole-clip
    models' shapes vary, and each new shape would be tuned again). `true`: deterministic
    kernels only; an op that has none stops the run, naming it.
    """
    if deterministic not in SWITCH_CHOICES:
        raise ValueError(
            f"deterministic {deterministic!r} is not one of {SWITCH_CHOICES}; fix config"
        )
    chosen = device.type != "cuda" or deterministic is True
    torch.manual_seed(seed)  # every device's generator
    np.random.seed(seed % (2**32 - 1))
    random.seed(seed)
    torch.backends.cudnn.deterministic = chosen
    torch.backends.cudnn.benchmark = not chosen and fixed_shapes
    if device.type == "cuda":
        if chosen:  # cuBLAS needs a fixed workspace for it (set before its first use)
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(chosen)
    return chosen


def precision_name(dtype: torch.dtype | None) -> str:
    """How a run computed, as model.pt, metrics.json and the report say it."""
    return "float32" if dtype is None else f"{str(dtype).removeprefix('torch.')} autocast"
