"""Front ends that turn waveforms into images: log-mel (fixed) or a learnable Gabor
filterbank, each with per-example normalisation and SpecAugment masks."""

from __future__ import annotations

import math

import torch
import torchaudio.transforms as T
from torch import nn

from audioclf.learn.limits import FRONT_END_DEFAULTS, SIGMA_MIN, check_filterbank

# half-maximum width of exp(-f^2 / sigma_f^2), the energy response, in units of sigma_f
ENERGY_FWHM = 2 * math.sqrt(math.log(2))


def _bounded(value: torch.Tensor, low: float, high: float) -> torch.Tensor:
    """`value` clamped to [low, high] in the forward pass, with the gradient passed through
    unchanged: a plain clamp has zero gradient at its bounds, so a filter pushed onto one
    would stay there for good."""
    return value + (value.clamp(low, high) - value).detach()


def _masks(freq_masks: int, freq_mask_width: int, time_masks: int, time_mask_width: int):
    masks = []
    if freq_mask_width > 0:
        masks += [T.FrequencyMasking(freq_mask_width, True) for _ in range(freq_masks)]
    if time_mask_width > 0:
        masks += [T.TimeMasking(time_mask_width, True) for _ in range(time_masks)]
    return nn.ModuleList(masks)


def _finish(image: torch.Tensor, masks: nn.ModuleList, training: bool) -> torch.Tensor:
    """Per-example normalisation (zero mean, unit variance), then masks in training only."""
    mean = image.mean(dim=(-2, -1), keepdim=True)
    std = image.std(dim=(-2, -1), keepdim=True)
    image = (image - mean) / (std + 1e-5)
    if training:
        for mask in masks:
            image = mask(image)
    return image


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
        self.masks = _masks(freq_masks, freq_mask_width, time_masks, time_mask_width)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        # Mel filterbanks and dB conversion lose too much precision in half floats.
        with torch.autocast(device_type=wave.device.type, enabled=False):
            return _finish(self.to_db(self.melspec(wave.float())), self.masks, self.training)


def time_mask(frames: torch.Tensor, n_frames: int) -> torch.Tensor:
    """(B, 1, 1, n_frames) of 1.0 on each clip's first `frames[b]` frames and 0.0 after."""
    valid = torch.arange(n_frames, device=frames.device)[None, :] < frames[:, None]
    return valid.float()[:, None, None, :]


