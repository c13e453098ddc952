"""model.onnx of every registered model type: onnxruntime gives torch's float32
probabilities, and predict labels a folder the same from model.onnx as from model.pt."""

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch

from audioclf.contracts import SPLIT
from audioclf.evaluate.onnx_model import load_onnx, onnx_probabilities
from audioclf.evaluate.predict import predict_files
from audioclf.evaluate.scoring import clip_probabilities
from audioclf.learn.checkpoint import load_trained
from audioclf.learn.data import split_rows
from audioclf.learn.export import export_model
from audioclf.learn.registry import MODEL_TYPES
from audioclf.preprocess.audio import resample
from audioclf.preprocess.cache import INT16_SCALE, PackedClips


@pytest.fixture(scope="module")
def exported(tiny, tmp_path_factory):
    """Every tiny model written as model.onnx."""
    folder = tmp_path_factory.mktemp("onnx")
    paths = {}
    for name, model in tiny.models.items():
        paths[name] = folder / f"{name}.onnx"
        export_model(model.model, paths[name])
    return paths


@pytest.mark.parametrize("model_type", list(MODEL_TYPES))
def test_onnx_gives_torchs_float32_probabilities_on_the_test_windows(tiny, exported, model_type):
    trained = load_trained(tiny.models[model_type].model, "cpu")
    cache = PackedClips.load(tiny.cache)
    fnames, _ = split_rows(SPLIT.read(tiny.split), "test")
    rows = cache.index(fnames)
    ours, counts = onnx_probabilities(
        load_onnx(exported[model_type]), [cache.raw(r).numpy() for r in rows]
    )
    torchs, torch_counts = clip_probabilities(
        trained.network, cache, rows, trained.clip_samples, len(trained.classes),
        reading=trained.reading, autocast_to=None,
    )  # fmt: skip
    assert np.abs(ours - torchs.numpy()).max() <= 1e-4
    assert counts.tolist() == torch_counts.tolist()
    if trained.reading is not None:  # whole clips: one clip at a time, at their own lengths
        lengths = {int(cache.lengths[r]) for r in rows}
        assert len(lengths) >= 2


def test_crnn_onnx_takes_any_length_from_n_fft(tiny, exported):
    trained = load_trained(tiny.models["crnn"].model, "cpu")
    session = load_onnx(exported["crnn"]).session
    generator = torch.Generator().manual_seed(3)
    for n in (trained.reading.min_samples, 3 * trained.clip_samples + 17):
        wave = torch.round(torch.randn(1, n, generator=generator) * 0.1 * INT16_SCALE)
        wave = (wave / INT16_SCALE).float()
        with torch.inference_mode():
            expected = trained.network(wave.unsqueeze(1), torch.tensor([n])).softmax(-1)
        got = session.run(None, {"wave": wave.numpy()})[0]
        assert np.abs(got - expected.numpy()).max() <= 1e-4


@pytest.mark.parametrize("model_type", ["raw1d", "spectrogram_small", "crnn"])
def test_predict_labels_a_folder_the_same_from_onnx_and_pt(tiny, exported, tmp_path, model_type):
    cache = PackedClips.load(tiny.cache)
    for k in range(0, len(cache), 4):
        sf.write(tmp_path / f"{k}.wav", cache.raw(k).numpy(), cache.sample_rate, subtype="PCM_16")
    from_pt = predict_files(tiny.models[model_type].model, [tmp_path], device="cpu")
    from_onnx = predict_files(exported[model_type], [tmp_path])
    assert from_onnx["predicted"].notna().all()
    assert from_onnx["file"].tolist() == from_pt["file"].tolist()
    assert from_onnx["predicted"].tolist() == from_pt["predicted"].tolist()


# predict's main on a model.onnx in a process where importing torch (or torchaudio) fails
WITHOUT_TORCH = r"""
import sys
from importlib.abc import MetaPathFinder

tried = []

class NoTorch(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "torchaudio"):
            tried.append(name)
            raise ImportError(f"{name} is blocked: predicting on model.onnx must not need it")
        return None

sys.meta_path.insert(0, NoTorch())
from audioclf.evaluate.predict import main

status = main(sys.argv[1:])
print(f"torch tried: {tried}; loaded: {sorted(m for m in sys.modules if m.startswith('torch'))}")
sys.exit(status)
"""


def test_predict_on_onnx_runs_without_torch_and_labels_as_model_pt(tiny, exported, tmp_path):
    """From audio file to probabilities with numpy, soundfile and onnxruntime: decoding, a
    44.1 kHz stereo file's downmix and resampling, silence removal, windows. A dithered
    silent file is unusable in both."""
    cache = PackedClips.load(tiny.cache)
    audio = tmp_path / "audio"
    audio.mkdir()
    for k in range(0, len(cache), 8):
        sf.write(audio / f"{k}.wav", cache.raw(k).numpy(), cache.sample_rate, subtype="PCM_16")
    louder = resample(cache.clip(1).numpy(), cache.sample_rate, 44100)
    sf.write(audio / "stereo.wav", np.stack([louder, 0.5 * louder], axis=1), 44100, "PCM_16")
    dither = np.random.default_rng(0).integers(-1, 2, 16000).astype(np.int16)
    sf.write(audio / "dither.wav", dither, 16000, "PCM_16")
    out = tmp_path / "onnx.csv"
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_TORCH, str(exported["raw1d"]), str(audio),
         "--out", str(out)],
        capture_output=True, text=True, timeout=300, env=dict(os.environ),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "torch tried: []; loaded: []" in done.stdout, done.stdout
    from_onnx = pd.read_csv(out)
    from_pt = predict_files(tiny.models["raw1d"].model, [audio], device="cpu")
    assert from_onnx["file"].tolist() == from_pt["file"].tolist()
    usable = from_pt["error"].isna()
    assert (
        usable.sum() == len(from_pt) - 1 and from_onnx["error"].isna().tolist() == usable.tolist()
    )
    assert from_onnx["predicted"][usable].tolist() == from_pt["predicted"][usable].tolist()
    dithered = from_onnx.set_index("file").loc[str(audio / "dither.wav"), "error"]
    assert dithered.startswith("silent (peak -9")
