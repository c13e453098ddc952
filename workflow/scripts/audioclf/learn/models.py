"""The networks as bare nn.Modules, each registered as a model type: raw1d (a 1D CNN on the
raw waveform), raw1d_deep (a deep M5-style one), spectrogram (a log-mel ResNet),
spectrogram_small (a compact log-mel 2D CNN), raw_filterbank (a learnable Gabor filterbank
on the waveform, then the compact 2D CNN) and crnn (the compact 2D CNN, then a GRU over
each whole clip); cnn14 (PANNs' CNN14 in the authors' checkpoint layout) has a module of its
own, learn/cnn14.py, imported at the end of this one."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from audioclf.learn.augment import AUGMENT_DEFAULTS, WaveformAugment
from audioclf.learn.features import (
    FilterbankFrontEnd,
    LogMelFrontEnd,
    WholeClipLogMel,
    time_mask,
)
from audioclf.learn.limits import FRONT_END_DEFAULTS, WHOLE_CLIP_DEFAULTS, check_whole_clip
from audioclf.learn.registry import register

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


@register(
    "raw1d",
    description="1D CNN on the raw waveform",
    waveform_input=True,
    encoder=lambda model: model[:3],  # the wide strided conv, its batch norm and ReLU
    # bf16 where every other default type has it, so contrasts with raw1d compare like
    # precision with like (its steps are cheap either way)
    cpu_autocast=True,
)
def build_raw1d(n_classes: int, clip_samples: int, sample_rate: int, settings: Mapping):
    """The seed's network: its shape depends on the clip length only."""
    return raw1d(n_classes, clip_samples)


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


RAW1D_DEEP_DEFAULTS = {
    "channels": 64,  # width of the first two blocks, doubled by each later one (M5: 128)
    "blocks": 4,  # conv blocks, the first included (M5: 4)
    "convs_per_block": 1,  # conv layers per block after the first (M5: 1; M11-like: 2)
    "first_kernel": 80,  # 5 ms at 16 kHz
    "first_stride": 4,
    "kernel_size": 3,
    "pool": 4,  # max-pool size (and stride) after every block
    "dropout": 0.2,  # before the linear head
    **AUGMENT_DEFAULTS,
}


def conv_block(c_in: int, c_out: int, kernel: int, stride: int, convs: int, pool: int):
    """`convs` x (Conv1d + BatchNorm1d + ReLU), then MaxPool1d(pool), the last ReLU after
    the pool: max and ReLU commute exactly (ReLU is monotone), so outputs and gradients are
    the same, and the last ReLU and its backward touch `pool` times fewer values (the
    first block's ReLU backward was a third of raw1d_deep's CPU step)."""
    layers: list[nn.Module] = []
    for k in range(convs):
        step = stride if k == 0 else 1
        layers += [
            # padding keeps length / step frames (the length itself for odd kernels at step 1)
            nn.Conv1d(
                c_in if k == 0 else c_out,
                c_out,
                kernel_size=kernel,
                stride=step,
                padding=(kernel - step) // 2,
                bias=False,
            ),
            nn.BatchNorm1d(c_out),
            nn.ReLU(inplace=True),
        ]
    # (ReLU, MaxPool) -> (MaxPool, ReLU); parameterless, so state_dict keys are unchanged
    layers[-1:] = [nn.MaxPool1d(pool), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers)


def _conv_frames(stages: list[nn.Sequential], n_samples: int) -> int:
    """Frames left after `stages` for an `n_samples` input (0 when a layer would run dry)."""
    frames = n_samples
    for layer in (m for stage in stages for m in stage):
        if isinstance(layer, nn.Conv1d):
            (kernel,), (stride,), (padding,) = layer.kernel_size, layer.stride, layer.padding
            frames = (frames + 2 * padding - kernel) // stride + 1
        elif isinstance(layer, nn.MaxPool1d):
            frames //= layer.kernel_size
        if frames < 1:
            return 0
    return frames


class RawWaveformCNN(nn.Module):
    """M5-style deep 1D CNN on the waveform: a wide strided first conv, small-kernel blocks,
    global average pooling and a linear head; waveform augmentation in training mode only."""

    def __init__(self, augment: WaveformAugment, features: nn.Sequential, head: nn.Module):
        super().__init__()
        self.augment = augment
        self.features = features
        self.head = head

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(self.augment(wave)).mean(dim=-1))


