"""Pretrained backbone weights: torchvision's ImageNet resnet18 or a local state_dict file."""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from audioclf.io import load_torch_file
from audioclf.learn.models import SpectrogramClassifier
from audioclf.learn.registry import MODEL_TYPES

# torchvision.models.ResNet18_Weights.IMAGENET1K_V1.url (tests/unit/learn/test_models.py
# keeps them equal), written out: importing torchvision costs every training job ~1.5 s
IMAGENET_URL = "https://download.pytorch.org/models/resnet18-f37072fd.pth"
DOWNLOAD_TIMEOUT_SECONDS = 120.0


def imagenet_checkpoint() -> Path:
    """Where torchvision keeps the resnet18 ImageNet file: $TORCH_HOME/hub/checkpoints/."""
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(IMAGENET_URL).name


def download_imagenet(timeout: float) -> None:
    """torchvision's own download into imagenet_checkpoint(), given up after `timeout` s."""
    failure: list[BaseException] = []

    def fetch() -> None:
        try:
            torch.hub.load_state_dict_from_url(
                IMAGENET_URL,
                model_dir=str(imagenet_checkpoint().parent),
                progress=False,
                check_hash=True,
                weights_only=True,
            )
        except BaseException as err:  # reported to the caller's thread below
            failure.append(err)

    # A thread, because DNS look-ups ignore socket timeouts and could hang the run.
    worker = threading.Thread(target=fetch, daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise TimeoutError(f"no answer from {IMAGENET_URL} within {timeout:.0f} s")
    if failure:
        raise failure[0]


def imagenet_state_dict(timeout: float = DOWNLOAD_TIMEOUT_SECONDS) -> tuple[dict, str]:
    """The ImageNet resnet18 state_dict and the file it was read from; downloads if absent."""
    path = imagenet_checkpoint()
    if not path.exists():
        try:
            download_imagenet(timeout)
        except Exception as err:
            raise FileNotFoundError(
                f"pretrained: true needs torchvision's ImageNet resnet18 weights at {path}, "
                f"which is missing, and downloading them from {IMAGENET_URL} failed ({err}). "
                f"Download that URL on a machine with internet and put the file at {path} "
                "(set TORCH_HOME to move the folder), or set `pretrained: false` (train from "
                "scratch) or `pretrained: <path to a state_dict>` for this model in the config."
            ) from err
    return read_state_dict(path), str(path)


def read_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """A state_dict file (or a checkpoint dict holding one under "state_dict")."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(
            f"{path}: pretrained weights file not found; fix the model's `pretrained` path "
            "or set `pretrained: false`"
        )
    state = load_torch_file(
        path, "a state_dict file", "fix the model's `pretrained` path or set `pretrained: false`"
    )
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{path}: expected a dict of tensors (a state_dict), got {type(state)}")
    return state


def adapt_state_dict(
    state: dict[str, torch.Tensor], backbone: nn.Module, head_name: str, source: str
) -> dict[str, torch.Tensor]:
    """`state` reshaped for our backbone: RGB first-conv weights summed to one channel, the
    old classifier head dropped; anything else that does not fit is an error naming `source`."""
    target = backbone.state_dict()
    adapted, mismatched = {}, []
    for key, value in state.items():
        if key.startswith(head_name + "."):
            continue
        if key not in target:
            mismatched.append(f"{key} (not in the backbone)")
            continue
        want = target[key].shape
        if value.shape == want:
            adapted[key] = value
        elif value.dim() == 4 and value.shape[1] == 3 and want[1] == 1:
            # Summing the RGB kernels gives a grey-image conv with the same response.
            adapted[key] = value.sum(dim=1, keepdim=True)
        else:
            mismatched.append(f"{key} {tuple(value.shape)} vs {tuple(want)}")
    missing = [
        k
        for k in target
        if k not in adapted
        and not k.startswith(head_name + ".")
        # files saved before BatchNorm counted its batches lack this buffer
        and not k.endswith("num_batches_tracked")
    ]
    if mismatched or missing:
        raise ValueError(
            f"{source}: weights do not fit this backbone; mismatched: {mismatched[:5]}, "
            f"missing: {missing[:5]}. Use a {type(backbone).__name__} state_dict or set "
            "`pretrained: false`"
        )
    return adapted


def load_pretrained(
    model: nn.Module, pretrained: bool | str | os.PathLike | None, timeout: float | None = None
) -> str | None:
    """Load backbone weights into `model` as `pretrained` asks; return where they came from.

    False/None: nothing loaded, returns None. True: torchvision's ImageNet resnet18 file
    (downloaded if absent; an error, never a silent fallback, when that fails). A path: that
    state_dict file.
    """
    if pretrained is None or pretrained is False:
        return None
    if not isinstance(model, SpectrogramClassifier):
        raise ValueError(
            f"pretrained: {pretrained!r} was given for a {type(model).__name__}, which has no "
            "pretrained backbone; set `pretrained: false`"
        )
    if pretrained is True:
        import torchvision  # only where ImageNet weights are asked for

        if not isinstance(model.backbone, torchvision.models.ResNet):
            raise ValueError(
                "pretrained: true means torchvision's ImageNet resnet18, which only fits "
                "arch: resnet18; use a state_dict path or `pretrained: false`"
            )
        state, source = imagenet_state_dict(
            DOWNLOAD_TIMEOUT_SECONDS if timeout is None else timeout
        )
    else:
        source = str(pretrained)
        state = read_state_dict(source)
    adapted = adapt_state_dict(state, model.backbone, model.head_name, source)
    model.backbone.load_state_dict(adapted, strict=False)
    return source


AUTOENCODER_PREFIX = "autoencoder:"


def autoencoder_name(pretrained) -> str | None:
    """The pretraining config named by `pretrained: autoencoder:<name>`, else None."""
    if isinstance(pretrained, str) and pretrained.startswith(AUTOENCODER_PREFIX):
        return pretrained[len(AUTOENCODER_PREFIX) :]
    return None


def load_encoder(
    model: nn.Module,
    model_type: str,
    encoder_path: str | os.PathLike,
    settings: Mapping | None = None,
) -> list[str]:
    """Load encoder.pt's weights into `model`'s first layer(s); return the keys loaded.

    The file must hold an encoder of `model_type` (the weights of one type's layers do not
    fit another's), built with the model's own `settings` for each of the type's
    encoder_settings (a stride or pool changes what the weights mean without changing
    their shape), each key with the shape the model has.
    """
    checkpoint = load_torch_file(encoder_path, "an encoder file", "rerun pretrain_frontend")
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != "audioclf-encoder/1":
        raise ValueError(f"{encoder_path}: not an encoder.pt of pretrain_frontend")
    if checkpoint["encoder_type"] != model_type:
        raise ValueError(
            f"{encoder_path}: a {checkpoint['encoder_type']} encoder does not fit a "
            f"{model_type} model; pretrain one with encoder: {model_type}"
        )
    entry = MODEL_TYPES[model_type]
    built = {**entry.defaults, **(checkpoint.get("settings", {}).get("settings") or {})}
    mine = {**entry.defaults, **(settings or {})}
    differ = [k for k in entry.encoder_settings if built.get(k) != mine.get(k)]
    if differ:
        name = checkpoint.get("name", "?")
        raise ValueError(
            f"{encoder_path}: pretrain.{name} built its encoder with "
            + ", ".join(f"{k} {built.get(k)}" for k in differ)
            + ", but the model has "
            + ", ".join(f"{k} {mine.get(k)}" for k in differ)
            + f"; set pretrain.{name}.settings to the model's values so its layers fit"
        )
    own = model.state_dict()
    state = checkpoint["state_dict"]
    wrong = [k for k, v in state.items() if k not in own or own[k].shape != v.shape]
    if wrong:
        raise ValueError(f"{encoder_path}: weights {wrong[:5]} do not fit the model's layers")
    model.load_state_dict(state, strict=False)
    return list(state)
