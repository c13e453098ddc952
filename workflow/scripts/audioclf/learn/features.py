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

    def energies_db(self, wave: torch.Tensor) -> torch.Tensor:
        """(B, 1, n_mels, frames) mel band energies in dB, before the per-clip normalisation."""
        # Mel filterbanks and dB conversion lose too much precision in half floats.
        with torch.autocast(device_type=wave.device.type, enabled=False):
            return self.to_db(self.melspec(wave.float()))

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        return _finish(self.energies_db(wave), self.masks, self.training)


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
        self, wave: torch.Tensor, lengths: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """`lengths` None: every clip fills the batch (a graph exported for one clip at a
        time runs this, with no loop over clips and no masks)."""
        n_fft = self.melspec.n_fft
        pad = n_fft // 2
        if lengths is None:
            return self._unpadded(wave, pad)
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

    def _unpadded(self, wave: torch.Tensor, pad: int) -> tuple[torch.Tensor, torch.Tensor]:
        """forward for a batch of clips that all fill it: the same images, no masks."""
        if wave.shape[-1] <= pad:
            raise ValueError(
                f"a clip of {wave.shape[-1]} samples is too short for n_fft {2 * pad}: "
                "whole clips are tiled to n_fft samples when they are read"
            )
        with torch.autocast(device_type=wave.device.type, enabled=False):
            padded = nn.functional.pad(wave.float(), (pad, pad), "reflect")
            image = _finish(self.to_db(self.melspec(padded)), self.masks, self.training)
        frames = torch.full((wave.shape[0],), image.shape[-1], dtype=torch.int64)
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


AMIN = 1e-10  # the power floor of every front end's dB image (AmplitudeToDB's amin)


# Energy of a band is sampled at least every this many samples before it is pooled to
# frames: sparser samples of a wide band's fast-moving energy scatter its frames' values
# (on FSDD, 64 bands at hop 400: 1.43 dB mean |difference| from the log-mel sampled every
# 100 samples, 0.96 dB every 50).
ENERGY_STEP = 50

# A Gaussian energy response passes white noise over sqrt(pi / (4 ln 2)) = 1.064 times its
# half-maximum width; a triangle over exactly its half-maximum width.
GAUSSIAN_NOISE_WIDTH = math.sqrt(math.pi / (4 * math.log(2)))


def stft_power_gain(n_fft: int) -> float:
    """The scale that puts the filterbank's energies on the log-mel's: the log-mel's STFT
    (periodic Hann window of n_fft points, unnormalised) gives a band n_fft times the
    window's summed square (Parseval; about 56 dB at 1,024 points) of the power a filter
    whose window sums to 1 gives, over the Gaussian's wider noise band; white noise then
    gets the same energy from a filter as from the mel triangle of its half-maximum width."""
    window = torch.hann_window(n_fft, periodic=True, dtype=torch.float64)
    return float(n_fft * window.pow(2).sum()) / GAUSSIAN_NOISE_WIDTH


