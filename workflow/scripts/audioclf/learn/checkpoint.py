"""model.pt: a trained network's weights with everything needed to rebuild and use it;
load_trained reads one back, ready to run."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import torch
from torch import nn

from audioclf.devices import autocast_dtype, resolve_device
from audioclf.io import TorchFileError, load_torch_file, write_torch
from audioclf.learn.data import WholeClips, clip_samples
from audioclf.learn.registry import MODEL_TYPES, ModelType, build_model, model_type

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
    write_torch(path, {"format": MODEL_FORMAT, **checkpoint})


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


def whole_clip_reading(checkpoint: dict) -> WholeClips | None:
    """How the model in model.pt `checkpoint` reads whole clips; None for a crop model."""
    if not model_type(checkpoint["type"]).whole_clip:
        return None
    return WholeClips.of(checkpoint["settings"], int(checkpoint["sample_rate"]))


@dataclass(frozen=True)
class TrainedModel:
    """A model.pt, ready to run: what evaluate, predict and the report need of it."""

    network: nn.Module = field(repr=False)  # in eval mode, on `device`
    entry: ModelType  # its type's registry entry
    classes: tuple[str, ...]  # output k is classes[k]
    sample_rate: int  # Hz; it only understands audio at this rate
    clip_samples: int  # the crop it was trained on, in samples
    reading: WholeClips | None  # how it reads whole clips; None: it scores crops
    precision: torch.dtype | None  # autocast dtype on `device`; None: float32
    device: torch.device
    checkpoint: dict = field(repr=False)  # the model.pt dict, for its recorded facts

    @property
    def name(self) -> str:
        return self.checkpoint["model"]

    @property
    def settings(self) -> dict:
        """The resolved settings it was trained with."""
        return self.checkpoint["settings"]


def load_trained(path: str | os.PathLike, device: torch.device | str = "cpu") -> TrainedModel:
    """The model in model.pt `path`, rebuilt in eval mode on `device` (a torch.device, or a
    config value: "auto", "cpu", "cuda"), with its crop length, its reading of whole clips
    and the precision it is scored in there."""
    checkpoint = load_checkpoint(path)
    if isinstance(device, str):
        device = resolve_device(device)
    rate = int(checkpoint["sample_rate"])
    return TrainedModel(
        network=rebuild_model(checkpoint).to(device),
        entry=model_type(checkpoint["type"]),
        classes=tuple(checkpoint["classes"]),
        sample_rate=rate,
        clip_samples=clip_samples(checkpoint["clip_seconds"], rate),
        reading=whole_clip_reading(checkpoint),
        precision=eval_autocast(checkpoint, device),
        device=device,
        checkpoint=checkpoint,
    )
