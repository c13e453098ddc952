"""The report's "What the waveform models learned": a response figure panel and sentences
for every waveform model, with numbers that agree with the model files."""

from __future__ import annotations

import html
import re

import numpy as np
import pandas as pd
import pytest
import torch

from audioclf.contracts import SPLIT
from audioclf.learn.checkpoint import load_checkpoint
from audioclf.learn.features import centre_drift, mel_band_edges
from audioclf.report.filters import drift_sentence, filter_view
from report_inputs import build, make_fake_run

RATE = 16000
WAVEFORM_MODELS = {
    "raw": {"type": "raw1d", "accuracy": 0.5},
    "raw_ae": {"type": "raw1d", "accuracy": 0.55,
               "settings": {"pretrained": "autoencoder:raw_conv", "freeze_epochs": 0}},
    "raw_deep": {"type": "raw1d_deep", "accuracy": 0.6},
    "raw_filterbank": {"type": "raw_filterbank", "accuracy": 0.7},
    "spectrogram_small": {"type": "spectrogram_small", "accuracy": 0.8},
}  # fmt: skip
SENTENCE = re.compile(
    r"(?P<label>[\w ,-]+): its (?P<n>\d+) filters peak between (?P<low>[\d.]+ k?Hz) and "
    r"(?P<high>[\d.]+ k?Hz); (?P<below>\d+) of them below 500 Hz, where the mel scale puts "
    r"(?P<mel>\d+) of (?P=n) band centres\."
)


def hz(text: str) -> float:
    value, unit = text.split()
    return float(value) * (1000 if unit == "kHz" else 1)


@pytest.fixture(scope="module")
def waveform_run(tmp_path_factory):
    from audioclf.pretrain.train import pretrain

    root = tmp_path_factory.mktemp("waveform")
    inputs = make_fake_run(
        root, ["a", "b", "c"], {"train": 6, "valid": 2, "test": 3}, models=WAVEFORM_MODELS,
        seeds=(1,),
    )  # fmt: skip
    split = pd.read_csv(inputs["split_csv"])
    small = root / "small_split.csv"
    SPLIT.write(small, pd.concat([split[split["split"] == "train"].head(6),
                                  split[split["split"] != "train"]]))  # fmt: skip
    encoder = root / "encoder.pt"
    pretrain(
        inputs["cache_path"], small, encoder, root / "history.csv", name="raw_conv",
        settings={"encoder": "raw1d", "epochs": 1, "crop_seconds": 0.5}, device="cpu",
        threads=1,
    )  # fmt: skip
    page, figures = build(root, inputs, encoder_files={"raw_conv": encoder})
    return inputs, page, figures, encoder


def section(page: str) -> str:
    start = page.index('id="learned-filters"')
    return html.unescape(page[start : page.index('id="pretraining"')])


def sentences(page: str) -> dict[str, re.Match]:
    """The page's filter sentences, parsed, by the label they start with."""
    spans = re.findall(r'<span class="learned">(.*?)</span>', page)
    found = [SENTENCE.fullmatch(html.unescape(span)) for span in spans]
    return {m["label"]: m for m in found if m is not None}


def test_every_waveform_model_gets_sentences_and_a_panel(waveform_run):
    _, page, figures, _ = waveform_run
    found = sentences(page)
    assert set(found) == {"raw", "raw_ae after pretraining", "raw_ae after fine-tuning",
                          "raw_deep", "raw_filterbank"}  # fmt: skip
    assert "spectrogram_small" not in section(page)
    assert found["raw"]["n"] == "8" and found["raw_filterbank"]["n"] == "32"
    assert "0 of 31 neighbouring pairs swapped order" in section(page)
    assert "Fine-tuning moved the median filter's peak by" in section(page)
    assert (figures / "learned_filters.svg").stat().st_size > 10_000


@pytest.mark.parametrize("name", ["raw", "raw_deep"])
def test_the_sentence_numbers_are_the_model_files_own(waveform_run, name):
    """Peaks recomputed with numpy from model.pt's first conv agree with the page."""
    inputs, page, _, _ = waveform_run
    checkpoint = load_checkpoint(inputs["models"][name]["model"])
    state = checkpoint["state_dict"]
    key = next(k for k, v in state.items() if k.endswith("weight") and v.dim() == 3)
    kernels = state[key][:, 0].double().numpy()
    n = max(2048, 1 << (kernels.shape[-1] - 1).bit_length())
    peaks = np.sort(np.abs(np.fft.rfft(kernels, n=n)).argmax(axis=1) * RATE / n)
    found = sentences(page)[name]
    assert int(found["n"]) == len(peaks)
    assert hz(found["low"]) == pytest.approx(peaks[0], abs=max(0.5, 0.051 * peaks[0]))
    assert hz(found["high"]) == pytest.approx(peaks[-1], abs=max(0.5, 0.051 * peaks[-1]))
    assert int(found["below"]) == int((peaks < 500).sum())
    mel = mel_band_edges(len(peaks), RATE)[1:-1].numpy()
    assert int(found["mel"]) == int((mel < 500).sum())


def test_a_gabor_filter_peaks_at_its_centre():
    taps = torch.arange(1024, dtype=torch.float64) - 511.5
    window = torch.exp(-0.5 * (taps / 100) ** 2)
    centres = torch.tensor([440.0, 3000.0, 150.0])
    filters = window * torch.exp(2j * torch.pi * centres[:, None] / RATE * taps)
    view = filter_view("x", filters, RATE)
    assert np.allclose(view.peaks, [150, 440, 3000], atol=RATE / 2048)
    assert np.allclose(view.unsorted_peaks, centres.numpy(), atol=RATE / 2048)
    assert (view.response_db.max(axis=1) == 0).all()


def test_the_drift_sentence_counts_swaps_and_moves():
    initial = mel_band_edges(8, RATE)[1:-1].float()
    trained = initial.clone()
    trained[3], trained[4] = initial[4], initial[3]  # one pair swapped
    d = centre_drift(initial, trained)
    assert d["swapped"] == 1 and d["pairs"] == 7
    words = drift_sentence((initial, trained))
    assert "1 of 7 neighbouring pairs swapped order" in words
    assert "median centre by 0.00 initial neighbour spacings" in words
    assert f"{100 * d['moved_over_one_spacing']:.0f}% of the filters moved more than one" in words
    assert f"the largest move {round(float(initial[4] - initial[3]))} Hz" in words
