"""Classify audio files with a trained model.pt or model.onnx, preprocessed and scored as in
the workflow (a model.onnx is run by onnxruntime; its model is run without torch).

python -m audioclf.evaluate.predict results/models/raw/0/model.pt a.wav b.flac --out preds.csv

The heavy imports are in the functions that need them, so that `--help` answers at once.
"""

from __future__ import annotations

import argparse
import csv
import os
import stat
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from audioclf.choices import DEVICE_CHOICES, SILENCE_MODES
from audioclf.io import log, write_csv
from audioclf.learn.crop import EVAL_WINDOWS

if TYPE_CHECKING:
    from audioclf.preprocess.audio import ClipSettings


class ModelFileError(ValueError):
    """A model.pt or model.onnx that cannot be used; the message is one line."""


class OutputRefused(ValueError):
    """--out names a file predict must not replace; the message is one line naming it."""


@dataclass(frozen=True)
class Scorer:
    """A loaded model.pt or model.onnx, as predict uses it: `score(clips, eval_windows,
    batch_size)` gives (n_clips, n_classes) probabilities of int16 numpy clips."""

    classes: tuple[str, ...]
    recorded: dict  # {"sample_rate": Hz, "preprocess": the settings its cache was made with}
    score: Callable


def load_scorer(model_path: str | os.PathLike, device: str = "auto") -> Scorer:
    """A Scorer of model.onnx (onnxruntime, on the CPU) or of model.pt (torch, on `device`)."""
    if Path(model_path).suffix.lower() == ".onnx":
        from audioclf.evaluate.onnx_model import OnnxModelError, load_onnx, onnx_probabilities

        try:
            model = load_onnx(model_path)
        except OnnxModelError as err:
            raise ModelFileError(str(err)) from None
        recorded = {"sample_rate": model.sample_rate, "preprocess": model.metadata["preprocess"]}
        return Scorer(
            model.classes, recorded, lambda clips, w, b: onnx_probabilities(model, clips, w, b)[0]
        )
    from audioclf.evaluate.scoring import trained_probabilities
    from audioclf.learn.checkpoint import CheckpointError, load_trained

    try:
        trained = load_trained(model_path, device)
    except CheckpointError as err:
        raise ModelFileError(str(err)) from None

    def score(clips, eval_windows, batch_size):
        cache = _packed(clips, trained.sample_rate)
        rows = list(range(len(cache)))
        return trained_probabilities(trained, cache, rows, eval_windows, batch_size)[0].numpy()

    return Scorer(trained.classes, trained.checkpoint, score)


def preprocess_settings(
    checkpoint: dict,
    sample_rate: int | None = None,
    top_db: float | None = None,
    pad_ms: float | None = None,
    mode: str | None = None,
) -> ClipSettings:
    """How new files are preprocessed: as the model's cache was (model.pt's "preprocess", or
    model.onnx's; `checkpoint` is either as a dict with "sample_rate" and "preprocess"),
    with any argument given overriding it and the workflow's defaults for what neither says.
    The sample rate is always the model's: it only understands audio at that rate."""
    from audioclf.preprocess.audio import ClipSettings

    trained_rate = int(checkpoint["sample_rate"])
    if sample_rate is not None and int(sample_rate) != trained_rate:
        raise ValueError(
            f"sample_rate {sample_rate} Hz was asked for, but the model was trained at "
            f"{trained_rate} Hz; leave sample_rate out (files are resampled to {trained_rate})"
        )
    recorded = checkpoint.get("preprocess") or {}
    given = {"top_db": top_db, "pad_ms": pad_ms, "mode": mode}
    return ClipSettings.from_record(recorded, **given, sample_rate=trained_rate)


def audio_files(paths: Sequence[str | os.PathLike]) -> tuple[list[str], dict[str, str]]:
    """(the files to score, {input: why it is not scored}): the paths as given, a folder
    replaced by what walk_audio finds under it, every other entry there named too. Nothing
    here opens a file: an input that is not a regular file (a FIFO, a device, a dangling
    symlink, a symlink loop) is named with its reason (file_problem), never opened, for a
    FIFO would block the reader; so is a folder without audio."""
    from audioclf.datasets.files import extensions_words, file_problem, walk_audio

    files, skipped = [], {}
    for path in paths:
        if not Path(path).is_dir():
            problem = file_problem(path)
            if problem:
                skipped[str(path)] = problem
            else:
                files.append(str(path))
            continue
        audio, others = walk_audio([path], others=True)
        skipped.update(others)
        if not audio:
            skipped[str(path)] = (
                f"no audio files in this folder ({len(others)} other file(s); {extensions_words()})"
            )
        files += audio
    return files, skipped