@register(
    "raw1d_deep",
    description="deep M5-style 1D CNN on the raw waveform, with waveform augmentation",
    waveform_input=True,
    augmentation="waveform",
    defaults=RAW1D_DEEP_DEFAULTS,
    cpu_autocast=True,
    encoder=lambda model: model.features[0],  # the first block: wide strided conv, pooling
    encoder_settings=("channels", "first_kernel", "first_stride", "pool"),
)
def build_raw1d_deep(n_classes: int, clip_samples: int, sample_rate: int, settings: Mapping):
    return raw1d_deep(n_classes, clip_samples, settings)


def raw1d_deep(n_classes: int, n_samples: int, settings: Mapping) -> RawWaveformCNN:
    """The deep raw-waveform network; `settings` may override any of RAW1D_DEEP_DEFAULTS."""
    s = {**RAW1D_DEEP_DEFAULTS, **settings}
    channels, blocks, convs = int(s["channels"]), int(s["blocks"]), int(s["convs_per_block"])
    first_kernel, first_stride = int(s["first_kernel"]), int(s["first_stride"])
    kernel, pool = int(s["kernel_size"]), int(s["pool"])
    if min(channels, blocks, convs, first_kernel, first_stride, kernel) < 1 or pool < 2:
        raise ValueError(
            f"raw1d_deep settings {s}: channels, blocks, convs_per_block, kernels and stride "
            "must be at least 1 and pool at least 2; fix them in config"
        )
    widths = [channels] + [channels * 2 ** max(0, i - 1) for i in range(1, blocks)]
    stages = [conv_block(1, widths[0], first_kernel, first_stride, 1, pool)]
    stages += [
        conv_block(widths[i - 1], widths[i], kernel, 1, convs, pool) for i in range(1, blocks)
    ]
    if _conv_frames(stages, n_samples) < 1:
        raise ValueError(
            f"raw1d_deep with {blocks} blocks (stride {first_stride}, pool {pool}) needs longer "
            f"clips than {n_samples} samples; raise clip_seconds or lower `blocks`"
        )
    head = nn.Sequential(nn.Dropout(float(s["dropout"])), nn.Linear(widths[-1], n_classes))
    augment = WaveformAugment(s["gain_db"], s["shift_fraction"], s["noise_snr_db"])
    return RawWaveformCNN(augment, nn.Sequential(*stages), head)


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
    import torchvision  # here, not at the top: loading a raw model need not import it (~2 s)

    net = torchvision.models.resnet18(weights=None)
    net.conv1 = nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3, bias=False)
    net.fc = nn.Linear(net.fc.in_features, n_classes)
    return net


@register(
    "spectrogram",
    description="CNN on the mel spectrogram",
    waveform_input=False,
    pretrained_body=True,
    augmentation="spectrogram_masks",
    defaults=SPECTROGRAM_DEFAULTS,
    cpu_autocast=True,
    channels_last=True,
)
def build_spectrogram(n_classes: int, clip_samples: int, sample_rate: int, settings: Mapping):
    return spectrogram(n_classes, settings, sample_rate)


def spectrogram(n_classes: int, settings: Mapping, sample_rate: int) -> SpectrogramClassifier:
    """The log-mel classifier; `settings` may override any of SPECTROGRAM_DEFAULTS."""
    merged = {**SPECTROGRAM_DEFAULTS, **settings}
    front_end = LogMelFrontEnd(sample_rate=sample_rate, **_front_end_settings(merged))
    arch = merged["arch"]
    if arch == "resnet18":
        return SpectrogramClassifier(front_end, resnet18_1ch(n_classes), "fc")
    if arch == "xresnet18":
        from fastai.vision.models.xresnet import xresnet18  # fastai takes seconds to import

        backbone = xresnet18(c_in=1, n_out=n_classes, pretrained=False)
        return SpectrogramClassifier(front_end, backbone, str(len(backbone) - 1))
    raise ValueError(f"spectrogram arch {arch!r} is not one of {ARCHES}; fix `arch` in config")


SMALL_CNN_DEFAULTS = {
    "channels": 24,  # width of the first block; x2 for the second, x4 from the third on
    "blocks": 4,  # 3x3 conv blocks, each halving both axes
    "dropout": 0.2,  # before the linear head
}
SPECTROGRAM_SMALL_DEFAULTS = {**FRONT_END_DEFAULTS, **SMALL_CNN_DEFAULTS}
RAW_FILTERBANK_DEFAULTS = {
    **SPECTROGRAM_SMALL_DEFAULTS,
    "init": "mel",
    # the filterbank's centres (as logits of their mel gaps) and widths learn at this share
    # of the model's lr, without weight decay. On FSDD (benchmarks/filterbank_drift.py,
    # benchmarks/README.md) the median centre moved 0.21 of its neighbour spacing at 1 and
    # 0.11 at 0.3, with no pair out of order and the same accuracy within one seed's noise
    # from 0.03 to 1: 0.3 keeps the mel layout with room for longer training
    "front_end_lr_mult": 0.3,
}


