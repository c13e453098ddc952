"""Waveform augmentation on the training device: random gain, circular time shift, noise."""

from __future__ import annotations

import torch
from torch import nn

from audioclf.learn.limits import AUGMENT_DEFAULTS, NOISE_SNR_SPAN_DB

__all__ = ["AUGMENT_DEFAULTS", "NOISE_SNR_SPAN_DB", "WaveformAugment"]


def _enabled(value) -> bool:
    return value is not None and float(value) > 0


class WaveformAugment(nn.Module):
    """(B, 1, T) waveforms, each clip changed by its own random draw, in training mode only.

    A setting of 0 or None turns its step off. Draws use torch's global generator on the
    batch's device, so fastai's seeding makes a run repeatable and no batch leaves the GPU.
    """

    def __init__(
        self,
        gain_db: float | None = AUGMENT_DEFAULTS["gain_db"],
        shift_fraction: float | None = AUGMENT_DEFAULTS["shift_fraction"],
        noise_snr_db: float | None = AUGMENT_DEFAULTS["noise_snr_db"],
    ) -> None:
        super().__init__()
        for name, value in (
            ("gain_db", gain_db),
            ("shift_fraction", shift_fraction),
            ("noise_snr_db", noise_snr_db),
        ):
            if value is not None and float(value) < 0:
                raise ValueError(f"augmentation {name} must be 0 (off) or positive, got {value}")
        if _enabled(shift_fraction) and float(shift_fraction) > 1:
            raise ValueError(f"augmentation shift_fraction must be at most 1, got {shift_fraction}")
        self.gain_db = float(gain_db) if _enabled(gain_db) else None
        self.shift_fraction = float(shift_fraction) if _enabled(shift_fraction) else None
        self.noise_snr_db = float(noise_snr_db) if _enabled(noise_snr_db) else None

    @property
    def active(self) -> bool:
        return any(v is not None for v in (self.gain_db, self.shift_fraction, self.noise_snr_db))

    def extra_repr(self) -> str:
        return (
            f"gain_db={self.gain_db}, shift_fraction={self.shift_fraction}, "
            f"noise_snr_db={self.noise_snr_db}"
        )

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        if not self.training or not self.active:
            return wave
        batch, _, length = wave.shape
        device = wave.device
        if self.shift_fraction is not None:
            reach = int(self.shift_fraction * length)
            shifts = torch.randint(-reach, reach + 1, (batch, 1, 1), device=device)
            positions = torch.arange(length, device=device).view(1, 1, -1)
            index = (positions - shifts) % length
            wave = wave.gather(-1, index.expand(batch, wave.shape[1], length))
        if self.gain_db is not None:
            db = (torch.rand(batch, 1, 1, device=device) * 2 - 1) * self.gain_db
            wave = wave * torch.pow(10.0, db / 20)
        if self.noise_snr_db is not None:
            snr_db = self.noise_snr_db + torch.rand(batch, 1, 1, device=device) * NOISE_SNR_SPAN_DB
            power = wave.float().pow(2).mean(dim=-1, keepdim=True)
            noise_std = torch.sqrt(power / torch.pow(10.0, snr_db / 10))
            wave = wave + torch.randn_like(wave) * noise_std.to(wave.dtype)
        return wave
