"""Pick the torch device from the config's `device` value ("auto", "cpu" or "cuda"), and
how it computes: threads, mixed precision, determinism."""

from __future__ import annotations

import contextlib
import os
import random
import re
import sys

import numpy as np
import torch

from audioclf.choices import DEVICE_CHOICES

# `mixed_precision` and `deterministic`: "auto", or a boolean to force either way
SWITCH_CHOICES = ("auto", True, False)


# How a job learns it was given GPUs: a scheduler (SLURM, a container runtime, the user)
# names them in one of these. A value naming no device is not an allocation.
GPU_ALLOCATION_VARIABLES = ("CUDA_VISIBLE_DEVICES", "SLURM_JOB_GPUS", "SLURM_STEP_GPUS")
NO_DEVICE_VALUES = {"", "-1", "none", "nodevfiles", "void"}
# The oldest Linux driver each CUDA major version of torch's wheels runs on (NVIDIA's CUDA
# compatibility tables, with minor-version compatibility within a major version)
MIN_DRIVER_FOR_CUDA = {11: 450, 12: 525, 13: 580}
# Where torch's builds for CUDA 12 come from, for drivers older than the pinned build needs
CUDA12_INDEX = "https://download.pytorch.org/whl/cu126"
NVIDIA_VERSION_FILE = "/proc/driver/nvidia/version"


class GpuUnusableError(RuntimeError):
    """The job was given a GPU and `device: auto`, but torch cannot use CUDA there."""


def resolve_device(name: str = "auto") -> torch.device:
    """CUDA when available (or asked for), else CPU. An unavailable CUDA is an error when
    asked for, and under `auto` when the job was given a GPU (GPU_ALLOCATION_VARIABLES):
    a GPU job quietly on the CPU would run for hours longer, saying nothing."""
    if name not in DEVICE_CHOICES:
        raise ValueError(f"device {name!r} is not one of {DEVICE_CHOICES}; fix `device` in config")
    if name == "cpu":
        return torch.device("cpu")
    if torch.cuda.is_available():
        return torch.device("cuda", torch.cuda.current_device())
    if name == "cuda":
        raise RuntimeError(
            "device 'cuda' was requested but torch sees no CUDA GPU "
            f"({cuda_diagnosis()}); set device: auto or cpu"
        )
    allocated = allocated_gpus()
    if allocated:
        stop_for_unusable_gpu(allocated)
    return torch.device("cpu")


def allocated_gpus(environ=os.environ) -> dict[str, str]:
    """The GPU allocation variables set to a device, with their values."""
    return {
        key: environ[key]
        for key in GPU_ALLOCATION_VARIABLES
        if environ.get(key, "").strip().lower() not in NO_DEVICE_VALUES
    }


def driver_version() -> str | None:
    """The loaded NVIDIA kernel driver's version ("580.65.06"), or None without one."""
    try:
        text = open(NVIDIA_VERSION_FILE).read()
    except OSError:
        return None
    match = re.search(r"Kernel Module(?: for \S+)?\s+(\d+(?:\.\d+)+)", text)
    return match.group(1) if match else None


def cuda_diagnosis() -> str:
    """The driver found and the CUDA version the installed torch needs, in words."""
    driver = driver_version()
    found = f"NVIDIA driver {driver}" if driver else "no NVIDIA driver"
    if torch.version.cuda is None:
        return f"{found}; torch {torch.__version__} is a CPU-only build"
    minimum = min_driver(torch.version.cuda)
    needs = f", which needs driver >= {minimum}" if minimum else ""
    return f"{found}; torch {torch.__version__} is built for CUDA {torch.version.cuda}{needs}"


def min_driver(cuda_version: str) -> int | None:
    """The oldest Linux driver that runs torch built for `cuda_version` ("13.0")."""
    return MIN_DRIVER_FOR_CUDA.get(int(cuda_version.split(".")[0]))


def stop_for_unusable_gpu(allocated: dict[str, str]) -> None:
    """Raise GpuUnusableError with one line: the allocation, the driver, what torch needs,
    and the two fixes. Also to the console when stderr is a job's log, where a run
    without show-failed-logs (a module without this workflow's profile) would hide it."""
    given = ", ".join(f"{key}={value}" for key, value in allocated.items())
    release = torch.__version__.split("+")[0]
    message = (
        f"this job was given a GPU ({given}) but torch cannot use CUDA: {cuda_diagnosis()}. "
        "Fix: install the torch build that matches the driver (an older driver: the CUDA 12 "
        f"build, pip install torch=={release} --index-url {CUDA12_INDEX}, and torchvision "
        "and torchaudio from there too), or set device: cpu to run on the CPU on purpose"
    )
    if sys.__stderr__ is not None and sys.stderr is not sys.__stderr__:
        print(f"error: {message}", file=sys.__stderr__, flush=True)
    raise GpuUnusableError(message)


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
