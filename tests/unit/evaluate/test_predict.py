"""Predicting audio files reproduces the workflow's own preprocessing and test predictions."""

import dataclasses
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch

from audioclf.datasets.files import folder_listing
from audioclf.evaluate.predict import main, predict_files, preprocess_settings
from audioclf.evaluate.scoring import evaluate
from audioclf.learn.train import train
from audioclf.preprocess.cache import PackedClips
from audioclf.preprocess.clips import ClipSettings, preprocess_subset
from synthetic import synthetic_clips, synthetic_split

CLIP_SECONDS = 1.0
FILE_RATE = 22050  # files at another rate than the model's 16 kHz, so resampling is exercised
# non-default preprocessing: predict_files must take it from model.pt, not from its defaults
TOP_DB, PAD_MS = 30.0, 10.0
CLASSES = ["class0", "class1", "class2"]


def with_quiet_middle(clip: np.ndarray, rate: int) -> np.ndarray:
    """Leading digital silence, the clip, a stretch 25 dB below its peak, the clip again: the
    quiet stretch is kept with top_db 30 and removed with top_db 20."""
    quiet = 10 ** (-25 / 20) * np.abs(clip).max() * np.sin(np.arange(int(0.4 * rate)) * 0.3)
    return np.concatenate([np.zeros(int(0.2 * rate)), clip, quiet, clip]).astype(np.float32)


@pytest.fixture(scope="module")
def workflow(tmp_path_factory):
    """WAV files on disk -> preprocess_subset -> cache, split, trained model, evaluate()."""
    folder = tmp_path_factory.mktemp("predict")
    clips = synthetic_clips(n_classes=3, clips_per_class=8, min_seconds=0.3, max_seconds=1.2)
    rows = []
    for i, (fname, label) in enumerate(zip(clips.fnames, clips.labels, strict=True)):
        wave = clips.clip(i).numpy()
        wave = np.interp(
            np.arange(int(len(wave) * FILE_RATE / clips.sample_rate))
            * clips.sample_rate
            / FILE_RATE,
            np.arange(len(wave)),
            wave,
        )
        audio = with_quiet_middle(wave, FILE_RATE)
        if i % 5 == 0:  # some stereo files
            audio = np.stack([audio, 0.5 * audio], axis=1)
        path = folder / "audio" / fname
        path.parent.mkdir(exist_ok=True)
        sf.write(path, audio, FILE_RATE, subtype="PCM_16")
        rows.append({"fname": fname, "label": label, "path": str(path)})
    pd.DataFrame(rows).to_csv(folder / "subset.csv", index=False)
    preprocess_subset(
        folder / "subset.csv",
        folder / "cache.pt",
        folder / "clips.csv",
        folder / "excluded.csv",
        top_db=TOP_DB,
        pad_ms=PAD_MS,
        progress=False,
    )
    cache = PackedClips.load(folder / "cache.pt")
    split = synthetic_split(cache)
    split.to_csv(folder / "split.csv", index=False)
    settings = {"type": "raw1d", "epochs": 3, "lr": 3e-3, "batch_size": 4, "min_steps": 0}
    train(
        folder / "cache.pt",
        folder / "split.csv",
        folder / "model.pt",
        folder / "history.csv",
        model_name="raw",
        model_settings=settings,
        clip_seconds=CLIP_SECONDS,
        device="cpu",
        threads=1,
    )
    evaluate(
        folder / "cache.pt",
        folder / "split.csv",
        folder / "model.pt",
        folder / "predictions.csv",
        folder / "metrics.json",
        device="cpu",
        batch_size=5,
        threads=1,
    )
    predictions = pd.read_csv(folder / "predictions.csv")
    paths = pd.DataFrame(rows).set_index("fname")["path"]
    test_paths = [paths[f] for f in predictions["fname"]]
    return folder, predictions, test_paths


def test_model_file_records_the_preprocessing(workflow):
    folder, _, _ = workflow
    checkpoint = torch.load(folder / "model.pt", weights_only=True)
    assert checkpoint["preprocess"] == {
        "sample_rate": 16000,
        "top_db": TOP_DB,
        "pad_ms": PAD_MS,
        "mode": "all",
        "max_seconds": 600.0,
        "too_long": "exclude",
        "min_ms": 10.0,
    }
    assert preprocess_settings(checkpoint) == ClipSettings(16000, TOP_DB, PAD_MS, "all")
    shorter = {**checkpoint, "preprocess": {**checkpoint["preprocess"], "min_ms": 50.0}}
    assert preprocess_settings(shorter).min_ms == 50.0  # the cache's min_ms, as recorded
    assert preprocess_settings(checkpoint, top_db=20).top_db == 20
    # a model file without the record (older, or trained on a hand-built cache): defaults
    older = {k: v for k, v in checkpoint.items() if k != "preprocess"}
    assert preprocess_settings(older) == ClipSettings(16000, 20, 20, "all")
    with pytest.raises(ValueError, match="16000"):
        preprocess_settings(checkpoint, sample_rate=8000)


