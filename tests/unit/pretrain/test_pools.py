"""The pools of their own: a folder of unlabeled audio and the labels a run leaves out,
each decoded once into its own cache without any dataset clip, then pretrained on."""

import os
import shutil

import pandas as pd
import pytest
import torch

from audioclf.contracts import CLIPS, EXCLUDED, SUBSET
from audioclf.datasets.fsdkaggle import fsdkaggle_catalog
from audioclf.preprocess.clips import preprocess_subset
from audioclf.pretrain.pool import PoolError, folder_pool, other_labels_pool, write_pool
from audioclf.pretrain.train import PretrainError, pretrain
from httpserver import wav_bytes

SETTINGS = {"encoder": "raw1d", "epochs": 3, "batch_size": 4, "crop_seconds": 0.25}


def _cache_of(files, folder, name):
    """A packed cache of `files` through the real preprocessing (the 'dataset')."""
    table = pd.DataFrame({"fname": [f.name for f in files], "label": "x",
                          "path": [str(f) for f in files]})  # fmt: skip
    SUBSET.write(folder / f"{name}.csv", table)
    preprocess_subset(
        folder / f"{name}.csv", folder / f"{name}.pt", folder / f"{name}_clips.csv",
        folder / f"{name}_excluded.csv", progress=False,
    )  # fmt: skip
    return folder / f"{name}.pt"


@pytest.fixture
def folder_pool_run(fsdd_recordings, tmp_path):
    """A dataset of three FSDD recordings, and a pool folder holding six others, one of the
    dataset's recordings again (renamed), a corrupt WAV and a text file."""
    files = sorted(fsdd_recordings.glob("*_theo_*.wav"))[:9]
    dataset = _cache_of(files[:3], tmp_path, "dataset")
    pool_dir = tmp_path / "unlabeled" / "nested"
    pool_dir.mkdir(parents=True)
    for f in files[3:]:
        shutil.copy(f, pool_dir / f.name)
    shutil.copy(files[0], tmp_path / "unlabeled" / "copy_of_a_dataset_clip.wav")
    (tmp_path / "unlabeled" / "broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    (tmp_path / "unlabeled" / "notes.txt").write_text("not audio")
    write_pool(tmp_path / "pool.csv", "mine", {"pool": "folder",
               "folders": [str(tmp_path / "unlabeled")]}, kind="folder", labels=["x"])  # fmt: skip
    pool = tmp_path / "pool"
    pool.mkdir()
    summary = preprocess_subset(
        tmp_path / "pool.csv", pool / "cache.pt", pool / "clips.csv", pool / "excluded.csv",
        max_excluded_fraction=1.0, require_every_label=False, not_in=dataset, progress=False,
    )  # fmt: skip
    return tmp_path, pool, summary, files


def test_a_folder_pool_lists_every_audio_file_under_its_folders(folder_pool_run):
    tmp_path, _, _, files = folder_pool_run
    table = SUBSET.read(tmp_path / "pool.csv")
    names = sorted(p.split("/")[-1] for p in table["path"])
    assert names == sorted([f.name for f in files[3:]] +
                           ["broken.wav", "copy_of_a_dataset_clip.wav"])  # fmt: skip
    assert set(table["label"]) == {"unlabeled"}


def test_a_folder_pool_excludes_unreadable_files_and_dataset_clips_naming_them(
    folder_pool_run,
):
    tmp_path, pool, summary, files = folder_pool_run
    excluded = EXCLUDED.read(pool / "excluded.csv").set_index("fname")
    assert summary["usable"] == 6 and summary["excluded"] == 2
    copy = str(tmp_path / "unlabeled" / "copy_of_a_dataset_clip.wav")
    assert excluded.loc[copy, "reason"] == (
        f"same audio as a dataset clip ({files[0].name} of {tmp_path / 'dataset.pt'})"
    )
    assert excluded.loc[str(tmp_path / "unlabeled" / "broken.wav"), "reason"]
    assert len(CLIPS.read(pool / "clips.csv")) == 6


@pytest.mark.timeout(60)
def test_a_folder_pool_names_fifos_broken_symlinks_and_folder_links_in_excluded(tmp_path):
    """Entries named like audio that are no regular file are listed in the pool's
    excluded.csv with their reason, never opened (a FIFO would hang the test)."""
    folder = tmp_path / "unlabeled"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "ok.wav").write_bytes(wav_bytes(0.3))
    os.mkfifo(folder / "pipe.wav")
    (folder / "gone.wav").symlink_to(tmp_path / "nothing.wav")
    (folder / "more").symlink_to(folder / "sub")
    (folder / "notes.txt").write_text("not named like audio, not listed")
    write_pool(tmp_path / "pool.csv", "mine", {"pool": "folder", "folders": [str(folder)]},
               kind="folder", labels=["x"])  # fmt: skip
    summary = preprocess_subset(
        tmp_path / "pool.csv", tmp_path / "cache.pt", tmp_path / "clips.csv",
        tmp_path / "excluded.csv", max_excluded_fraction=1.0, require_every_label=False,
        progress=False,
    )  # fmt: skip
    excluded = EXCLUDED.read(tmp_path / "excluded.csv")
    assert dict(zip(excluded["path"], excluded["reason"], strict=True)) == {
        str(folder / "pipe.wav"): "not a regular file: a FIFO (named pipe)",
        str(folder / "gone.wav"): f"dangling symlink (to {tmp_path / 'nothing.wav'})",
        str(folder / "more"): "a symlink to a folder, not followed; give that folder itself",
    }
    assert summary["usable"] == 1
    assert CLIPS.read(tmp_path / "clips.csv")["fname"].tolist() == [str(folder / "sub/ok.wav")]


