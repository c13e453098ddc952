"""The model registry: every model type, named once, with its builder, defaults and flags.

Training, evaluation, prediction and the report read MODEL_TYPES; the config schema's
`type` enum lists the same names (the Snakefile validates without importing torch; a test
keeps the two equal). Adding a model type is one builder decorated with `@register(...)`
(the built-in ones are in learn/models.py and learn/cnn14.py) and its tiny settings in
tests/conftest.py.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import torch
from torch import nn

from audioclf.learn.limits import TRAINING_DEFAULTS

AUGMENTATIONS = (None, "waveform", "spectrogram_masks")

# builder(n_classes, clip_samples, sample_rate, settings) -> a freshly initialised nn.Module
Builder = Callable[[int, int, int, Mapping], nn.Module]
# encoder(model) -> the model's first layer(s) that an autoencoder can pretrain, as a module
# sharing the model's own parameters
Encoder = Callable[[nn.Module], nn.Module]


@dataclass(frozen=True)
class ModelType:
    """One model type: how to build it, what it defaults to, how the report names it.

    `waveform_input`: the network reads the waveform itself (no fixed spectrogram front
    end). `pretrained_body`: it has a body that pretrained weights can fill and fine-tuning
    can freeze. `augmentation`: what it does to its input in training ("waveform" gain,
    shift and noise; "spectrogram_masks" time/frequency masks; None). `whole_clip`: it reads
    each whole clip (up to its `max_seconds`) with its length, `model(wave, lengths)`,
    batched by length and padded, instead of fixed-length crops. `cpu_autocast`: bf16
    autocast trains it faster than float32 on a CPU with native bf16, so
    `mixed_precision: auto` uses it there (or, for raw1d, so that its contrasts with the
    other default types compare like precision with like: its steps are cheap either way).
    `channels_last`: a 2D CNN that trains faster with its images and weights in
    channels-last memory order. Both flags are what benchmarks/train_speed.py measured,
    model type by model type, but for raw1d's cpu_autocast. `onnx_export`: its eval-mode
    network exports to ONNX (learn/export.py refuses a type without it, by name).
    """

    name: str
    builder: Builder = field(repr=False)
    defaults: Mapping
    description: str
    waveform_input: bool
    pretrained_body: bool
    augmentation: str | None
    whole_clip: bool = False
    encoder: Encoder | None = field(default=None, repr=False)
    encoder_settings: tuple[str, ...] = ()
    cpu_autocast: bool = False
    channels_last: bool = False
    onnx_export: bool = True

    def __post_init__(self) -> None:
        if self.augmentation not in AUGMENTATIONS:
            raise ValueError(f"model type {self.name}: augmentation must be in {AUGMENTATIONS}")
        clash = sorted(set(self.defaults) & set(TRAINING_DEFAULTS))
        if clash:
            raise ValueError(f"model type {self.name}: defaults {clash} are training settings")


MODEL_TYPES: dict[str, ModelType] = {}


def add(entry: ModelType) -> ModelType:
    """Put `entry` in MODEL_TYPES; a name can be registered once."""
    if entry.name in MODEL_TYPES:
        raise ValueError(f"model type {entry.name!r} is registered twice")
    MODEL_TYPES[entry.name] = entry
    return entry


def register(
    name: str,
    *,
    description: str,
    waveform_input: bool,
    pretrained_body: bool = False,
    augmentation: str | None = None,
    whole_clip: bool = False,
    encoder: Encoder | None = None,
    encoder_settings: tuple[str, ...] = (),
    cpu_autocast: bool = False,
    channels_last: bool = False,
    onnx_export: bool = True,
    defaults: Mapping | None = None,
) -> Callable[[Builder], Builder]:
    """Decorator: register the builder below it as model type `name` (as timm's
    @register_model does). The builders of the built-in types are in learn/models.py and
    learn/cnn14.py."""

    def decorate(builder: Builder) -> Builder:
        add(
            ModelType(
                name,
                builder,
                dict(defaults or {}),
                description,
                waveform_input,
                pretrained_body,
                augmentation,
                whole_clip,
                encoder,
                tuple(encoder_settings),
                cpu_autocast,
                channels_last,
                onnx_export,
            )
        )
        return builder

    return decorate


def model_type(name: str | None) -> ModelType:
    """The registry entry of `name`; an unknown type is an error listing the known ones."""
    if name not in MODEL_TYPES:
        raise ValueError(
            f"model type {name!r} is not one of {', '.join(MODEL_TYPES)}; fix `type` in config"
        )
    return MODEL_TYPES[name]


def resolve_settings(settings: Mapping) -> dict:
    """A model's config with training and type defaults filled in: what model.pt records,
    so the file says exactly what was trained even if a default changes later."""
    if settings.get("type") is None:
        raise ValueError(
            f"model settings {dict(settings)} have no `type` (one of {', '.join(MODEL_TYPES)})"
        )
    entry = model_type(settings["type"])
    return {**TRAINING_DEFAULTS, **entry.defaults, **settings}


def build_model(
    settings: Mapping, n_classes: int, clip_samples: int, sample_rate: int
) -> nn.Module:
    """A freshly initialised network for `settings` (no pretrained weights: see weights.py),
    its weights in the memory order its type computes fastest in (`channels_last`; the
    values, state_dict keys and shapes are the same either way)."""
    entry = model_type(settings.get("type"))
    model = entry.builder(n_classes, clip_samples, sample_rate, {**entry.defaults, **settings})
    if entry.channels_last:
        model = model.to(memory_format=torch.channels_last)
    return model


# The built-in types register themselves when their builders are defined.
from audioclf.learn import models  # noqa: E402, F401
