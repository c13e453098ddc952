"""The two networks as bare nn.Modules: a raw-waveform 1D CNN and a log-mel ResNet."""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torchvision
from fastai.vision.models.xresnet import xresnet18
from torch import nn

from audioclf.features import FRONT_END_DEFAULTS, LogMelFrontEnd

MODEL_TYPES = ("raw1d", "spectrogram")
ARCHES = ("resnet18", "xresnet18")
SPECTROGRAM_DEFAULTS = {"arch": "resnet18", **FRONT_END_DEFAULTS}

RAW1D_CHANNELS = 8
RAW1D_KERNEL = 4096
RAW1D_STRIDE = 1000
RAW1D_PADDING = 2047
RAW1D_DROPOUT = 0.4


def raw1d_flat_size(n_samples: int) -> int:
    """Length of the flattened conv output for a clip of `n_samples` samples."""
    frames = (n_samples + 2 * RAW1D_PADDING - RAW1D_KERNEL) // RAW1D_STRIDE + 1
    if frames < 1:
        raise ValueError(f"clips of {n_samples} samples are shorter than the raw1d kernel")
    return RAW1D_CHANNELS * frames


def raw1d(n_classes: int, n_samples: int) -> nn.Sequential:
    """One wide strided convolution over the waveform, then a small dropout MLP."""
    return nn.Sequential(
        nn.Conv1d(
            1,
            RAW1D_CHANNELS,
            kernel_size=RAW1D_KERNEL,
            stride=RAW1D_STRIDE,
            padding=RAW1D_PADDING,
            bias=False,
        ),
        nn.BatchNorm1d(RAW1D_CHANNELS),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(raw1d_flat_size(n_samples), 500),
        nn.ReLU(),
        nn.Dropout(RAW1D_DROPOUT),
        nn.Linear(500, 50),
        nn.ReLU(),
        nn.Dropout(RAW1D_DROPOUT),
        nn.Linear(50, 25),
        nn.ReLU(),
        nn.Dropout(RAW1D_DROPOUT),
        nn.Linear(25, n_classes),
    )


class SpectrogramClassifier(nn.Module):
    """Waveform -> log-mel image (on the model's device) -> 1-channel image backbone."""

    def __init__(self, front_end: nn.Module, backbone: nn.Module, head_name: str) -> None:
        super().__init__()
        self.front_end = front_end
        self.backbone = backbone
        self.head_name = head_name

    @property
    def head(self) -> nn.Module:
        """The final classification layer (new for our classes, never pretrained)."""
        return self.backbone.get_submodule(self.head_name)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        return self.backbone(self.front_end(wave))


def resnet18_1ch(n_classes: int) -> nn.Module:
    """torchvision's resnet18 with a 1-channel first conv and a new `n_classes` fc."""
    net = torchvision.models.resnet18(weights=None)
    net.conv1 = nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3, bias=False)
    net.fc = nn.Linear(net.fc.in_features, n_classes)
    return net


def spectrogram(n_classes: int, settings: Mapping, sample_rate: int) -> SpectrogramClassifier:
    """The log-mel classifier; `settings` may override any of SPECTROGRAM_DEFAULTS."""
    merged = {
        **SPECTROGRAM_DEFAULTS,
        **{k: settings[k] for k in SPECTROGRAM_DEFAULTS if k in settings},
    }
    front_end = LogMelFrontEnd(
        sample_rate=sample_rate, **{k: int(merged[k]) for k in FRONT_END_DEFAULTS}
    )
    arch = merged["arch"]
    if arch == "resnet18":
        return SpectrogramClassifier(front_end, resnet18_1ch(n_classes), "fc")
    if arch == "xresnet18":
        backbone = xresnet18(c_in=1, n_out=n_classes, pretrained=False)
        return SpectrogramClassifier(front_end, backbone, str(len(backbone) - 1))
    raise ValueError(f"spectrogram arch {arch!r} is not one of {ARCHES}; fix `arch` in config")


def build_model(
    model_type: str,
    n_classes: int,
    settings: Mapping | None = None,
    clip_seconds: float = 5.0,
    sample_rate: int = 16000,
) -> nn.Module:
    """A freshly initialised network of `model_type` (no pretrained weights: see weights.py)."""
    settings = settings or {}
    if model_type == "raw1d":
        return raw1d(n_classes, int(round(clip_seconds * sample_rate)))
    if model_type == "spectrogram":
        return spectrogram(n_classes, settings, sample_rate)
    raise ValueError(f"model type {model_type!r} is not one of {MODEL_TYPES}; fix `type` in config")


def parameter_groups(model: nn.Module) -> list[list[nn.Parameter]]:
    """[body, head] for a SpectrogramClassifier, so freezing leaves only the head training;
    one group for any other network."""
    if isinstance(model, SpectrogramClassifier):
        head = list(model.head.parameters())
        head_ids = {id(p) for p in head}
        body = [p for p in model.parameters() if id(p) not in head_ids]
        return [body, head]
    return [list(model.parameters())]


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
