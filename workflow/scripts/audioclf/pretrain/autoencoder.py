"""An autoencoder whose encoder is exactly a waveform model's first layer(s), and the
multi-resolution spectral loss it is trained with."""

from __future__ import annotations

import torch
from torch import nn

# STFT sizes of the reconstruction loss: short windows for onsets, long ones for pitch
LOSS_FFTS = (256, 512, 1024)


def _frames(encoder: nn.Module, n_samples: int) -> tuple[int, int]:
    """(channels, frames) of `encoder` on a (1, 1, n_samples) input."""
    with torch.no_grad():
        out = encoder(torch.zeros(1, 1, n_samples))
    return int(out.shape[1]), int(out.shape[-1])


def encoder_geometry(encoder: nn.Module, n_samples: int = 48_000) -> tuple[int, int, float]:
    """(channels, stride, centre) of a strided encoder: frame j is centred on input sample
    j * stride + centre. A conv stack gives floor((n - span) / stride) + 1 frames for n
    samples (span: its receptive field less its padding), so the stride is the growth in
    samples per frame, and the span the length at which a frame is added; the centre of
    frame 0 is span / 2."""
    was = encoder.training
    encoder.eval()
    try:
        channels, f1 = _frames(encoder, n_samples)
        _, f2 = _frames(encoder, 2 * n_samples)
        if f2 <= f1:
            raise ValueError("the encoder's output does not grow with its input")
        stride = round(n_samples / (f2 - f1))
        # the first length past n_samples at which one more frame appears
        low, high = n_samples, n_samples + stride
        while low < high:
            mid = (low + high) // 2
            if _frames(encoder, mid)[1] > f1:
                high = mid
            else:
                low = mid + 1
        span = low - f1 * stride
    finally:
        encoder.train(was)
    return channels, stride, span / 2


class WaveformAutoencoder(nn.Module):
    """`encoder` (shared with the classifier it came from), then a learned overlap-add
    synthesis back to the waveform: one transposed convolution whose windows are two
    encoder frames long, each centred where its encoder frame is."""

    def __init__(self, encoder: nn.Module) -> None:
        super().__init__()
        self.encoder = encoder
        channels, stride, centre = encoder_geometry(encoder)
        self.decoder = nn.ConvTranspose1d(channels, 1, kernel_size=2 * stride, stride=stride)
        # decoder window j starts at j * stride and is centred at j * stride + stride
        self.shift = round(centre) - stride

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        out = self.decoder(self.encoder(wave))
        if self.shift > 0:
            out = nn.functional.pad(out, (self.shift, 0))
        elif self.shift < 0:
            out = out[..., -self.shift :]
        n = wave.shape[-1]
        if out.shape[-1] < n:
            out = nn.functional.pad(out, (0, n - out.shape[-1]))
        return out[..., :n]


def spectral_loss(estimate: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Multi-resolution STFT loss: spectral convergence plus log-magnitude L1, summed over
    LOSS_FFTS. It compares what the classifier needs, energy over time and frequency, and
    ignores phase, which a strided encoder cannot keep and a waveform loss would punish."""
    total = estimate.new_zeros(())
    x, y = estimate.flatten(0, -2), target.flatten(0, -2)
    for n_fft in LOSS_FFTS:
        window = torch.hann_window(n_fft, device=x.device)
        spec_x = torch.stft(x, n_fft, n_fft // 4, window=window, return_complex=True).abs()
        spec_y = torch.stft(y, n_fft, n_fft // 4, window=window, return_complex=True).abs()
        convergence = torch.linalg.norm(spec_y - spec_x) / torch.linalg.norm(spec_y).clamp(1e-7)
        log_l1 = (torch.log(spec_x + 1e-5) - torch.log(spec_y + 1e-5)).abs().mean()
        total = total + convergence + log_l1
    return total / len(LOSS_FFTS)


def waveform_loss(estimate: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error of the samples."""
    return nn.functional.mse_loss(estimate, target)


LOSSES = {"spectral": spectral_loss, "waveform": waveform_loss}


def encoder_keys(model: nn.Module, encoder: nn.Module) -> list[str]:
    """The keys of `model`'s state_dict that hold `encoder`'s parameters and buffers."""
    owned = {id(t) for t in list(encoder.parameters()) + list(encoder.buffers())}
    named = list(model.named_parameters()) + list(model.named_buffers())
    return [name for name, tensor in named if id(tensor) in owned]
