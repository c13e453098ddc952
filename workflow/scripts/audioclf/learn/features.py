"""The spectrogram model's front end: log-mel, per-example normalisation, SpecAugment masks."""

from __future__ import annotations

import torch
import torchaudio.transforms as T
from torch import nn

FRONT_END_DEFAULTS = {
    "n_fft": 1024,
    "hop_length": 200,
    "n_mels": 128,
    # fastaudio's defaults: one mask of up to 20 mel bins and one of up to 20 frames
    "freq_masks": 1,
    "freq_mask_width": 20,
    "time_masks": 1,
    "time_mask_width": 20,
}


class LogMelFrontEnd(nn.Module):
    """(B, 1, T) waveforms to (B, 1, n_mels, frames) normalised log-mel images.

    It runs inside the model so the features are computed on the training device. Masks are
    applied in training mode only, so evaluation is deterministic.
    """

    def __init__(
        self,
        sample_rate: int = 16000,
        n_fft: int = 1024,
        hop_length: int = 200,
        n_mels: int = 128,
        freq_masks: int = 1,
        freq_mask_width: int = 20,
        time_masks: int = 1,
        time_mask_width: int = 20,
    ) -> None:
        super().__init__()
        self.melspec = T.MelSpectrogram(
            sample_rate=sample_rate, n_fft=n_fft, hop_length=hop_length, n_mels=n_mels
        )
        self.to_db = T.AmplitudeToDB(stype="power")
        masks = []
        if freq_mask_width > 0:
            masks += [T.FrequencyMasking(freq_mask_width, True) for _ in range(freq_masks)]
        if time_mask_width > 0:
            masks += [T.TimeMasking(time_mask_width, True) for _ in range(time_masks)]
        self.masks = nn.ModuleList(masks)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        # Mel filterbanks and dB conversion lose too much precision in half floats.
        with torch.autocast(device_type=wave.device.type, enabled=False):
            image = self.to_db(self.melspec(wave.float()))
            mean = image.mean(dim=(-2, -1), keepdim=True)
            std = image.std(dim=(-2, -1), keepdim=True)
            image = (image - mean) / (std + 1e-5)
            if self.training:
                for mask in self.masks:
                    image = mask(image)
        return image