def test_preprocess_settings_carry_every_setting_the_model_file_records():
    """Each ClipSettings field comes back from model.pt's record, none from a list of names."""
    every = ClipSettings(
        sample_rate=8000, top_db=30.0, pad_ms=5.0, mode="trim", max_seconds=12.0,
        too_long="cut", min_ms=25.0,
    )  # fmt: skip
    assert all(getattr(every, f.name) != f.default for f in dataclasses.fields(ClipSettings))
    checkpoint = {"sample_rate": 8000, "preprocess": dataclasses.asdict(every)}
    assert preprocess_settings(checkpoint) == every
    assert preprocess_settings(checkpoint, pad_ms=1) == dataclasses.replace(every, pad_ms=1.0)


def test_predictions_reproduce_evaluate_and_bad_files_get_error_rows(workflow, tmp_path):
    folder, expected, test_paths = workflow
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF\x00\x00 this is not audio at all")
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(8000, dtype=np.float32), 16000)
    missing = tmp_path / "missing.wav"
    files = [str(corrupt), *test_paths[:3], str(silent), *test_paths[3:], str(missing)]
    table = predict_files(
        folder / "model.pt", files, tmp_path / "preds.csv", device="cpu", batch_size=7
    )

    prob_columns = [f"prob_{c}" for c in CLASSES]
    assert list(table.columns) == ["file", "predicted", "confidence", *prob_columns, "error"]
    assert table["file"].tolist() == files
    good = table[table["error"].isna()].set_index("file").loc[test_paths]
    assert set(good["predicted"]) <= set(CLASSES)
    assert good["predicted"].tolist() == expected["predicted"].tolist()
    assert np.allclose(good[prob_columns], expected[prob_columns], atol=1e-6)
    assert np.allclose(good["confidence"], expected["confidence"], atol=1e-6)

    bad = table[table["error"].notna()].set_index("file")
    assert bad.index.tolist() == [str(corrupt), str(silent), str(missing)]
    assert bad.loc[str(corrupt), "error"].startswith("not an audio file")
    assert bad.loc[str(silent), "error"] == "silent (every sample is zero)"
    assert bad.loc[str(missing), "error"] == "file missing"
    assert bad["predicted"].isna().all() and bad[prob_columns].isna().all().all()

    written = pd.read_csv(tmp_path / "preds.csv")
    assert written["file"].tolist() == files
    assert written["predicted"].isna().sum() == 3
    written_good = written[written["error"].isna()].set_index("file").loc[test_paths]
    assert np.allclose(written_good[prob_columns], good[prob_columns], atol=1e-12)


def test_other_preprocessing_gives_other_probabilities(workflow):
    folder, expected, test_paths = workflow
    prob_columns = [f"prob_{c}" for c in CLASSES]
    table = predict_files(folder / "model.pt", test_paths, top_db=20, device="cpu")
    assert not np.allclose(table[prob_columns], expected[prob_columns], atol=1e-4)