class WholeClipLogMel(LogMelFrontEnd):
    """LogMelFrontEnd for a zero-padded batch of whole clips of different lengths.

    `forward(wave, lengths)` returns (images, frames): clip b's first `frames[b]` frames
    are exactly what LogMelFrontEnd gives that clip alone (its own reflect padding at both
    ends, normalised over its own frames only), and every frame after them is 0, so the
    convolutions that follow see the same zero border as for the clip alone.
    """

    def __init__(self, sample_rate: int = 16000, **settings: int) -> None:
        super().__init__(sample_rate, **settings)
        m = self.melspec
        # centring is done per clip in forward, so a clip is reflected at its own end
        self.melspec = T.MelSpectrogram(
            sample_rate=sample_rate,
            n_fft=m.n_fft,
            hop_length=m.hop_length,
            n_mels=m.n_mels,
            center=False,
        )

    def frames(self, lengths: torch.Tensor) -> torch.Tensor:
        """Frames of clips of `lengths` samples (as the centred STFT gives them)."""
        pad = self.melspec.n_fft // 2
        return 1 + (lengths + 2 * pad - self.melspec.n_fft) // self.melspec.hop_length

    def forward(
        self, wave: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        n_fft = self.melspec.n_fft
        pad = n_fft // 2
        if int(lengths.min()) <= pad:
            raise ValueError(
                f"a clip of {int(lengths.min())} samples is too short for n_fft {n_fft}: "
                "whole clips are tiled to n_fft samples when they are read"
            )
        with torch.autocast(device_type=wave.device.type, enabled=False):
            wave = wave.float()
            padded = wave.new_zeros(wave.shape[0], 1, wave.shape[-1] + 2 * pad)
            for b, n in enumerate(lengths.tolist()):
                clip = wave[b : b + 1, :, :n]
                padded[b, :, : n + 2 * pad] = nn.functional.pad(clip, (pad, pad), "reflect")[0]
            image = self.to_db(self.melspec(padded))
            frames = self.frames(lengths.to(wave.device))
            valid = time_mask(frames, image.shape[-1])
            count = (frames * image.shape[-2]).to(image.dtype).view(-1, 1, 1, 1)
            mean = (image * valid).sum(dim=(-2, -1), keepdim=True) / count
            spread = ((image - mean) * valid).pow(2).sum(dim=(-2, -1), keepdim=True)
            std = (spread / (count - 1).clamp(min=1)).sqrt()
            image = (image - mean) / (std + 1e-5) * valid
            if self.training:
                for mask in self.masks:
                    image = mask(image)
            return image, frames


def hz_to_mel(hz: torch.Tensor) -> torch.Tensor:
    """HTK mel scale, as torchaudio's mel filterbank uses it."""
    return 2595.0 * torch.log10(1.0 + hz / 700.0)


def mel_to_hz(mel: torch.Tensor) -> torch.Tensor:
    return 700.0 * (10 ** (mel / 2595.0) - 1.0)


def mel_band_edges(n_mels: int, sample_rate: int) -> torch.Tensor:
    """The n_mels + 2 edge frequencies (Hz) of torchaudio's HTK mel filterbank, 0 to Nyquist:
    band k is the triangle over edges k .. k + 2, centred on edge k + 1."""
    top = float(hz_to_mel(torch.tensor(sample_rate / 2, dtype=torch.float64)))
    return mel_to_hz(torch.linspace(0.0, top, n_mels + 2, dtype=torch.float64))


def mel_half_max_hz(centres_hz: torch.Tensor, n_mels: int, sample_rate: int) -> torch.Tensor:
    """The half-maximum width (Hz) the mel rule gives a band centred at each frequency: half
    the base of a triangle one mel step either side of its centre, as mel_band_edges' band
    k + 1 at its own centre; the same rule at any centre, so the init factor can move
    centres alone."""
    step = float(hz_to_mel(torch.tensor(sample_rate / 2, dtype=torch.float64))) / (n_mels + 1)
    mel = hz_to_mel(centres_hz.double())
    return (mel_to_hz(mel + step) - mel_to_hz((mel - step).clamp(min=0.0))) / 2


class FilterbankFrontEnd(nn.Module):
    """(B, 1, T) waveforms to (B, 1, n_mels, frames) normalised log-energy images, through a
    learnable bank of complex Gabor filters (one per band, n_fft taps), their energy pooled
    to one frame every hop_length samples.

    Each filter is a Gaussian window times a complex sinusoid; its centre frequency and
    window width are trained with the rest of the model. `init="mel"` puts the filters on
    torchaudio's mel bands (centre on the band's centre, the half-maximum width of its
    energy response on the triangle's); `init="random"` draws centres uniformly between
    0 Hz and Nyquist, and `init="linear"` spaces them evenly, each with the width the mel
    rule gives at its centre (mel_half_max_hz), so the inits differ in placement alone. Energy
    is |output|^2 in dB, then the same normalisation and training masks as LogMelFrontEnd;
    `settings` are its keys (FRONT_END_DEFAULTS), with the same defaults.
    """

    def __init__(self, sample_rate: int = 16000, init: str = "mel", **settings: int) -> None:
        super().__init__()
        unknown = sorted(set(settings) - set(FRONT_END_DEFAULTS))
        if unknown:
            raise TypeError(f"FilterbankFrontEnd got unknown setting(s) {unknown}")
        s = {**FRONT_END_DEFAULTS, **settings}
        n_fft, hop_length, n_mels = s["n_fft"], s["hop_length"], s["n_mels"]
        check_filterbank(sample_rate, n_fft, hop_length, n_mels, init)
        self.sample_rate, self.n_fft, self.hop_length = sample_rate, n_fft, hop_length
        self.sigma_max = n_fft / 6
        nyquist = sample_rate / 2
        if init == "mel":
            centres_hz = mel_band_edges(n_mels, sample_rate)[1:-1]
        elif init == "linear":
            centres_hz = torch.linspace(0.0, nyquist, n_mels + 2, dtype=torch.float64)[1:-1]
        else:
            centres_hz = torch.sort(torch.rand(n_mels, dtype=torch.float64) * nyquist).values
        centres = centres_hz / sample_rate
        # The energy response |H|^2 of a Gaussian-windowed sinusoid is a Gaussian of std
        # sigma_f / sqrt(2); its half-maximum width is set to the mel rule's at the centre
        # (the triangle's, half its base, at mel init).
        half_max = mel_half_max_hz(centres_hz, n_mels, sample_rate) / sample_rate
        sigmas = 1.0 / (2 * math.pi * half_max / ENERGY_FWHM)
        sigmas = sigmas.clamp(SIGMA_MIN, self.sigma_max)
        # centres in cycles per sample (0 to 0.5), window widths in samples (as logs)
        self.centres = nn.Parameter(centres.float())
        self.log_sigmas = nn.Parameter(sigmas.log().float())
        # kept in model.pt, so the report can show where training moved the filters
        self.register_buffer("initial_centres", centres.float().clone())
        self.register_buffer("taps", torch.arange(n_fft, dtype=torch.float32) - (n_fft - 1) / 2)
        # Energy is computed every `step` samples and pooled over a squared-Hann window of
        # n_fft samples down to hop_length: the time resolution of the STFT behind the
        # mel spectrogram, while each filter keeps its mel band's frequency width.
        self.pool_stride = next(k for k in (4, 3, 2, 1) if hop_length % k == 0)
        self.step = hop_length // self.pool_stride
        half = (n_fft // 2) // self.step
        pool = torch.hann_window(2 * half + 3, periodic=False)[1:-1] ** 2
        self.register_buffer("pool", (pool / pool.sum()).view(1, 1, -1))
        self.masks = _masks(
            s["freq_masks"], s["freq_mask_width"], s["time_masks"], s["time_mask_width"]
        )

    def centre_hz(self) -> torch.Tensor:
        """The filters' centre frequencies now, in Hz (for the report)."""
        return self.centres.detach().abs().clamp(0, 0.5) * self.sample_rate

    def kernels(self) -> torch.Tensor:
        """(2 * n_mels, 1, n_fft): the real parts, then the imaginary parts; each window sums
        to 1, so every filter passes its centre frequency at unit gain."""
        sigmas = _bounded(self.log_sigmas.exp(), SIGMA_MIN, self.sigma_max)
        window = torch.exp(-0.5 * (self.taps / sigmas[:, None]) ** 2)
        window = window / window.sum(dim=1, keepdim=True)
        # |centre|: a filter's energy is the same at -f and f, so one pushed below 0 Hz
        # reflects back (and keeps its gradient) instead of sticking at 0 Hz
        phase = 2 * math.pi * _bounded(self.centres.abs(), 0.0, 0.5)[:, None] * self.taps
        return torch.cat([window * torch.cos(phase), window * torch.sin(phase)]).unsqueeze(1)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        with torch.autocast(device_type=wave.device.type, enabled=False):
            out = nn.functional.conv1d(
                wave.float(), self.kernels(), stride=self.step, padding=self.n_fft // 2
            )
            real, imaginary = out.chunk(2, dim=1)
            energy = real.pow(2) + imaginary.pow(2)  # (B, n_mels, sub-frames)
            bands = energy.shape[1]
            pooled = nn.functional.conv1d(
                energy.reshape(-1, 1, energy.shape[-1]),
                self.pool,
                stride=self.pool_stride,
                padding=self.pool.shape[-1] // 2,
            ).view(energy.shape[0], bands, -1)
            image = 10.0 * torch.log10(pooled.clamp(min=1e-10)).unsqueeze(1)
            return _finish(image, self.masks, self.training)


def filterbank_centres(
    state_dict: dict, sample_rate: int, prefix: str = "front_end."
) -> tuple[torch.Tensor, torch.Tensor] | None:
    """(initial, trained) centre frequencies in Hz of the FilterbankFrontEnd in a model's
    state_dict, or None when the model has none."""
    if f"{prefix}centres" not in state_dict:
        return None
    initial = state_dict[f"{prefix}initial_centres"].abs().clamp(0, 0.5) * sample_rate
    return initial, state_dict[f"{prefix}centres"].abs().clamp(0, 0.5) * sample_rate