def small_cnn(n_classes: int, settings: Mapping) -> nn.Sequential:
    """A compact 2D CNN on a 1-channel image: `blocks` x (3x3 conv, batch norm, ReLU, 2x2
    max-pool), global average pooling, dropout, a linear head (its last layer)."""
    channels, blocks = int(settings["channels"]), int(settings["blocks"])
    if channels < 1 or blocks < 1:
        raise ValueError(
            f"channels {channels} and blocks {blocks} must be at least 1; fix them in config"
        )
    widths = [channels * 2 ** min(i, 2) for i in range(blocks)]
    layers: list[nn.Module] = []
    for c_in, c_out in zip([1, *widths[:-1]], widths, strict=True):
        layers += [
            nn.Conv2d(c_in, c_out, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(c_out),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2, ceil_mode=True),  # ceil: a 1-pixel axis stays 1, never 0
        ]
    layers += [
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Dropout(float(settings["dropout"])),
        nn.Linear(widths[-1], n_classes),
    ]
    return nn.Sequential(*layers)


def _front_end_settings(settings: Mapping) -> dict:
    return {k: int(settings[k]) for k in FRONT_END_DEFAULTS}


@register(
    "spectrogram_small",
    description="compact 2D CNN on the mel spectrogram, about as many parameters as raw1d_deep",
    waveform_input=False,
    augmentation="spectrogram_masks",
    defaults=SPECTROGRAM_SMALL_DEFAULTS,
    cpu_autocast=True,
    channels_last=True,
)
def build_spectrogram_small(n_classes: int, clip_samples: int, sample_rate: int, settings):
    front_end = LogMelFrontEnd(sample_rate=sample_rate, **_front_end_settings(settings))
    backbone = small_cnn(n_classes, settings)
    return SpectrogramClassifier(front_end, backbone, str(len(backbone) - 1))


@register(
    "raw_filterbank",
    description="learnable Gabor filterbank on the raw waveform, then the compact 2D CNN",
    waveform_input=True,
    augmentation="spectrogram_masks",
    defaults=RAW_FILTERBANK_DEFAULTS,
    cpu_autocast=True,
    channels_last=True,
    encoder=lambda model: FilterbankEncoder(model.front_end),  # the Gabor filterbank
    encoder_settings=("n_fft", "hop_length", "n_mels"),
)
def build_raw_filterbank(n_classes: int, clip_samples: int, sample_rate: int, settings):
    front_end = FilterbankFrontEnd(
        sample_rate=sample_rate, init=str(settings["init"]), **_front_end_settings(settings)
    )
    backbone = small_cnn(n_classes, settings)
    return SpectrogramClassifier(front_end, backbone, str(len(backbone) - 1))


class FilterbankEncoder(nn.Module):
    """The filterbank as an encoder: (B, 1, T) to (B, n_mels, frames), its normalised band
    energies, without the training masks (an autoencoder reconstructs what the filters see,
    not a masked copy of it). It holds the model's own front end, so training it trains
    the classifier's filters."""

    def __init__(self, front_end: FilterbankFrontEnd) -> None:
        super().__init__()
        self.front_end = front_end

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        was = self.front_end.training
        self.front_end.train(False)  # masks off; the front end has no other mode
        try:
            return self.front_end(wave).squeeze(1)
        finally:
            self.front_end.train(was)


CRNN_DEFAULTS = {
    **SPECTROGRAM_SMALL_DEFAULTS,
    **WHOLE_CLIP_DEFAULTS,
    "hidden": 64,  # GRU units each way
}


