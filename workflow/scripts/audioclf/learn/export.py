"""model.onnx: a trained model as one ONNX graph, front end included, that onnxruntime runs
without torch, with what a caller must know to feed it in its metadata_props."""

from __future__ import annotations

import copy
import json
import math
import os
import warnings
from dataclasses import asdict
from pathlib import Path

import numpy as np
import onnx
import torch
import torchaudio.transforms as T
from torch import nn

from audioclf.evaluate.onnx_model import ONNX_FORMAT
from audioclf.io import atomic_path, log
from audioclf.learn.checkpoint import TrainedModel, load_trained
from audioclf.learn.crop import EVAL_WINDOWS, WHOLE
from audioclf.preprocess.cache import INT16_SCALE

OPSET = 18  # the dynamo exporter's own; ONNX's STFT (opset 17) carries the log-mel front end
TOLERANCE = 1e-4  # largest probability difference from torch that an export may have


class ExportError(ValueError):
    """A model that cannot be written as ONNX; the message names the file and the type."""


class ProbabilityGraph(nn.Module):
    """The exported graph: (batch, samples) float32 waveforms to (batch, n_classes)
    probabilities, the network's eval-mode forward pass then a softmax."""

    def __init__(self, network: nn.Module) -> None:
        super().__init__()
        self.network = network

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        return self.network(wave.unsqueeze(1)).float().softmax(dim=-1)


def onnx_metadata(trained: TrainedModel) -> dict:
    """What model.onnx records (each key a JSON value of its metadata_props): the classes,
    the input's rate and crop, the preprocessing to repeat and the window rule."""
    from audioclf.evaluate.predict import preprocess_settings

    clip = asdict(preprocess_settings(trained.checkpoint))
    if trained.reading is None:
        windows = {"rule": list(EVAL_WINDOWS), "default": EVAL_WINDOWS[0]}
    else:
        windows = {
            "rule": WHOLE,
            "min_samples": trained.reading.min_samples,
            "max_samples": trained.reading.max_samples,
        }
    return {
        "format": ONNX_FORMAT,
        "model": trained.name,
        "type": trained.entry.name,
        "classes": list(trained.classes),
        "sample_rate": trained.sample_rate,
        "clip_samples": trained.clip_samples,
        "int16_scale": INT16_SCALE,
        "preprocess": {k: v for k, v in clip.items() if k != "sample_rate"},
        "windows": windows,
    }


