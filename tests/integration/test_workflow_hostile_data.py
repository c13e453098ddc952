"""A hostile folder dataset through snakemake (issue 30): copies of the same audio (one under
another label), CSV rows outside the folder, a FIFO, a dangling symlink and a 300-character
name, all in one tiny run; and the config problems refused before any job runs."""

import os
import shutil

import pandas as pd
import pytest

from audioclf.datasets.files import OUTSIDE
from conftest import make_workdir, snakemake
from httpserver import wav_bytes

pytestmark = pytest.mark.slow

SPLIT_CSV = "results/data/splits/seed0/split.csv"
LONG_NAME = "l" * 300 + ".wav"


def hostile_folder(root) -> dict:
    """10 clips of each of two labels, 4 of them copies of another (one under the other
    label), and CSV rows that must not be read; the dataset config."""
    audio = root / "audio"
    audio.mkdir(parents=True)
    rows = []
    for label in ("cat", "dog"):
        for i in range(10):
            name = f"{label}{i}.wav"
            (audio / name).write_bytes(wav_bytes(0.3, seed=100 * (label == "dog") + i))
            rows.append((name, label))
    copies = {"cat0b.wav": "cat", "cat1b.wav": "cat", "dog0b.wav": "dog", "dog1b.wav": "cat"}
    for copy, label in copies.items():
        shutil.copy(audio / copy.replace("b.wav", ".wav"), audio / copy)
        rows.append((copy, label))
    (root / "x.wav").write_bytes(wav_bytes(0.3, seed=999))
    os.mkfifo(audio / "pipe.wav")
    (audio / "gone.wav").symlink_to(audio / "nothing.wav")
    rows += [("/etc/hostname", "cat"), ("../x.wav", "dog"), ("pipe.wav", "cat"),
             ("gone.wav", "dog"), (LONG_NAME, "cat")]  # fmt: skip
    pd.DataFrame(rows, columns=["fname", "label"]).to_csv(root / "meta.csv", index=False)
    return {"kind": "folder", "path": str(audio), "metadata": str(root / "meta.csv")}


@pytest.mark.timeout(300)
def test_a_hostile_folder_is_split_without_copies_across_parts_or_reads_outside(tmp_path):
    dataset = hostile_folder(tmp_path)
    overrides = {"dataset": dataset, "labels": "all", "preprocess": {"max_excluded_fraction": 0.5}}
    workdir = make_workdir(tmp_path, overrides)
    snakemake(workdir, SPLIT_CSV, "--cores", "2", "--configfile", "config/test.yaml", timeout=280)
    data = workdir / "results/data"
    excluded = pd.read_csv(data / "excluded.csv")
    assert dict(zip(excluded["fname"], excluded["reason"], strict=True)) == {
        "dog1.wav": "same audio as a clip labelled otherwise (dog1b.wav, labelled cat)",
        "dog1b.wav": "same audio as a clip labelled otherwise (dog1.wav, labelled dog)",
        "/etc/hostname": f"{OUTSIDE} (resolves to {os.path.realpath('/etc/hostname')})",
        "../x.wav": f"{OUTSIDE} (resolves to {os.path.realpath(tmp_path / 'x.wav')})",
        "pipe.wav": "not a regular file: a FIFO (named pipe)",
        "gone.wav": f"dangling symlink (to {dataset['path']}/nothing.wav)",
        LONG_NAME: "unreadable (File name too long)",
    }
    clips = pd.read_csv(data / "clips.csv")
    split = pd.read_csv(workdir / SPLIT_CSV).merge(clips[["fname", "samples_hash"]], on="fname")
    assert sorted(split["fname"]) == sorted(clips["fname"]) and len(split) == 22
    copies = split.groupby("samples_hash")["split"].agg(["size", "nunique"])
    assert (copies["size"] == 2).sum() == 3 and (copies["nunique"] == 1).all()
    tested = set(split.loc[split["split"] == "test", "samples_hash"])
    assert tested.isdisjoint(split.loc[split["split"] == "train", "samples_hash"])


def test_split_fractions_over_one_are_refused_before_any_job(tmp_path):
    fractions = {"train": 0.7, "valid": 0.2, "test": 0.3}
    overrides = {"dataset": {"kind": "demo"}, "split": {"fractions": fractions}}
    workdir = make_workdir(tmp_path, overrides)
    out = snakemake(workdir, "--cores", "1", "--configfile", "config/test.yaml", check=False)
    assert out.returncode != 0
    assert "split.fractions: train 0.7 + valid 0.2 + test 0.3 add up to 1.2" in out.stderr
    assert not (workdir / "resources").exists() and not (workdir / "results").exists()


def test_a_one_label_folder_is_refused_at_select_subset_naming_the_label(tmp_path):
    audio = tmp_path / "audio"
    audio.mkdir()
    for i in range(3):
        (audio / f"dog_{i}.wav").write_bytes(b"")  # select_subset lists files, it reads none
    dataset = {"kind": "folder", "path": str(audio), "label_regex": "(?P<label>[a-z]+)_"}
    workdir = make_workdir(tmp_path, {"dataset": dataset, "labels": "all"})
    out = snakemake(workdir, SPLIT_CSV, "--cores", "1", "--configfile", "config/test.yaml",
                    check=False)  # fmt: skip
    assert out.returncode != 0
    log = (workdir / "logs/select_subset/subset.log").read_text()
    assert "the selected data has 1 label(s), ['dog'], and a classifier needs at least two" in log
    assert not (workdir / "results/data/subset.csv").exists()