class CRNN(nn.Module):
    """Whole clips: log-mel, the compact CNN's conv blocks, the mean over frequency, a
    bidirectional GRU over time and attention pooling over each clip's own frames.

    `forward(wave, lengths)` takes a zero-padded batch and each clip's length in samples;
    every step is masked so a clip's output does not depend on what it is batched with
    (in evaluation mode: in training, batch norm's statistics include the padding).
    """

    def __init__(
        self, front_end: WholeClipLogMel, body: nn.Sequential, hidden: int, dropout: float,
        n_classes: int,
    ) -> None:  # fmt: skip
        super().__init__()
        width = [m for m in body if isinstance(m, nn.Conv2d)][-1].out_channels
        self.front_end = front_end
        self.body = body
        self.gru = nn.GRU(width, hidden, batch_first=True, bidirectional=True)
        self.attention = nn.Linear(2 * hidden, 1)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(2 * hidden, n_classes))

    def forward(self, wave: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """`lengths` None: every clip fills the batch, so nothing is masked or packed (the
        same outputs, in a graph that exports to ONNX)."""
        x, frames = self.front_end(wave, lengths)
        for layer in self.body:
            if isinstance(layer, nn.MaxPool2d) and lengths is not None:
                # after ReLU every value is >= 0, so zeros past the end never win a max
                x = layer(x * time_mask(frames, x.shape[-1]))
                frames = (frames + 1) // 2  # ceil_mode
            else:
                x = layer(x)
        x = x.mean(dim=2).transpose(1, 2)  # (B, frames, channels)
        if lengths is None:
            out, _ = self.gru(x)
            return self.head((self.attention(out).softmax(dim=1) * out).sum(dim=1))
        packed = nn.utils.rnn.pack_padded_sequence(
            x, frames.cpu(), batch_first=True, enforce_sorted=False
        )
        out, _ = self.gru(packed)
        out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
        valid = time_mask(frames, out.shape[1])[:, 0, 0, :].bool()
        scores = self.attention(out).squeeze(-1).masked_fill(~valid, float("-inf"))
        pooled = (scores.softmax(dim=1).unsqueeze(-1) * out).sum(dim=1)
        return self.head(pooled)


@register(
    "crnn",
    description="compact 2D CNN, then a bidirectional GRU over each whole clip",
    waveform_input=False,
    augmentation="spectrogram_masks",
    whole_clip=True,
    defaults=CRNN_DEFAULTS,
)
def build_crnn(n_classes: int, clip_samples: int, sample_rate: int, settings: Mapping):
    """Whole clips up to `max_seconds`: `clip_samples` (the crop models' length) is unused."""
    check_whole_clip(
        sample_rate,
        int(settings["n_fft"]),
        float(settings["max_seconds"]),
        float(settings["batch_seconds"]),
    )
    front_end = WholeClipLogMel(sample_rate=sample_rate, **_front_end_settings(settings))
    body = small_cnn(n_classes, settings)[: 4 * int(settings["blocks"])]  # conv blocks only
    return CRNN(front_end, body, int(settings["hidden"]), float(settings["dropout"]), n_classes)


def parameter_groups(model: nn.Module, frozen: nn.Module | None = None) -> list[list]:
    """[body, head] for a SpectrogramClassifier or a CNN14, so freezing leaves only the head
    training, and [front end, body, head] when its front end learns (`learnable_front_end`: the
    first group then gets its own lr and no weight decay); [`frozen`, the rest] when a
    pretrained encoder is given (freezing trains the rest first); one group for any other
    network."""
    if frozen is not None:
        ids = {id(p) for p in frozen.parameters()}
        return [list(frozen.parameters()), [p for p in model.parameters() if id(p) not in ids]]
    if isinstance(model, SpectrogramClassifier | cnn14.Cnn14):
        head = list(model.head.parameters())
        front = list(model.front_end.parameters()) if learnable_front_end(model) else []
        taken = {id(p) for p in head + front}
        body = [p for p in model.parameters() if id(p) not in taken]
        return [front, body, head] if front else [body, head]
    return [list(model.parameters())]


def learnable_front_end(model: nn.Module) -> bool:
    """Whether the model's first group is a front end that learns (a filterbank's centres
    and widths): the group parameter_groups puts first."""
    front_end = getattr(model, "front_end", None)
    return front_end is not None and any(True for _ in front_end.parameters())


def waveform_filters(model: nn.Module) -> torch.Tensor | None:
    """(filters, taps) impulse responses of the first layer of a model that reads the
    waveform: a learnable filterbank's complex Gabor filters, or the first 1-channel
    Conv1d's kernels; None for a model whose first layer sees an image."""
    front_end = getattr(model, "front_end", None)
    if isinstance(front_end, FilterbankFrontEnd):
        real, imaginary = front_end.kernels().detach()[:, 0].chunk(2)
        return torch.complex(real, imaginary)
    if front_end is not None:
        return None
    for module in model.modules():
        if isinstance(module, nn.Conv1d) and module.in_channels == 1:
            return module.weight.detach()[:, 0]
    return None


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# CNN14 registers after the types above (its module imports the registry, which imports
# this one), so the registry lists it last whichever module is imported first.
from audioclf.learn import cnn14  # noqa: E402, F401