def test_main_returns_1_when_nothing_was_predicted(workflow, tmp_path, capsys):
    folder, _, test_paths = workflow
    bad = tmp_path / "bad.wav"
    bad.write_text("nope")
    assert main([str(folder / "model.pt"), str(bad), "--device", "cpu"]) == 1
    assert main([str(folder / "model.pt"), str(bad), test_paths[0], "--device", "cpu"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("file,predicted,confidence,prob_class0")
    assert printed[-1].startswith(test_paths[0])
    assert printed[-1].split(",")[1] in CLASSES


class _Payload:
    """Unpickling it would touch `marker`: the test that it is never run."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize(
    "change, words",
    [
        ({"type": "cnn9"}, r"model type 'cnn9' is not known to this version"),
        ({"format": "audioclf-model/0"}, r"format 'audioclf-model/0', expected 'audioclf-model/1'"),
        ({"format": "audioclf-model/7"}, r"format too new \('audioclf-model/7'; .*newer audioclf"),
        (None, r"no such file; give the path of a model.pt"),
        (b"", r"empty file \(0 bytes\), not a model file"),
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", r"not a model file \(it is a WAV audio file\)"),
        (
            "pickle",
            r"unsafe content refused \(it would call posix.system while loading; "
            r"nothing in it was run\)",
        ),
        (b"PK\x03\x04cut off", r"not a readable model file \(RuntimeError"),
    ],
)
def test_a_model_file_this_version_cannot_use_is_one_line_naming_it(
    workflow, tmp_path, capsys, change, words
):
    folder, _, test_paths = workflow
    model = tmp_path / "other.pt"
    marker = tmp_path / "payload_ran"
    if isinstance(change, bytes):  # an empty file, a WAV given as the model, a cut zip
        model.write_bytes(change)
    elif change == "pickle":  # a checkpoint whose unpickling would run a command
        torch.save({"format": "audioclf-model/1", "x": _Payload(marker)}, model)
    elif change is not None:
        torch.save({**torch.load(folder / "model.pt", weights_only=True), **change}, model)
    assert main([str(model), test_paths[0], "--device", "cpu"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {model}: "), lines
    assert re.search(words, lines[0]), lines[0]
    assert "weights_only" not in lines[0] and not marker.exists()


def test_command_line_in_a_subprocess(workflow, tmp_path):
    folder, expected, test_paths = workflow
    out = tmp_path / "cli.csv"
    result = subprocess.run(
        [
            sys.executable, "-m", "audioclf.evaluate.predict", str(folder / "model.pt"),
            str(folder / "audio"), str(tmp_path / "nothere.wav"),
            "--out", str(out), "--device", "cpu",
        ],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    table = pd.read_csv(out)
    assert len(table) == 24 + 1  # the folder's 24 files, then the missing one
    assert table["error"].iloc[-1] == "file missing"
    by_file = table.set_index("file")
    assert by_file.loc[test_paths, "predicted"].tolist() == expected["predicted"].tolist()
    assert "predicted 24 of 25 input(s)" in result.stderr


def test_every_input_it_cannot_use_is_named_in_the_table_and_on_stderr(workflow, tmp_path, capsys):
    folder, _, test_paths = workflow
    new = tmp_path / "new"
    (new / "empty").mkdir(parents=True)
    tone = 0.3 * np.sin(2 * np.pi * 440 * np.arange(48000) / 48000)
    sf.write(new / "voice.opus", tone, 48000, format="OGG", subtype="OPUS")  # libsndfile reads
    (new / "song.m4a").write_bytes(b"\x00\x00\x00\x20ftypM4A ")  # AAC: it does not
    (new / "notes.txt").write_text("not audio")
    table = predict_files(folder / "model.pt", [new, new / "empty"], device="cpu")
    by_file = table.set_index("file")
    assert by_file.loc[str(new / "voice.opus"), "predicted"] is not None
    assert pd.isna(by_file.loc[str(new / "voice.opus"), "error"])
    for name, ext in (("song.m4a", ".m4a"), ("notes.txt", ".txt")):
        assert by_file.loc[str(new / name), "error"].startswith(
            f"not read: extension {ext} is not an audio format libsndfile reads"
        )
    assert by_file.loc[str(new / "empty"), "error"].startswith("no audio files in this folder")
    assert len(table) == 4 and table["predicted"].notna().sum() == 1
    err = capsys.readouterr().err
    assert f"{new / 'song.m4a'}: not read" in err and f"{new / 'empty'}: no audio files" in err
    assert "predicted 1 of 4 input(s); 3 without one" in err


def sha256(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_out_never_replaces_an_input_or_another_file_but_its_own_table(workflow, tmp_path, capsys):
    """--out replaces a table predict wrote; the model, an input audio file (given, or found
    in a given folder) and any other file only with --force. A refusal is exit status 2 and
    one line naming the file, and comes before any work."""
    folder, _, test_paths = workflow
    model, audio = folder / "model.pt", folder / "audio"
    before = {path: sha256(path) for path in (model, test_paths[0])}
    for out, inputs, words in (
        (model, [test_paths[0]], "is the model file this prediction reads"),
        (test_paths[0], [test_paths[0]], "is an audio file this prediction reads"),
        (test_paths[0], [audio], "is an audio file this prediction reads"),
    ):
        assert main([str(model), *map(str, inputs), "--out", str(out), "--device", "cpu"]) == 2
        (line,) = capsys.readouterr().err.strip().splitlines()
        assert line.startswith(f"error: {out}: {words}") and "--force" in line, line
    assert before == {path: sha256(path) for path in before}  # neither was touched

    notes = tmp_path / "notes.csv"
    notes.write_text("my,own\n1,2\n")
    assert main([str(model), test_paths[0], "--out", str(notes), "--device", "cpu"]) == 2
    assert "is not a table predict wrote" in capsys.readouterr().err
    assert notes.read_text() == "my,own\n1,2\n"
    assert main([str(model), test_paths[0], "--out", str(tmp_path), "--device", "cpu"]) == 2
    assert f"error: {tmp_path}: is a folder" in capsys.readouterr().err

    out = tmp_path / "preds.csv"
    assert main([str(model), test_paths[0], "--out", str(out), "--device", "cpu"]) == 0
    assert pd.read_csv(out)["file"].tolist() == [test_paths[0]]
    # its own earlier table is replaced without --force
    assert main([str(model), *test_paths[1:3], "--out", str(out), "--device", "cpu"]) == 0
    assert pd.read_csv(out)["file"].tolist() == test_paths[1:3]
    # --force replaces another file
    assert main([str(model), test_paths[0], "--out", str(notes), "--device", "cpu", "--force"]) == 0
    assert pd.read_csv(notes)["file"].tolist() == [test_paths[0]]


@pytest.fixture
def timeout():
    """A test that hangs (a FIFO opened for reading waits for a writer) fails instead."""

    def expired(signum, frame):
        raise TimeoutError("predict hung: it opened a FIFO, or waited on one")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(120)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def test_fifos_and_broken_symlinks_are_named_never_opened(workflow, tmp_path, capsys, timeout):
    folder, _, test_paths = workflow
    new = tmp_path / "new"
    (new / "sub").mkdir(parents=True)
    shutil.copy(test_paths[0], new / "good.wav")
    os.mkfifo(new / "x.wav")
    os.symlink(tmp_path / "gone.wav", new / "dangling.wav")
    os.symlink("loop.wav", new / "loop.wav")
    os.symlink("..", new / "sub" / "up")  # a folder symlink that leads back up
    given_fifo = tmp_path / "given.wav"
    os.mkfifo(given_fifo)
    out = tmp_path / "preds.csv"
    os.mkfifo(tmp_path / "out_fifo.csv")
    model = str(folder / "model.pt")
    assert main([model, str(new), "--out", str(tmp_path / "out_fifo.csv"), "--device", "cpu"]) == 2
    assert "is not a table predict wrote" in capsys.readouterr().err

    assert main([model, str(new), str(given_fifo), "--out", str(out), "--device", "cpu"]) == 0
    table = pd.read_csv(out)
    assert table.loc[table["error"].isna(), "file"].tolist() == [str(new / "good.wav")]
    assert table.dropna(subset="error").set_index("file")["error"].to_dict() == {
        str(new / "dangling.wav"): f"dangling symlink (to {tmp_path / 'gone.wav'})",
        str(new / "loop.wav"): "symlink loop",
        str(new / "sub" / "up"): "a symlink to a folder, not followed; give that folder itself",
        str(new / "x.wav"): "not a regular file: a FIFO (named pipe)",
        str(given_fifo): "not a regular file: a FIFO (named pipe)",
    }
    err = capsys.readouterr().err
    assert f"{new / 'x.wav'}: not a regular file: a FIFO" in err
    assert "predicted 1 of 6 input(s); 5 without one" in err


def test_a_silent_file_is_reported_unusable_not_labelled(workflow, tmp_path, capsys):
    """Predict takes the preprocessing's verdict: a clip it rejects gets its reason, and
    no label (an all-zero file: silent by any floor)."""
    folder, _, _ = workflow
    silent = tmp_path / "zeros.wav"
    sf.write(silent, np.zeros(16000, dtype=np.int16), 16000, subtype="PCM_16")
    out = tmp_path / "preds.csv"
    assert main([str(folder / "model.pt"), str(silent), "--out", str(out), "--device", "cpu"]) == 1
    (row,) = pd.read_csv(out).to_dict("records")
    assert "silent" in row["error"] and pd.isna(row["predicted"]) and pd.isna(row["confidence"])
    assert f"{silent}: silent" in capsys.readouterr().err


def test_the_folder_listing_changes_with_every_entry_predict_would_name(tmp_path):
    """The predict_audio rule reruns when this digest (its listing param) changes: a file
    added, removed, grown or touched, and a FIFO or a dangling symlink added too."""
    folder = tmp_path / "new"
    folder.mkdir()
    (folder / "a.wav").write_bytes(b"RIFF one")
    seen = [folder_listing([folder], others=True)]
    assert folder_listing([folder], others=True) == seen[-1]  # nothing changed: the same

    def changed():
        seen.append(folder_listing([folder], others=True))
        return seen[-1] not in seen[:-1]

    (folder / "b.wav").write_bytes(b"RIFF two")
    assert changed()
    (folder / "b.wav").write_bytes(b"RIFF two, longer")
    assert changed()
    os.utime(folder / "b.wav", ns=(0, 10**18))
    assert changed()
    (folder / "notes.txt").write_text("named in the table too")
    assert changed()
    os.mkfifo(folder / "pipe.wav")
    assert changed()
    os.symlink(tmp_path / "gone.wav", folder / "dangling.wav")
    assert changed()
    (folder / "a.wav").unlink()
    assert changed()
