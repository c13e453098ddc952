"""model.pt: a trained network's weights with everything needed to rebuild and use it."""

from __future__ import annotations

import os

import torch
from torch import nn

from audioclf.io import atomic_path
from audioclf.learn.data import clip_samples
from audioclf.learn.registry import MODEL_TYPES, build_model

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
    with atomic_path(path) as tmp:
        torch.save({"format": MODEL_FORMAT, **checkpoint}, tmp)


class CheckpointError(ValueError):
    """A model.pt this version of audioclf cannot use; the message is one line."""


def load_checkpoint(path: str | os.PathLike) -> dict:
    """model.pt as written by train(), checked for its format and its model type."""
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError as err:
        raise CheckpointError(f"{path}: no such model file; give the path of a model.pt") from err
    except Exception as err:  # a pickle that weights_only refuses, an empty or foreign file
        raise CheckpointError(
            f"{path}: not a readable model file ({type(err).__name__}: "
            f"{str(err).splitlines()[0] if str(err) else 'no detail'}); "
            "give the path of a model.pt written by train_model"
        ) from err
    found = checkpoint.get("format") if isinstance(checkpoint, dict) else None
    if found != MODEL_FORMAT:
        written = f"format {found!r}" if found else "no audioclf format"
        raise CheckpointError(
            f"{path}: not a model file this version reads ({written}, expected "
            f"{MODEL_FORMAT!r}); retrain it with train_model"
        )
    if checkpoint.get("type") not in MODEL_TYPES:
        raise CheckpointError(
            f"{path}: model type {checkpoint.get('type')!r} is not known to this version "
            f"(it knows {', '.join(MODEL_TYPES)}); use the audioclf version that trained it"
        )
    return checkpoint


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