def _preprocess(path: str, settings):
    """(int16 samples, None) or (None, why the file cannot be scored); never raises."""
    from audioclf.preprocess.audio import process_clip

    try:
        result = process_clip(path, settings)
    except Exception as err:  # a file that breaks decoding in an unforeseen way is one bad row
        return None, f"{type(err).__name__}: {err}"
    return result.samples, result.reason


def predict_files(
    model_path: str | os.PathLike,
    paths: Sequence[str | os.PathLike],
    out_csv: str | os.PathLike | None = None,
    sample_rate: int | None = None,
    top_db: float | None = None,
    pad_ms: float | None = None,
    mode: str | None = None,
    eval_windows: str = "sliding",
    device: str = "auto",
    batch_size: int = 64,
    force: bool = False,
):
    """One row per file: `file,predicted,confidence,prob_<class>...,error` (a DataFrame).

    `model_path` is a model.pt or a model.onnx (run on the CPU by onnxruntime; `device` is
    then unused). Each file is decoded, downmixed, resampled and trimmed as preprocess_audio
    does (the settings recorded in the model file, see preprocess_settings) and scored with
    evaluate's own window rule (a whole-clip model: each file once, up to its max_seconds),
    the same for both formats. A file
    that cannot be read, or is silent, gets its reason in `error` and empty predictions.
    Written to `out_csv` when given: over nothing but a table predict wrote, unless `force`
    (check_out, before anything is read).
    """
    if eval_windows not in EVAL_WINDOWS:
        raise ValueError(f"eval_windows {eval_windows!r} is not one of {EVAL_WINDOWS}")
    import pandas as pd

    from audioclf.evaluate.tables import prediction_table

    files, skipped = audio_files(paths)
    if out_csv is not None:
        check_out(out_csv, model_path, files, force)
    scorer = load_scorer(model_path, device)
    settings = preprocess_settings(scorer.recorded, sample_rate, top_db, pad_ms, mode)
    for path, reason in skipped.items():
        log(f"{path}: {reason}; no prediction")
    usable, samples, errors = preprocess_files(files, settings)
    table = empty_table(files, errors, scorer.classes)
    if usable:
        scored = prediction_table(scorer.score(samples, eval_windows, batch_size), scorer.classes)
        table.loc[usable, "predicted"] = scored["predicted"].to_numpy(dtype=object)
        for column in ["confidence", *(f"prob_{c}" for c in scorer.classes)]:
            table.loc[usable, column] = scored[column].to_numpy()
    if skipped:  # every input it cannot use is a row too, after the files it scored
        rows = pd.DataFrame({"file": list(skipped), "error": list(skipped.values())})
        table = pd.concat([table, rows.reindex(columns=table.columns)], ignore_index=True)
    if out_csv is not None:
        write_csv(out_csv, table)
    unscored = len(table) - len(usable)
    log(
        f"{Path(model_path)}: predicted {len(usable)} of {len(table)} input(s)"
        + (f"; {unscored} without one (see `error`)" if unscored else "")
    )
    return table


def check_out(
    out: str | os.PathLike, model: str | os.PathLike, files: Sequence[str], force: bool = False
) -> None:
    """OutputRefused unless predict may write its table to `out`: a path that is not there,
    or a table predict wrote (recognised by its header). The model, an audio file in `files`
    or any other file is replaced only with `force`; a folder never is."""
    out = Path(out)
    if not os.path.lexists(out):
        return
    if out.is_dir():
        raise OutputRefused(f"{out}: is a folder; give --out a file name inside it")
    if force:
        return
    fix = "not overwritten; give another --out, or add --force to replace it"
    if _same_file(out, model):
        raise OutputRefused(f"{out}: is the model file this prediction reads; {fix}")
    audio = next((f for f in files if _same_file(out, f)), None)
    if audio is not None:
        given = f" (as {audio})" if audio != str(out) else ""
        raise OutputRefused(f"{out}: is an audio file this prediction reads{given}; {fix}")
    if not is_predictions_csv(out):
        raise OutputRefused(
            f"{out}: exists and is not a table predict wrote (its first line is not "
            f"file,predicted,confidence,prob_<class>...,error); {fix}"
        )


