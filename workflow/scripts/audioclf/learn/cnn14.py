"""PANNs' CNN14 (Kong et al. 2020) with its own log-mel front end, registered as a model
type: its state_dict keys and shapes are those of the authors' 16 kHz AudioSet checkpoint
(Cnn14_16k_mAP=0.438.pth), so that file loads strictly (learn/weights.py) with only its
527-class head, `fc_audioset`, replaced by one for the configured labels."""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
import torchaudio.functional as AF
from torch import nn
from torch.nn import functional as F

from audioclf.learn.features import _masks
from audioclf.learn.limits import check_sample_rate
from audioclf.learn.published import AUDIOSET_CNN14
from audioclf.learn.registry import register

# The front end of the 16 kHz checkpoint (the authors' README and their Cnn14_16k, which
# asserts these values): a 512-sample periodic Hann window every 160 samples, centred
# with reflect padding; 64 Slaney mel bands from 50 to 8000 Hz; 10 log10 of the power.
# The rate is the published record's (learn/published.py), which the config check reads
# without torch.
SAMPLE_RATE = AUDIOSET_CNN14.sample_rate
WINDOW = 512
HOP = 160
MEL_BANDS = 64
F_MIN = 50.0
F_MAX = 8000.0
AMIN = 1e-10  # the power's floor before the log (torchlibrosa's amin; ref 1, no top_db)
BLOCKS = 6
DROPOUT_BLOCK = 0.2  # after every conv block
DROPOUT_HEAD = 0.5  # before fc1 and after it

CNN14_DEFAULTS = {
    "width": 64,  # channels of conv_block1, doubled by each later block (PANNs: 64, to 2048)
    # PANNs' SpecAugmentation: 2 stripes of up to 8 mel bands and 2 of up to 64 frames
    "freq_masks": 2,
    "freq_mask_width": 8,
    "time_masks": 2,
    "time_mask_width": 64,
}


class FixedConv1d(nn.Module):
    """A bias-free 1-channel Conv1d whose kernels are a buffer named `weight`: in the
    state_dict under a Conv1d's key, but no parameter, so no optimiser (and no fastai
    unfreeze) ever trains it."""

    def __init__(self, weight: torch.Tensor, stride: int) -> None:
        super().__init__()
        self.register_buffer("weight", weight)
        self.stride = stride

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        return F.conv1d(wave, self.weight, stride=self.stride)


