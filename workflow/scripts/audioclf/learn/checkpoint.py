"""model.pt: a trained network's weights with everything needed to rebuild and use it."""

from __future__ import annotations

import os

import torch
from torch import nn

from audioclf.io import atomic_path
from audioclf.learn.data import clip_samples
from audioclf.learn.registry import build_model

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
)


def save_checkpoint(path: str | os.PathLike, checkpoint: dict) -> None:
    """Write model.pt atomically; every key of CHECKPOINT_KEYS must be there."""
    missing = [k for k in CHECKPOINT_KEYS if k not in checkpoint]
    if missing:
        raise ValueError(f"{path}: the model file would lack {missing}")
    with atomic_path(path) as tmp:
        torch.save({"format": MODEL_FORMAT, **checkpoint}, tmp)


def load_checkpoint(path: str | os.PathLike) -> dict:
    """model.pt as written by train(), checked for its format."""
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != MODEL_FORMAT:
        raise ValueError(f"{path}: not an {MODEL_FORMAT} file; rerun train_model for it")
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
