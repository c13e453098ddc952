"""Preprocessing and copies of the same audio (issue 30): clips.csv's samples_hash, copies
under different labels excluded, and files that are not regular, or whose names the OS
refuses, excluded one by one."""

from __future__ import annotations

import os
import shutil

import pandas as pd
import pytest
import torch

from audioclf.contracts import CLIPS
from audioclf.preprocess.cache import PackedClips
from audioclf.preprocess.clips import preprocess_subset
from httpserver import wav_bytes


def write_clips(folder, names_labels: dict[str, str]) -> pd.DataFrame:
    """A subset of one noise clip per name; a name ending in `_copy` is a byte copy of the
    clip named without it."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(names_labels):
        original = name.removesuffix("_copy")
        if original != name:
            shutil.copy(folder / f"{original}.wav", folder / f"{name}.wav")
        else:
            (folder / f"{name}.wav").write_bytes(wav_bytes(0.5, seed=i))
    return pd.DataFrame(
        {"fname": [f"{n}.wav" for n in names_labels], "label": list(names_labels.values()),
         "path": [str(folder / f"{n}.wav") for n in names_labels]}
    )  # fmt: skip


def preprocess(tmp_path, subset: pd.DataFrame, **kwargs) -> tuple[pd.DataFrame, pd.DataFrame]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    subset.to_csv(tmp_path / "subset.csv", index=False)
    out = tmp_path / "out"
    preprocess_subset(
        tmp_path / "subset.csv", out / "cache.pt", out / "clips.csv", out / "excluded.csv",
        progress=False, **kwargs,
    )  # fmt: skip
    return CLIPS.read(out / "clips.csv"), pd.read_csv(out / "excluded.csv")


def test_copies_share_a_hash_and_copies_labelled_otherwise_are_all_excluded(tmp_path):
    subset = write_clips(
        tmp_path / "audio",
        {"a": "cat", "a_copy": "cat", "b": "dog", "b_copy": "cat", "c": "dog", "d": "cat",
         "e": "dog", "f": "dog"},
    )  # fmt: skip
    clips, excluded = preprocess(tmp_path, subset, max_excluded_fraction=0.3)
    hashes = dict(zip(clips["fname"], clips["samples_hash"], strict=True))
    assert hashes["a.wav"] == hashes["a_copy.wav"]
    assert len({hashes[n] for n in ("a.wav", "c.wav", "d.wav", "e.wav", "f.wav")}) == 5
    assert dict(zip(excluded["fname"], excluded["reason"], strict=True)) == {
        "b.wav": "same audio as a clip labelled otherwise (b_copy.wav, labelled cat)",
        "b_copy.wav": "same audio as a clip labelled otherwise (b.wav, labelled dog)",
    }
    # the cache holds exactly the kept clips, each with its own samples
    cache = PackedClips.load(tmp_path / "out" / "cache.pt")
    assert cache.fnames == clips["fname"].tolist() == ["a.wav", "a_copy.wav", "c.wav", "d.wav",
                                                       "e.wav", "f.wav"]  # fmt: skip
    assert torch.equal(cache.raw(0), cache.raw(1))
    assert cache.waveforms.numel() == int(cache.offsets[-1])
    # each clip's samples are those it has when preprocessed without the excluded copies
    alone, _ = preprocess(tmp_path / "alone", subset.iloc[[0, 4, 5, 6, 7]], max_excluded_fraction=0)
    kept = PackedClips.load(tmp_path / "alone" / "out" / "cache.pt")
    for i, name in enumerate(alone["fname"]):
        assert torch.equal(kept.raw(i), cache.raw(cache.fnames.index(name))), name


def test_copies_labelled_otherwise_count_towards_max_excluded_fraction(tmp_path):
    subset = write_clips(tmp_path / "audio", {"a": "cat", "a_copy": "dog", "b": "cat", "c": "dog"})
    with pytest.raises(
        RuntimeError,
        match=r"a.wav \(same audio as a clip labelled otherwise \(a_copy.wav, labelled dog\)",
    ):
        preprocess(tmp_path, subset, max_excluded_fraction=0.2)


@pytest.mark.timeout(60)
def test_a_fifo_a_dangling_link_and_a_long_name_are_one_exclusion_each(tmp_path):
    """Also without a catalog's exclusion column (FSDKaggle2018's, ESC-50's subsets)."""
    subset = write_clips(tmp_path / "audio", {"a": "cat", "b": "dog"})
    folder = tmp_path / "audio"
    os.mkfifo(folder / "pipe.wav")
    (folder / "gone.wav").symlink_to(folder / "nothing.wav")
    long_name = "n" * 300 + ".wav"
    odd = pd.DataFrame(
        {"fname": ["pipe.wav", "gone.wav", long_name], "label": ["cat", "dog", "cat"],
         "path": [str(folder / "pipe.wav"), str(folder / "gone.wav"), str(folder / long_name)]}
    )  # fmt: skip
    clips, excluded = preprocess(
        tmp_path, pd.concat([subset, odd], ignore_index=True), max_excluded_fraction=1.0
    )
    assert clips["fname"].tolist() == ["a.wav", "b.wav"]
    assert dict(zip(excluded["fname"], excluded["reason"], strict=True)) == {
        "pipe.wav": "not a regular file: a FIFO (named pipe)",
        "gone.wav": f"dangling symlink (to {folder / 'nothing.wav'})",
        long_name: "unreadable (File name too long)",
    }