def example_input(trained: TrainedModel, batch: int = 2, seed: int = 0) -> torch.Tensor:
    """Waveforms of the model's input length (a whole-clip model: 1.5 crops), quantised to
    int16 steps as the cache's samples are."""
    length = trained.clip_samples
    if trained.reading is not None:
        length = min(max(3 * length // 2, trained.reading.min_samples), trained.reading.max_samples)
    wave = torch.randn(batch, length, generator=torch.Generator().manual_seed(seed)) * 0.1
    return torch.round(wave.clamp(-1, 1) * INT16_SCALE) / INT16_SCALE


class DftPower(nn.Module):
    """torchaudio's power Spectrogram as a strided convolution with windowed cosines and
    sines: ONNX's GRU keeps a clip's length dynamic only in the TorchScript exporter, which
    has no complex STFT."""

    def __init__(self, spectrogram: T.Spectrogram) -> None:
        super().__init__()
        n_fft = spectrogram.n_fft
        bins = torch.arange(n_fft // 2 + 1, dtype=torch.float64)[:, None]
        angle = 2 * math.pi * bins * torch.arange(n_fft, dtype=torch.float64) / n_fft
        window = spectrogram.window.double()
        kernels = torch.cat([window * torch.cos(angle), -window * torch.sin(angle)])
        self.register_buffer("kernels", kernels.float().unsqueeze(1))
        self.hop = spectrogram.hop_length
        self.pad = n_fft // 2 if spectrogram.center else 0

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        frames = wave.reshape(-1, 1, wave.shape[-1])
        if self.pad:
            frames = nn.functional.pad(frames, (self.pad, self.pad), "reflect")
        real, imaginary = nn.functional.conv1d(frames, self.kernels, stride=self.hop).chunk(2, 1)
        power = real * real + imaginary * imaginary
        return power.reshape(*wave.shape[:-1], *power.shape[-2:])


def recurrent(network: nn.Module) -> bool:
    return any(isinstance(m, nn.RNNBase) for m in network.modules())


def export_graph(trained: TrainedModel, out: str | os.PathLike) -> None:
    """Write `trained`'s ProbabilityGraph to `out`, its batch dynamic (and its length, for a
    whole-clip model): by the dynamo exporter, or for a recurrent network (whose steps
    torch.export unrolls) by TorchScript tracing with the STFT as a DftPower convolution."""
    network = trained.network.float().cpu().eval()
    wave = example_input(trained, batch=1 if trained.reading else 2)
    with warnings.catch_warnings(), torch.inference_mode(False):
        warnings.simplefilter("ignore")  # the exporters' notes on their own internals
        if recurrent(network):
            network = copy.deepcopy(network)
            for name, module in list(network.named_modules()):
                if isinstance(module, T.Spectrogram):
                    network.set_submodule(name, DftPower(module))
            torch.onnx.export(
                ProbabilityGraph(network), (wave,), str(out), dynamo=False,
                opset_version=OPSET, input_names=["wave"], output_names=["probabilities"],
                dynamic_axes={"wave": {0: "batch", 1: "samples"}, "probabilities": {0: "batch"}},
            )  # fmt: skip
        else:
            program = torch.onnx.export(
                ProbabilityGraph(network), (wave,), dynamo=True, opset_version=OPSET,
                dynamic_shapes={"wave": {0: torch.export.Dim("batch", min=1)}},
                input_names=["wave"], output_names=["probabilities"], verbose=False,
            )  # fmt: skip
            program.save(str(out), external_data=False)
    model = onnx.load(str(out))
    metadata = {key: json.dumps(value) for key, value in onnx_metadata(trained).items()}
    onnx.helper.set_model_props(model, metadata)
    onnx.save(model, str(out))


def export_model(
    model_path: str | os.PathLike, out_onnx: str | os.PathLike, tolerance: float = TOLERANCE
) -> dict:
    """model.pt to model.onnx, refused for a type the registry marks unexportable; the
    written file is checked to give torch's float32 probabilities on example waveforms
    within `tolerance`. Returns its metadata and the largest difference found."""
    trained = load_trained(model_path, "cpu")
    if not trained.entry.onnx_export:
        raise ExportError(
            f"{model_path}: model type {trained.entry.name!r} does not export to ONNX "
            "(its registry entry says onnx_export=False); predict with the model.pt instead"
        )
    with atomic_path(out_onnx) as tmp:
        try:
            export_graph(trained, tmp)
        except Exception as err:  # the exporter's own errors are many and deep
            raise ExportError(
                f"{model_path}: model type {trained.entry.name!r} failed to export to ONNX "
                f"({type(err).__name__}: {str(err)[:300]}); register it with onnx_export=False"
            ) from err
        difference = max_difference(trained, tmp)
    if difference > tolerance:
        Path(out_onnx).unlink()
        raise ExportError(
            f"{out_onnx}: onnxruntime's probabilities differ from torch's by {difference:.2g} "
            f"(more than {tolerance:g}) for model type {trained.entry.name!r}; not exported"
        )
    log(f"{out_onnx}: {trained.entry.name}, largest difference from torch {difference:.2g}")
    return {**onnx_metadata(trained), "max_difference": difference}


@torch.inference_mode()
def max_difference(trained: TrainedModel, onnx_path: str | os.PathLike) -> float:
    """Largest absolute difference between onnxruntime's and torch's probabilities on
    example waveforms (a whole-clip model: two lengths, one clip at a time)."""
    from audioclf.evaluate.onnx_model import load_onnx

    session = load_onnx(onnx_path).session
    graph = ProbabilityGraph(trained.network.float().cpu().eval())
    waves = [example_input(trained, batch=3, seed=1)]
    if trained.reading is not None:
        waves = [example_input(trained, batch=1, seed=s)[:, : trained.reading.min_samples * (s + 1)]
                 for s in (1, 2)]  # fmt: skip
    worst = 0.0
    for wave in waves:
        ours = session.run(None, {"wave": wave.numpy()})[0]
        worst = max(worst, float(np.abs(ours - graph(wave).numpy()).max()))
    return worst
