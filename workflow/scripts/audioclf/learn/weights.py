"""Pretrained weights: torchvision's ImageNet resnet18 or a local state_dict file for the
spectrogram ResNet; PANNs' AudioSet checkpoint (learn/published.py) or a local copy for
CNN14."""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch
from torch import nn

from audioclf.io import load_torch_file
from audioclf.learn.cnn14 import Cnn14
from audioclf.learn.models import SpectrogramClassifier
from audioclf.learn.published import PublishedWeights, published
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
    model: nn.Module,
    pretrained: bool | str | os.PathLike | None,
    timeout: float | None = None,
    weights_file: str | os.PathLike | None = None,
) -> str | None:
    """Load backbone weights into `model` as `pretrained` asks; return where they came from.

    False/None: nothing loaded, returns None. True: torchvision's ImageNet resnet18 file
    (downloaded if absent; an error, never a silent fallback, when that fails). The name of
    published weights (`audioset`): `weights_file`, where the download_weights rule put
    them. A path: that state_dict file (for CNN14: a checkpoint of the authors' layout).
    """
    if pretrained is None or pretrained is False:
        return None
    if isinstance(model, Cnn14):
        return load_cnn14(model, pretrained, weights_file)
    weights = published(pretrained)
    if weights is not None:
        raise ValueError(
            f"pretrained: {pretrained} means {weights.what}, which fits type {weights.fits} "
            f"only, not a {type(model).__name__}; set `pretrained: false` or a state_dict path"
        )
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


# What the authors' checkpoints hold beside the weights (their sampler's numpy arrays and
# scalars): the safe loader reads these numpy globals too, under the names that numpy 1
# (which wrote the 2020 files) and numpy 2 pickle them by, and numpy 2's dtype classes of
# booleans and numbers. None of them runs code of the file's choosing.
NUMPY_GLOBALS = [
    np.ndarray,
    np.dtype,
    *(type(np.dtype(code)) for code in "?" + np.typecodes["AllInteger"] + np.typecodes["Float"]),
    *(
        (function, f"{module}.multiarray.{function.__name__}")
        for function in (np._core.multiarray._reconstruct, np._core.multiarray.scalar)
        for module in ("numpy.core", "numpy._core")
    ),
]


def cnn14_layout(model: Cnn14) -> str:
    """The state_dict a CNN14 checkpoint must hold, in words: the front end's and fc1's
    tensors with their shapes, every other layer as its name and tensor count."""
    groups: dict[str, list[str]] = {}
    for key, value in model.state_dict().items():
        groups.setdefault(key.split(".")[0], []).append(f"{key} {tuple(value.shape)}")
    shown = ("spectrogram_extractor", "logmel_extractor", "fc1")
    words = [
        ", ".join(items) if name in shown else f"{name}.* ({len(items)} tensors)"
        for name, items in groups.items()
    ]
    words[-1] += " for any number of classes"
    return "{'model': state_dict} with " + ", ".join(words)


def cnn14_source(pretrained, weights_file: str | os.PathLike | None) -> tuple[Path, str]:
    """(the checkpoint file `pretrained` names, what to do when it is missing or wrong)."""
    if pretrained is True:
        raise ValueError(
            "pretrained: true means torchvision's ImageNet resnet18, which does not fit a "
            "CNN14; set `pretrained: audioset` (PANNs' AudioSet checkpoint), the path of a "
            "CNN14 checkpoint, or `pretrained: false`"
        )
    weights: PublishedWeights | None = published(pretrained)
    if weights is None:
        fix = "fix the model's `pretrained` path, or set `pretrained: audioset` or `false`"
        return Path(pretrained), fix
    fix = (
        f"download {weights.file} from {weights.url} (md5 {weights.md5}) and put it there, "
        "set `pretrained: <path>` to a copy elsewhere, or `pretrained: false`"
    )
    if weights_file is None:
        raise ValueError(
            f"pretrained: {pretrained} reads {weights.file}, which the workflow's "
            "download_weights rule puts in resources/weights/; pass its path as "
            "weights_file (train's weights_path) or set `pretrained: <path>`"
        )
    return Path(weights_file), fix


def load_cnn14(model: Cnn14, pretrained, weights_file: str | os.PathLike | None = None) -> str:
    """Load a CNN14 checkpoint of the authors' layout ({"model": state_dict}, every key of
    `model` with its shape; their sampler's state beside it is ignored) into `model`,
    strictly, but for the head `fc_audioset`, which keeps `model`'s own new weights for our
    classes. Returns the file's path; a missing or wrong file is one ValueError line that
    names it and the layout expected."""
    path, fix = cnn14_source(pretrained, weights_file)
    layout = cnn14_layout(model)
    if not path.exists():
        raise FileNotFoundError(
            f"{path}: no such file; pretrained: {pretrained} reads a PANNs CNN14 checkpoint "
            f"there, {layout}; {fix}"
        )
    with torch.serialization.safe_globals(NUMPY_GLOBALS):
        checkpoint = load_torch_file(path, "a PANNs CNN14 checkpoint", fix)
    state = checkpoint.get("model", checkpoint) if isinstance(checkpoint, dict) else checkpoint
    own = model.state_dict()
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{path}: no state_dict under 'model'; expected {layout}; {fix}")
    head = [k for k in own if k.startswith("fc_audioset.")]
    missing = [k for k in own if k not in state and k not in head
               and not k.endswith("num_batches_tracked")]  # fmt: skip
    unexpected = [k for k in state if k not in own]
    mismatched = [
        f"{k} {tuple(state[k].shape)} vs {tuple(own[k].shape)}"
        for k in state
        if k in own and k not in head and state[k].shape != own[k].shape
    ]
    if missing or unexpected or mismatched:
        raise ValueError(
            f"{path}: not a CNN14 checkpoint that fits this model (missing {missing[:3]}, "
            f"unexpected {unexpected[:3]}, mismatched {mismatched[:3]}); expected {layout}; "
            f"{fix}"
        )
    # files saved before BatchNorm counted its batches lack num_batches_tracked: ours stays
    model.load_state_dict({k: own[k] if k in head else state.get(k, own[k]) for k in own})
    return str(path)


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