def _same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):  # either is not there, or not a path here
        return False


def is_predictions_csv(path: str | os.PathLike) -> bool:
    """Whether `path` is a regular file whose first line is the header of a table predict
    writes (empty_table's columns). Anything else is not opened: a FIFO would block."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return False
        with open(path, "rb") as handle:
            first = handle.readline(1 << 20).decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    columns = next(csv.reader([first]), [])
    probabilities = columns[3:-1]
    return (
        columns[:3] == ["file", "predicted", "confidence"]
        and columns[-1:] == ["error"]
        and bool(probabilities)
        and all(c.startswith("prob_") for c in probabilities)
    )


def preprocess_files(files: list[str], settings) -> tuple[list[int], list, list[str | None]]:
    """(positions of the files that can be scored, their int16 samples, each file's reason
    it cannot be, or None)."""
    usable, samples, errors = [], [], [None] * len(files)
    for i, path in enumerate(files):
        wave, reason = _preprocess(path, settings)
        if reason is None:
            usable.append(i)
            samples.append(wave)
        else:
            errors[i] = reason
            log(f"{path}: {reason}; no prediction")
    return usable, samples, errors


def empty_table(files: list[str], errors: list[str | None], classes: Sequence[str]):
    """The prediction table of `files` before any is scored: their errors, no predictions."""
    import numpy as np
    import pandas as pd

    return pd.DataFrame(
        {
            "file": files,
            "predicted": pd.Series([None] * len(files), dtype=object),
            "confidence": np.nan,
            **{f"prob_{c}": np.nan for c in classes},
            "error": pd.Series(errors, dtype=object),
        }
    )


def _packed(samples: list, sample_rate: int):
    """The preprocessed files (int16 arrays) as a PackedClips, the form evaluate's scoring
    reads."""
    import numpy as np
    import torch

    from audioclf.preprocess.cache import PackedClips

    lengths = torch.tensor([0] + [len(s) for s in samples], dtype=torch.int64)
    names = [str(i) for i in range(len(samples))]
    return PackedClips(
        waveforms=torch.from_numpy(np.concatenate(samples)),
        offsets=torch.cumsum(lengths, 0),
        fnames=names,
        labels=[""] * len(samples),
        sample_rate=sample_rate,
        original_seconds=torch.full((len(samples),), float("nan"), dtype=torch.float64),
    )


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m audioclf.evaluate.predict",
        description="Classify audio files (or folders of them) with a trained model.pt, or "
        "its model.onnx (run by onnxruntime on the CPU).",
    )
    parser.add_argument("model", help="a model.pt written by train_model, or a model.onnx")
    parser.add_argument("audio", nargs="+", help="audio files or folders")
    parser.add_argument(
        "--out",
        help="CSV to write (default: print the table); replaces only a table predict wrote",
    )
    parser.add_argument(
        "--force", action="store_true", help="let --out replace any file, even an input"
    )
    parser.add_argument("--eval-windows", choices=EVAL_WINDOWS, default="sliding")
    parser.add_argument("--device", choices=DEVICE_CHOICES, default="auto")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--top-db", type=float, help="override the model file's silence level")
    parser.add_argument("--pad-ms", type=float, help="override the model file's padding")
    parser.add_argument("--mode", choices=SILENCE_MODES, help="override the silence mode")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Exit status 0 when at least one file got a prediction, 1 when none did, 2 when the
    model file cannot be used or --out must not be replaced (one line on stderr naming
    it)."""
    args = parse_args(argv)
    try:
        table = predict_files(
            args.model,
            args.audio,
            out_csv=args.out,
            top_db=args.top_db,
            pad_ms=args.pad_ms,
            mode=args.mode,
            eval_windows=args.eval_windows,
            device=args.device,
            batch_size=args.batch_size,
            force=args.force,
        )
    except (ModelFileError, OutputRefused) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.out is None:
        table.to_csv(sys.stdout, index=False)
    return 0 if table["error"].isna().any() else 1


if __name__ == "__main__":
    sys.exit(main())