def test_a_pool_of_only_unreadable_entries_fails_naming_them(tmp_path):
    os.mkfifo(tmp_path / "pipe.wav")
    fifo = r"1 entries it cannot read \(.*pipe.wav: not a regular file: a FIFO"
    with pytest.raises(PoolError, match=rf"0 audio files .*{fifo}"):
        folder_pool("mine", [tmp_path])


def test_pretraining_on_a_folder_pool_records_its_source_and_exclusions(folder_pool_run):
    tmp_path, pool, _, _ = folder_pool_run
    settings = {**SETTINGS, "pool": "folder", "folders": [str(tmp_path / "unlabeled")]}
    checkpoint = pretrain(
        pool / "cache.pt", None, tmp_path / "encoder.pt", tmp_path / "history.csv",
        name="mine", settings=settings, pool_excluded=pool / "excluded.csv", device="cpu",
        threads=1,
    )  # fmt: skip
    record = checkpoint["pool"]
    assert record["source"] == "folder" and record["n_clips"] == 6
    assert record["excluded"] == 2 and record["excluded_as_dataset_clips"] == 1
    assert record["folders"] == [str(tmp_path / "unlabeled")]
    assert torch.load(tmp_path / "encoder.pt", weights_only=True)["pool"] == record


def test_a_pool_whose_every_file_is_unusable_fails_naming_the_pool_and_its_size(tmp_path):
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "a.wav").write_bytes(b"not a wav")
    settings = {"pool": "folder", "folders": [str(tmp_path / "bad")]}
    write_pool(tmp_path / "pool.csv", "mine", settings, kind="folder", labels=["x"])
    preprocess_subset(
        tmp_path / "pool.csv", tmp_path / "cache.pt", tmp_path / "clips.csv",
        tmp_path / "excluded.csv", max_excluded_fraction=1.0, require_every_label=False,
        progress=False,
    )  # fmt: skip
    with pytest.raises(
        PretrainError, match=r"pretrain.mine: the folder pool .*cache.pt has 0 usable"
    ):
        pretrain(
            tmp_path / "cache.pt", None, tmp_path / "e.pt", tmp_path / "h.csv", name="mine",
            settings={**SETTINGS, "pool": "folder"}, device="cpu",
        )  # fmt: skip


def test_an_empty_or_missing_pool_folder_fails_naming_the_key(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("no audio here")
    with pytest.raises(PoolError, match=r"pretrain.mine: the folder pool .* has 0 audio files"):
        folder_pool("mine", [tmp_path / "empty"])
    with pytest.raises(PoolError, match=r"pretrain.mine.folders: .*nowhere.* not a folder"):
        folder_pool("mine", [tmp_path / "nowhere"])


def test_the_other_labels_pool_holds_only_unselected_labels_spread_evenly(fsdk_meta):
    catalog = fsdkaggle_catalog(fsdk_meta)
    selected = ["Bark", "Cough", "Knock", "Laughter", "Trumpet"]
    pool = other_labels_pool("other", catalog, selected, max_clips=370)
    assert len(pool) == 370 and pool["fname"].is_unique
    assert not set(pool["label"]) & set(selected)
    assert set(pool["source"]) == {"train"}
    counts = pool["label"].value_counts()
    assert len(counts) == 36 and counts.max() - counts.min() <= 1  # 41 labels less 5
    assert other_labels_pool("other", catalog, selected, max_clips=370).equals(pool)
    with pytest.raises(PoolError, match="every label of the dataset is selected"):
        other_labels_pool("other", catalog, "all")
