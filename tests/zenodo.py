"""A local stand-in for Zenodo's FSDKaggle2018 record: archives of the real layout."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import pandas as pd

from httpserver import FileServer, build_zip, fsdkaggle_rows, wav_bytes

RECORD = "records/2552860/files"
TEMPLATE = "{base_url}/{name}?download=1"
DEFAULT_LABELS = ["Bark", "Cough", "Knock", "Laughter", "Trumpet"]
OTHER_LABELS = ["Label00", "Label01"]
META, TRAIN, TEST = (
    "FSDKaggle2018.meta.zip",
    "FSDKaggle2018.audio_train.zip",
    "FSDKaggle2018.audio_test.zip",
)
QUICK = {"retries": 2, "backoff": 0.01, "progress": False}


def table(rows: list[dict]) -> bytes:
    buffer = io.StringIO()
    pd.DataFrame(rows).to_csv(buffer, index=False)
    return buffer.getvalue().encode()


def meta_zip(train: bytes, test: bytes, test_name="test_post_competition_scoring_clips.csv"):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("FSDKaggle2018.meta/train_post_competition.csv", train)
        archive.writestr(f"FSDKaggle2018.meta/{test_name}", test)
    return buffer.getvalue()


def build_zenodo(folder: Path) -> dict:
    """Meta, train and test archives of FSDKaggle2018's shape: 30 labels, members by fname."""
    labels = DEFAULT_LABELS + [f"Label{i:02d}" for i in range(25)]
    train_rows = [(f, labels[int(lab[5:])]) for f, lab in fsdkaggle_rows(30, 6, seed=1)]
    test_rows = [(f, labels[int(lab[5:])]) for f, lab in fsdkaggle_rows(30, 2, seed=2)]
    train_csv = table(
        [{"fname": f, "label": lab, "manually_verified": i % 2, "freesound_id": i,
          "license": "Attribution"} for i, (f, lab) in enumerate(train_rows)]
    )  # fmt: skip
    test_csv = table(
        [{"fname": f, "label": lab, "usage": "Public", "freesound_id": i,
          "license": "Attribution"} for i, (f, lab) in enumerate(test_rows)]
    )  # fmt: skip
    audio = {}
    for name, rows, directory in (
        (TRAIN, train_rows, "FSDKaggle2018.audio_train"),
        (TEST, test_rows, "FSDKaggle2018.audio_test"),
    ):
        audio[name] = {
            f"{directory}/{fname}": wav_bytes(0.1 + 0.04 * (i % 5), seed=i)
            for i, (fname, _) in enumerate(rows)
        }
        build_zip(folder / name, audio[name])
    files = {
        META: meta_zip(train_csv, test_csv),
        TRAIN: (folder / TRAIN).read_bytes(),
        TEST: (folder / TEST).read_bytes(),
    }
    archives = {
        key: {"name": name, "md5": hashlib.md5(files[name]).hexdigest()}
        for key, name in (("meta", META), ("train", TRAIN), ("test", TEST))
    }
    return {"files": files, "archives": archives, "audio": audio, "train_csv": train_csv}


def serve(zenodo: dict) -> FileServer:
    """A FileServer (use it as a context manager) answering for the record's files."""
    return FileServer({f"{RECORD}/{n}": data for n, data in zenodo["files"].items()})


def base_url(server) -> str:
    return f"{server.base_url}/{RECORD}"


def assert_clips_match(manifest: pd.DataFrame, root, zenodo) -> None:
    members = {**zenodo["audio"][TRAIN], **zenodo["audio"][TEST]}
    for path in manifest["path"]:
        name = str(path).split(f"{root}/", 1)[1]
        assert open(path, "rb").read() == members[name], name
