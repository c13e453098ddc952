"""model.pt: a trained network's weights with everything needed to rebuild and use it."""

from __future__ import annotations

import os

import torch
from torch import nn

from audioclf.devices import autocast_dtype
from audioclf.io import TorchFileError, atomic_path, load_torch_file, tensor_bytes
from audioclf.learn.data import clip_samples
from audioclf.learn.registry import MODEL_TYPES, build_model, model_type

MODEL_FORMAT = "audioclf-model/1"
# What train_model records; `settings` are the resolved ones (registry.resolve_settings).
CHECKPOINT_KEYS = (
    "model",
    "type",
    "settings",
    "classes",
    "sample_rate",
    "clip_seconds",
    "preprocess",
    "state_dict",
    "train_seconds",
    "device",
    "seed",
    "pretrained",
    "weight_source",
    "n_params",
    "epochs_run",
    "optimizer_steps",
)


def save_checkpoint(path: str | os.PathLike, checkpoint: dict) -> None:
    """Write model.pt atomically; every key of CHECKPOINT_KEYS must be there."""
    missing = [k for k in CHECKPOINT_KEYS if k not in checkpoint]
    if missing:
        raise ValueError(f"{path}: the model file would lack {missing}")
    with atomic_path(path, needed=tensor_bytes(checkpoint)) as tmp:
        torch.save({"format": MODEL_FORMAT, **checkpoint}, tmp)


class CheckpointError(ValueError):
    """A model.pt this version of audioclf cannot use; the message is one line."""


def load_checkpoint(path: str | os.PathLike) -> dict:
    """model.pt as written by train(), checked for its format and its model type."""
    try:
        checkpoint = load_torch_file(
            path, "a model file", "give the path of a model.pt written by train_model"
        )
    except TorchFileError as err:
        raise CheckpointError(str(err)) from None
    found = checkpoint.get("format") if isinstance(checkpoint, dict) else None
    if found != MODEL_FORMAT:
        raise CheckpointError(f"{path}: {_format_problem(found)}")
    if checkpoint.get("type") not in MODEL_TYPES:
        raise CheckpointError(
            f"{path}: model type {checkpoint.get('type')!r} is not known to this version "
            f"(it knows {', '.join(MODEL_TYPES)}); use the audioclf version that trained it"
        )
    return checkpoint


def _format_problem(found) -> str:
    """What is wrong with a loaded file's format field, and what to do."""
    family, _, version = MODEL_FORMAT.rpartition("/")
    if isinstance(found, str) and found.startswith(f"{family}/"):
        theirs = found.rpartition("/")[2]
        if theirs.isdigit() and int(theirs) > int(version):
            return (
                f"format too new ({found!r}; this version reads {MODEL_FORMAT!r}): it was "
                "written by a newer audioclf; use that version, or upgrade this one"
            )
    written = f"format {found!r}" if found else "no audioclf format"
    return (
        f"not a model file this version reads ({written}, expected {MODEL_FORMAT!r}); "
        "retrain it with train_model"
    )


def rebuild_model(checkpoint: dict) -> nn.Module:
    """The trained network from a model.pt dict, in eval mode."""
    rate = int(checkpoint["sample_rate"])
    model = build_model(
        checkpoint["settings"],
        len(checkpoint["classes"]),
        clip_samples(checkpoint["clip_seconds"], rate),
        rate,
    )
    model.load_state_dict(checkpoint["state_dict"])
    return model.eval()


def eval_autocast(checkpoint: dict, device: torch.device) -> torch.dtype | None:
    """The dtype the model in model.pt `checkpoint` is scored in on `device`: its own
    `mixed_precision` setting, resolved for that device. A file without `train_precision`
    is read by the rule it was trained under: bf16 on CUDA by `true` only, else float32."""
    setting = checkpoint["settings"].get("mixed_precision", False)
    if "train_precision" not in checkpoint:
        setting = setting is True and device.type == "cuda"
    return autocast_dtype(setting, device, model_type(checkpoint["type"]).cpu_autocast)
