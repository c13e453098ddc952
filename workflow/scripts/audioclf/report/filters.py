"""What the waveform models learned: the magnitude frequency response of each one's first
layer, against the mel scale, and one sentence per model written from the numbers."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch

from audioclf.learn.checkpoint import TrainedModel
from audioclf.learn.features import centre_drift, filterbank_centres, mel_band_edges
from audioclf.learn.models import waveform_filters
from audioclf.report.formatting import hertz

LOW_HZ = 500.0  # the sentences count the filters that peak below this
FLOOR_DB = -60.0  # responses are drawn down to this far below each filter's peak


@dataclass(frozen=True)
class FilterView:
    """One model's first layer (at one stage): its filters' responses, sorted by peak."""

    label: str  # the model's name, with the stage for a pretrained one
    freqs: np.ndarray  # Hz, 0 to Nyquist
    response_db: np.ndarray  # (filters, freqs), 0 dB at each filter's own peak
    peaks: np.ndarray  # each filter's peak frequency (Hz), ascending
    unsorted_peaks: np.ndarray  # the same, in the layer's own filter order

    @property
    def n_filters(self) -> int:
        return len(self.peaks)


def filter_view(label: str, filters: torch.Tensor, sample_rate: int) -> FilterView:
    """The responses of `filters` ((filters, taps), real or complex) from 0 Hz to Nyquist."""
    n = max(2048, 1 << (filters.shape[-1] - 1).bit_length())
    spectrum = torch.fft.fft(filters.to(torch.complex128), n=n)[:, : n // 2 + 1].abs()
    spectrum = spectrum / spectrum.max(dim=1, keepdim=True).values.clamp(min=1e-30)
    db = (20 * torch.log10(spectrum.clamp(min=1e-30))).clamp(min=FLOOR_DB).numpy()
    freqs = np.arange(n // 2 + 1) * sample_rate / n
    peaks = freqs[db.argmax(axis=1)]
    order = np.argsort(peaks, kind="stable")
    return FilterView(label, freqs, db[order], peaks[order], peaks)


def learned_filters(
    name: str, model: TrainedModel, encoder_state: dict | None = None
) -> list[FilterView]:
    """The views of one trained model's first layer: none for a model that sees an image;
    with `encoder_state` (its pretrained encoder's weights), the layer after pretraining
    and after fine-tuning."""
    trained = waveform_filters(model.network)
    if trained is None:
        return []
    rate = model.sample_rate
    if encoder_state is None:
        return [filter_view(name, trained, rate)]
    pretrained = copy.deepcopy(model.network)
    pretrained.load_state_dict(encoder_state, strict=False)
    return [
        filter_view(f"{name} after pretraining", waveform_filters(pretrained), rate),
        filter_view(f"{name} after fine-tuning", trained, rate),
    ]


def mel_centres(n_filters: int, sample_rate: int) -> np.ndarray:
    """The mel scale's band centres (Hz) for as many bands as a layer has filters."""
    return mel_band_edges(n_filters, sample_rate)[1:-1].numpy()


def view_sentence(view: FilterView, sample_rate: int) -> str:
    """Where a layer's filters peak, against the mel scale."""
    low = int((view.peaks < LOW_HZ).sum())
    mel_low = int((mel_centres(view.n_filters, sample_rate) < LOW_HZ).sum())
    return (
        f"{view.label}: its {view.n_filters} filters peak between {hertz(view.peaks[0])} and "
        f"{hertz(view.peaks[-1])}; {low} of them below {hertz(LOW_HZ)}, where the mel scale "
        f"puts {mel_low} of {view.n_filters} band centres."
    )


def drift_sentence(centres: tuple[torch.Tensor, torch.Tensor]) -> str:
    """How far training moved a learnable filterbank's centres, in words."""
    d = centre_drift(*centres)
    return (
        f"Training moved its median centre by {d['median_move_spacings']:.2f} initial "
        f"neighbour spacings ({100 * d['moved_over_one_spacing']:.0f}% of the filters moved "
        f"more than one; the largest move {hertz(d['max_move_hz'])}); {d['swapped']} of "
        f"{d['pairs']} neighbouring pairs swapped order."
    )


def fine_tuning_sentence(before: FilterView, after: FilterView) -> str:
    """How far fine-tuning moved each filter's peak from where pretraining left it."""
    moved = np.abs(after.unsorted_peaks - before.unsorted_peaks)
    return (
        f"Fine-tuning moved the median filter's peak by {hertz(float(np.median(moved)))} "
        f"(the largest move {hertz(float(moved.max()))})."
    )


def model_sentences(views: list[FilterView], centres: tuple | None, sample_rate: int) -> list[str]:
    """One model's sentences: each view's peaks, then how training moved the filters."""
    words = [view_sentence(v, sample_rate) for v in views]
    if centres is not None:
        words.append(drift_sentence(centres))
    if len(views) == 2:
        words.append(fine_tuning_sentence(*views))
    return words


def learned_view(
    models: dict[str, TrainedModel], encoder_states: dict[str, dict]
) -> tuple[list[FilterView], dict[str, list[str]]]:
    """Every waveform model's views (for the figure) and sentences (for the page), by
    model name; `encoder_states` holds the pretrained encoder of the models that have one."""
    views, sentences = [], {}
    for name, model in models.items():
        found = learned_filters(name, model, encoder_states.get(name))
        if found:
            centres = filterbank_centres(model.checkpoint["state_dict"])
            views += found
            sentences[name] = model_sentences(found, centres, model.sample_rate)
    return views, sentences