class FilterbankFrontEnd(nn.Module):
    """(B, 1, T) waveforms to (B, 1, n_mels, frames) normalised log-energy images, through a
    learnable bank of complex Gabor filters (one per band, n_fft taps), their energy pooled
    to one frame every hop_length samples.

    Each filter is a Gaussian window times a complex sinusoid; its centre frequency and
    window width are trained with the rest of the model. The centres are held as the
    n_mels + 1 gaps between 0, the centres and the Nyquist frequency on the mel scale, as
    logits of shares of that range (`mel_gap_logits`), so any step keeps them in frequency
    order and inside (0, Nyquist): the rows of the image stay in frequency order, which the
    2D CNN after it assumes.

    `init="mel"` puts the filters on torchaudio's mel bands (centre on the band's centre,
    the half-maximum width of its energy response on the triangle's); `init="random"` draws
    centres uniformly between 0 Hz and Nyquist, and `init="linear"` spaces them evenly, each
    with the width the mel rule gives at its centre (mel_half_max_hz), so the inits differ
    in placement alone. Energy is |output|^2 times stft_power_gain, in dB above the log-mel's
    floor, then the same normalisation and training masks as LogMelFrontEnd; `settings` are
    its keys (FRONT_END_DEFAULTS), with the same defaults.

    The state dict keeps the centre frequencies in Hz as `centres` (as trained, refreshed
    whenever it is saved) and `initial_centres`, for the report and for anyone who checks.
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
        self.top_mel = float(hz_to_mel(torch.tensor(sample_rate / 2, dtype=torch.float64)))
        self.gain = stft_power_gain(n_fft)
        centres_hz = initial_centres_hz(init, n_mels, sample_rate)
        mels = hz_to_mel(centres_hz)
        gaps = torch.diff(torch.cat([mels.new_zeros(1), mels, mels.new_full((1,), self.top_mel)]))
        self.mel_gap_logits = nn.Parameter(gaps.clamp(min=1e-6).log().float())
        # The energy response |H|^2 of a Gaussian-windowed sinusoid is a Gaussian of std
        # sigma_f / sqrt(2); its half-maximum width is set to the mel rule's at the centre
        # (the triangle's, half its base, at mel init). Window widths in samples, as logs.
        half_max = mel_half_max_hz(centres_hz, n_mels, sample_rate) / sample_rate
        sigmas = (ENERGY_FWHM / (2 * math.pi * half_max)).clamp(SIGMA_MIN, self.sigma_max)
        self.log_sigmas = nn.Parameter(sigmas.log().float())
        self.register_buffer("centres", self.centre_hz())
        self.register_buffer("initial_centres", self.centre_hz())
        self.register_buffer("taps", torch.arange(n_fft, dtype=torch.float32) - (n_fft - 1) / 2)
        # Energy is computed every `step` samples (a divisor of hop_length, at most
        # ENERGY_STEP) and pooled over a squared-Hann window of n_fft samples down to
        # hop_length: the time resolution of the STFT behind the mel spectrogram, while each
        # filter keeps its mel band's frequency width.
        self.step = max(
            d for d in range(1, min(hop_length, ENERGY_STEP) + 1) if hop_length % d == 0
        )
        self.pool_stride = hop_length // self.step
        half = (n_fft // 2) // self.step
        pool = torch.hann_window(2 * half + 3, periodic=False)[1:-1] ** 2
        self.register_buffer("pool", (pool / pool.sum()).view(1, 1, -1))
        self.masks = _masks(
            s["freq_masks"], s["freq_mask_width"], s["time_masks"], s["time_mask_width"]
        )

    def _centres_mel(self) -> torch.Tensor:
        shares = torch.softmax(self.mel_gap_logits.double(), dim=0)
        return self.top_mel * torch.cumsum(shares, dim=0)[:-1]

    def centre_hz(self) -> torch.Tensor:
        """The filters' centre frequencies now, in Hz, ascending (a detached copy)."""
        return mel_to_hz(self._centres_mel().detach()).float()

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        self.centres.copy_(self.centre_hz())
        super()._save_to_state_dict(destination, prefix, keep_vars)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        if f"{prefix}centres" in state_dict and f"{prefix}mel_gap_logits" not in state_dict:
            raise ValueError(
                "this model file holds a learnable filterbank from before its centres were "
                "kept in frequency order; train the model again (snakemake --forcerun "
                "train_model)"
            )
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def kernels(self) -> torch.Tensor:
        """(2 * n_mels, 1, n_fft): the real parts, then the imaginary parts; each window sums
        to 1, so every filter passes its centre frequency at unit gain."""
        sigmas = _bounded(self.log_sigmas.exp(), SIGMA_MIN, self.sigma_max)
        window = torch.exp(-0.5 * (self.taps / sigmas[:, None]) ** 2)
        window = window / window.sum(dim=1, keepdim=True)
        cycles = (mel_to_hz(self._centres_mel()) / self.sample_rate).float()
        phase = 2 * math.pi * cycles[:, None] * self.taps
        return torch.cat([window * torch.cos(phase), window * torch.sin(phase)]).unsqueeze(1)

    def energies_db(self, wave: torch.Tensor) -> torch.Tensor:
        """(B, 1, n_mels, frames) band energies in dB, on the log-mel's scale and floor,
        before the per-clip normalisation."""
        with torch.autocast(device_type=wave.device.type, enabled=False):
            # reflected at both ends, as the log-mel's centred STFT is
            wave = nn.functional.pad(wave.float(), (self.n_fft // 2, self.n_fft // 2), "reflect")
            out = nn.functional.conv1d(wave, self.kernels(), stride=self.step)
            real, imaginary = out.chunk(2, dim=1)
            energy = real.pow(2) + imaginary.pow(2)  # (B, n_mels, sub-frames)
            bands = energy.shape[1]
            pooled = nn.functional.conv1d(
                energy.reshape(-1, 1, energy.shape[-1]),
                self.pool,
                stride=self.pool_stride,
                padding=self.pool.shape[-1] // 2,
            ).view(energy.shape[0], bands, -1)
            return 10.0 * torch.log10((self.gain * pooled).clamp(min=AMIN)).unsqueeze(1)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        return _finish(self.energies_db(wave), self.masks, self.training)


def initial_centres_hz(init: str, n_mels: int, sample_rate: int) -> torch.Tensor:
    """Ascending centre frequencies (Hz, float64) for a filterbank's `init`: the mel bands'
    centres, evenly spaced ones, or uniform draws from torch's generator."""
    nyquist = sample_rate / 2
    if init == "mel":
        return mel_band_edges(n_mels, sample_rate)[1:-1]
    if init == "linear":
        return torch.linspace(0.0, nyquist, n_mels + 2, dtype=torch.float64)[1:-1]
    return torch.sort(torch.rand(n_mels, dtype=torch.float64) * nyquist).values


def filterbank_centres(
    state_dict: dict, prefix: str = "front_end."
) -> tuple[torch.Tensor, torch.Tensor] | None:
    """(initial, trained) centre frequencies in Hz of the FilterbankFrontEnd in a model's
    state_dict, or None when the model has none."""
    if f"{prefix}centres" not in state_dict:
        return None
    return state_dict[f"{prefix}initial_centres"], state_dict[f"{prefix}centres"]


def centre_drift(initial: torch.Tensor, trained: torch.Tensor) -> dict:
    """How far training moved a filterbank's centres (Hz, in filter order): the median move
    in units of the initial neighbour spacing (at mel init, the filter's half-maximum
    width), the share moved more than one spacing, the share of neighbouring pairs out of
    order, and the largest move in Hz."""
    initial, trained = initial.double(), trained.double()
    spacing = torch.empty_like(initial)
    spacing[1:-1] = (initial[2:] - initial[:-2]) / 2
    spacing[0], spacing[-1] = initial[1] - initial[0], initial[-1] - initial[-2]
    moved = (trained - initial).abs() / spacing
    return {
        "median_move_spacings": float(moved.median()),
        "moved_over_one_spacing": float((moved > 1).double().mean()),
        "swapped": int((trained[1:] < trained[:-1]).sum()),
        "pairs": len(trained) - 1,
        "max_move_hz": float((trained - initial).abs().max()),
    }
