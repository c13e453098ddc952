"""model.onnx at prediction time: its metadata read back, and each clip's class
probabilities by evaluation's window rule, with onnxruntime and numpy only (no torch)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from audioclf.learn.crop import EVAL_WINDOWS, WHOLE, crop_or_repeat, starts_for

ONNX_FORMAT = "audioclf-onnx/1"
# What learn/export.py writes in metadata_props, each value JSON
METADATA_KEYS = ("format", "model", "type", "classes", "sample_rate", "clip_samples",
                 "int16_scale", "preprocess", "windows")  # fmt: skip


class OnnxModelError(ValueError):
    """A model.onnx this version of audioclf cannot use; the message is one line."""


@dataclass(frozen=True)
class OnnxModel:
    """A model.onnx, ready to run: what predict needs of it."""

    session: object = field(repr=False)  # an onnxruntime.InferenceSession
    metadata: dict = field(repr=False)  # its metadata_props, decoded

    @property
    def name(self) -> str:
        return self.metadata["model"]

    @property
    def classes(self) -> tuple[str, ...]:
        return tuple(self.metadata["classes"])

    @property
    def sample_rate(self) -> int:
        return int(self.metadata["sample_rate"])

    @property
    def whole_clip(self) -> bool:
        return self.metadata["windows"]["rule"] == WHOLE


def metadata_problem(metadata: dict) -> str | None:
    """What is wrong with decoded metadata_props, or None."""
    if metadata.get("format") != ONNX_FORMAT:
        return (
            f"not an ONNX file written by audioclf's export_model (format "
            f"{metadata.get('format')!r}, expected {ONNX_FORMAT!r}); write it with "
            "`snakemake export`"
        )
    missing = [k for k in METADATA_KEYS if k not in metadata]
    return f"its metadata lacks {missing}; export it again" if missing else None


def load_onnx(path: str | os.PathLike, threads: int | None = None) -> OnnxModel:
    """The model in `path` as an onnxruntime session on the CPU, with its metadata."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    if threads:
        options.intra_op_num_threads = int(threads)
    try:
        session = onnxruntime.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"]
        )
    except Exception as err:  # onnxruntime raises its own exception types for a bad file
        raise OnnxModelError(f"{path}: not an ONNX model onnxruntime can load ({err})") from None
    props = session.get_modelmeta().custom_metadata_map
    try:
        metadata = {key: json.loads(value) for key, value in props.items()}
    except json.JSONDecodeError as err:
        raise OnnxModelError(f"{path}: metadata_props are not JSON ({err})") from None
    problem = metadata_problem(metadata)
    if problem:
        raise OnnxModelError(f"{path}: {problem}")
    return OnnxModel(session, metadata)


def model_inputs(
    model: OnnxModel, clips: Sequence[np.ndarray], eval_windows: str, batch_size: int
) -> Iterator[tuple[np.ndarray, list[int]]]:
    """(float32 (B, samples) waveforms, the position of each one's clip) in batches: each
    int16 clip's windows of the crop length (the whole clip, tiled up to min_samples and
    cut at max_samples, alone, for a whole-clip model)."""
    scale = float(model.metadata["int16_scale"])
    windows = model.metadata["windows"]
    if model.whole_clip:
        for position, clip in enumerate(clips):
            n = min(max(len(clip), windows["min_samples"]), windows["max_samples"])
            wave = crop_or_repeat(clip, n, 0).astype(np.float32) / np.float32(scale)
            yield wave[None, :], [position]
        return
    length = int(model.metadata["clip_samples"])
    batch, owners = [], []
    for position, clip in enumerate(clips):
        for start in starts_for(len(clip), length, eval_windows):
            batch.append(crop_or_repeat(clip, length, start))
            owners.append(position)
            if len(batch) == batch_size:
                yield np.stack(batch).astype(np.float32) / np.float32(scale), owners
                batch, owners = [], []
    if batch:
        yield np.stack(batch).astype(np.float32) / np.float32(scale), owners


def onnx_probabilities(
    model: OnnxModel,
    clips: Sequence[np.ndarray],
    eval_windows: str = EVAL_WINDOWS[0],
    batch_size: int = 64,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-clip class probabilities (the mean over its windows, as evaluation averages
    them) of int16 `clips`, and each clip's window count."""
    if eval_windows not in EVAL_WINDOWS:
        raise ValueError(f"eval_windows {eval_windows!r} is not one of {EVAL_WINDOWS}")
    sums = np.zeros((len(clips), len(model.classes)), dtype=np.float64)
    counts = np.zeros(len(clips), dtype=np.int64)
    for wave, owners in model_inputs(model, clips, eval_windows, batch_size):
        probs = model.session.run(None, {"wave": wave})[0]
        np.add.at(sums, owners, probs.astype(np.float64))
        np.add.at(counts, owners, 1)
    return (sums / np.maximum(counts, 1)[:, None]).astype(np.float32), counts