class DftFrames(nn.Module):
    """The short-time DFT as two strided convolutions (`conv_real`, `conv_imag`) with the
    Hann-windowed cosines and negated sines of the first n_fft // 2 + 1 frequencies."""

    def __init__(self, n_fft: int, hop: int) -> None:
        super().__init__()
        # computed on the CPU in float64 whatever the default device (a model built on
        # the meta device still gets real kernels), then stored as float32
        with torch.device("cpu"):
            n = torch.arange(n_fft, dtype=torch.float64)
            k = torch.arange(n_fft // 2 + 1, dtype=torch.float64)[:, None]
            window = torch.hann_window(n_fft, periodic=True, dtype=torch.float64)
            angle = 2 * math.pi * k * n / n_fft
            real = (torch.cos(angle) * window).float()[:, None, :]
            imag = (-torch.sin(angle) * window).float()[:, None, :]
        self.n_fft = n_fft
        self.conv_real = FixedConv1d(real, hop)
        self.conv_imag = FixedConv1d(imag, hop)

    def forward(self, wave: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 1, T) to (real, imaginary) parts, each (B, 1, frames, bins)."""
        pad = self.n_fft // 2
        wave = F.pad(wave, (pad, pad), mode="reflect")
        return (
            self.conv_real(wave).transpose(1, 2)[:, None],
            self.conv_imag(wave).transpose(1, 2)[:, None],
        )


class PowerSpectrogram(nn.Module):
    """(B, 1, T) waveforms to (B, 1, frames, bins) power spectra."""

    def __init__(self, n_fft: int, hop: int) -> None:
        super().__init__()
        self.stft = DftFrames(n_fft, hop)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        real, imag = self.stft(wave)
        return real * real + imag * imag


class LogMel(nn.Module):
    """(B, 1, frames, bins) power spectra to (B, 1, frames, bands) 10 log10 mel energies,
    through Slaney-normalised Slaney-scale filters (`melW`, bins x bands; librosa's
    default filters, which torchaudio computes the same)."""

    def __init__(self, sample_rate: int, n_fft: int, bands: int, f_min: float, f_max: float):
        super().__init__()
        # torchaudio computes in the default dtype: in float32 its filters differ from
        # librosa's by up to 0.3% at the triangles' feet (2.5e-4 dB on the front-end test's
        # signal), in float64 by 1e-9. On the CPU, as DftFrames, even on the meta device.
        previous = torch.get_default_dtype()
        torch.set_default_dtype(torch.float64)
        try:
            with torch.device("cpu"):
                filters = AF.melscale_fbanks(
                    n_fft // 2 + 1, f_min, f_max, bands, sample_rate, norm="slaney",
                    mel_scale="slaney",
                )  # fmt: skip
        finally:
            torch.set_default_dtype(previous)
        self.register_buffer("melW", filters.float())

    def forward(self, power: torch.Tensor) -> torch.Tensor:
        return 10.0 * torch.log10((power @ self.melW).clamp(min=AMIN))


class ConvBlock(nn.Module):
    """Two 3x3 convolutions, each with batch norm and ReLU, then average pooling."""

    def __init__(self, c_in: int, c_out: int, pool: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, kernel_size=3, padding=1, bias=False)
        self.conv2 = nn.Conv2d(c_out, c_out, kernel_size=3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.pool = pool
        for conv in (self.conv1, self.conv2):
            nn.init.xavier_uniform_(conv.weight)  # the authors' init

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x))))))
        return F.avg_pool2d(x, self.pool) if self.pool > 1 else x


class Cnn14(nn.Module):
    """Waveform -> log-mel (on the model's device) -> batch norm over each mel band (`bn0`)
    -> six conv blocks -> the mean over bands, then max + mean over frames -> `fc1` ->
    `fc_audioset`, the head (new for our classes; the checkpoint's is for AudioSet's 527).
    In training: PANNs' dropout and the configured time and frequency masks."""

    def __init__(self, n_classes: int, width: int, masks: nn.ModuleList) -> None:
        super().__init__()
        self.spectrogram_extractor = PowerSpectrogram(WINDOW, HOP)
        self.logmel_extractor = LogMel(SAMPLE_RATE, WINDOW, MEL_BANDS, F_MIN, F_MAX)
        self.bn0 = nn.BatchNorm2d(MEL_BANDS)
        widths = [width * 2**i for i in range(BLOCKS)]
        for i, (c_in, c_out) in enumerate(zip([1, *widths[:-1]], widths, strict=True)):
            self.add_module(f"conv_block{i + 1}", ConvBlock(c_in, c_out, 2 if i < 5 else 1))
        self.fc1 = nn.Linear(widths[-1], widths[-1])
        self.fc_audioset = nn.Linear(widths[-1], n_classes)
        self.masks = masks
        for linear in (self.fc1, self.fc_audioset):
            nn.init.xavier_uniform_(linear.weight)
            nn.init.zeros_(linear.bias)

    @property
    def head(self) -> nn.Module:
        """The final classification layer (new for our classes, never pretrained)."""
        return self.fc_audioset

    def log_mel(self, wave: torch.Tensor) -> torch.Tensor:
        """(B, 1, T) waveforms to (B, 1, frames, bands) log-mel energies, in float32: the
        log of a power loses too much in half floats."""
        with torch.autocast(device_type=wave.device.type, enabled=False):
            return self.logmel_extractor(self.spectrogram_extractor(wave.float()))

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        x = self.bn0(self.log_mel(wave).transpose(1, 3)).transpose(1, 3)
        if self.training:
            x = x.transpose(2, 3)  # torchaudio's masks take (..., bands, frames)
            for mask in self.masks:
                x = mask(x)
            x = x.transpose(2, 3)
        for i in range(BLOCKS):
            x = getattr(self, f"conv_block{i + 1}")(x)
            x = F.dropout(x, DROPOUT_BLOCK, self.training)
        x = x.mean(dim=3)
        x = x.amax(dim=2) + x.mean(dim=2)
        x = F.relu(self.fc1(F.dropout(x, DROPOUT_HEAD, self.training)))
        return self.fc_audioset(F.dropout(x, DROPOUT_HEAD, self.training))


@register(
    "cnn14",
    description="PANNs CNN14 on its own 64-band log-mel, AudioSet-pretrained or from scratch",
    waveform_input=False,
    pretrained_body=True,
    augmentation="spectrogram_masks",
    defaults=CNN14_DEFAULTS,
    # as spectrogram, so that the AudioSet-vs-ImageNet contrast compares like precision
    # with like (unmeasured for CNN14 itself: benchmarks/cnn14_speed.py times float32)
    cpu_autocast=True,
)
def build_cnn14(n_classes: int, clip_samples: int, sample_rate: int, settings: Mapping):
    """CNN14 at `width` (64: the checkpoint's); its front end is defined at 16 kHz only."""
    check_sample_rate(AUDIOSET_CNN14.fits, sample_rate)
    width = int(settings["width"])
    if width < 1:
        raise ValueError(f"width {width} must be at least 1; fix it in config")
    masks = _masks(
        int(settings["freq_masks"]), int(settings["freq_mask_width"]),
        int(settings["time_masks"]), int(settings["time_mask_width"]),
    )  # fmt: skip
    return Cnn14(n_classes, width, masks)
