"""An autoencoder whose encoder is exactly a waveform model's first layer(s), and the
multi-resolution spectral loss it is trained with."""

from __future__ import annotations

import torch
from torch import nn

# STFT sizes of the reconstruction loss: short windows for onsets, long ones for pitch
LOSS_FFTS = (256, 512, 1024)


def total_stride(encoder: nn.Module, n_samples: int = 48_000) -> tuple[int, int]:
    """(channels, samples per output frame) of `encoder` on a (1, 1, n_samples) input."""
    was = encoder.training
    encoder.eval()
    with torch.no_grad():
        out = encoder(torch.zeros(1, 1, n_samples))
    encoder.train(was)
    return int(out.shape[1]), max(1, round(n_samples / out.shape[-1]))


class WaveformAutoencoder(nn.Module):
    """`encoder` (shared with the classifier it came from), then a learned overlap-add
    synthesis back to the waveform: one transposed convolution whose windows are two
    encoder frames long."""

    def __init__(self, encoder: nn.Module) -> None:
        super().__init__()
        self.encoder = encoder
        channels, stride = total_stride(encoder)
        self.decoder = nn.ConvTranspose1d(
            channels, 1, kernel_size=2 * stride, stride=stride, padding=stride // 2
        )

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        out = self.decoder(self.encoder(wave))
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
