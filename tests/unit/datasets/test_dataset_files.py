"""Which dataset files are read (issue 30): only regular files inside dataset.path, named by
a path template of plain fields; anything else is named with a reason, never opened."""

from __future__ import annotations

import os

import pandas as pd
import pytest

from audioclf.datasets.catalog import CatalogError
from audioclf.datasets.files import OUTSIDE, check_path_template, exclusion
from audioclf.datasets.folder import folder_catalog
from audioclf.datasets.subset import select_subset, write_subset
from audioclf.preprocess import audio as preprocess_audio
from audioclf.preprocess import clips as preprocess_clips
from httpserver import wav_bytes


def outside(target) -> str:
    """excluded.csv's reason for a file that resolves to `target`, outside the folder."""
    return f"{OUTSIDE} (resolves to {os.path.realpath(target)})"


LONG_NAME = "a" * 300 + ".wav"


@pytest.mark.parametrize(
    "template", ["fold{fold}/{fname}", "{dir}/{fname}", "{fname}", "x", "{class-id}/{file name}"]
)
def test_a_plain_template_inside_the_folder_is_accepted(template):
    check_path_template(template)


def test_a_template_of_csv_columns_that_are_no_identifiers_finds_the_files(tmp_path):
    """Any CSV column is a field, as str.format_map reads it: spaces and dashes too."""
    root = tmp_path / "data"
    (root / "dogs").mkdir(parents=True)
    (root / "cats").mkdir()
    (root / "dogs" / "bark.wav").write_bytes(wav_bytes(0.1))
    (root / "cats" / "meow.wav").write_bytes(wav_bytes(0.1, seed=1))
    pd.DataFrame(
        {"fname": ["d1", "c1"], "label": ["dog", "cat"], "file name": ["bark.wav", "meow.wav"],
         "class-id": ["dogs", "cats"]}
    ).to_csv(tmp_path / "meta.csv", index=False)  # fmt: skip
    catalog = folder_catalog(root, tmp_path / "meta.csv", path_template="{class-id}/{file name}")
    assert catalog["path"].tolist() == [str(root / "dogs/bark.wav"), str(root / "cats/meow.wav")]
    assert catalog["exclusion"].tolist() == ["", ""]


@pytest.mark.parametrize(
    "template, words",
    [
        ("{fname.__class__}", "not a plain field"),
        ("{fname[0]}", "not a plain field"),
        ("{fname:>10}", "not a plain field"),
        ("{fname!r}", "not a plain field"),
        ("{}", "not a plain field"),
        ("{0}", "not a plain field"),
        ("{dir}/{1}", "not a plain field"),
        ("{fname", "expected '}'"),
        ("../x/{fname}", "leads out of dataset.path"),
        ("/etc/{fname}", "leads out of dataset.path"),
        ("{dir}/../../{fname}", "leads out of dataset.path"),
    ],
)
def test_a_template_with_more_than_plain_fields_or_leading_out_is_refused(template, words):
    with pytest.raises(ValueError, match=words) as caught:
        check_path_template(template)
    assert template in str(caught.value)


@pytest.fixture
def hostile(tmp_path):
    """A dataset folder whose CSV names good clips, files outside it (absolute, climbing, a
    symlink out), a symlink that stays inside, a FIFO, a dangling symlink, a symlink loop
    and a 300-character name."""
    root, outside = tmp_path / "data", tmp_path / "elsewhere"
    root.mkdir()
    outside.mkdir()
    for i, label in enumerate(["cat", "cat", "dog", "dog"]):
        (root / f"{label}{i}.wav").write_bytes(wav_bytes(0.2, seed=i))
    (tmp_path / "x.wav").write_bytes(wav_bytes(0.2, seed=9))
    (outside / "far.wav").write_bytes(wav_bytes(0.2, seed=8))
    (root / "inner.wav").symlink_to(root / "cat0.wav")
    (root / "out.wav").symlink_to(outside / "far.wav")
    os.mkfifo(root / "pipe.wav")
    (root / "gone.wav").symlink_to(root / "nothing-here.wav")
    (root / "loop.wav").symlink_to(root / "loop.wav")
    names = ["cat0.wav", "cat1.wav", "dog2.wav", "dog3.wav", "/etc/hostname", "../x.wav",
             "inner.wav", "out.wav", "pipe.wav", "gone.wav", "loop.wav", LONG_NAME]  # fmt: skip
    labels = ["cat", "cat", "dog", "dog", "dog", "dog", "cat"] + ["dog"] * (len(names) - 7)
    pd.DataFrame({"fname": names, "label": labels}).to_csv(tmp_path / "meta.csv", index=False)
    return root, tmp_path / "meta.csv"


def test_the_catalog_names_why_each_hostile_file_is_not_read(hostile):
    root, meta = hostile
    catalog = folder_catalog(root, meta)
    reasons = dict(zip(catalog["fname"], catalog["exclusion"], strict=True))
    assert {name: reasons[name] for name in ("cat0.wav", "dog3.wav", "inner.wav")} == {
        "cat0.wav": "", "dog3.wav": "", "inner.wav": ""
    }  # fmt: skip
    assert reasons["/etc/hostname"] == outside("/etc/hostname")
    assert reasons["../x.wav"] == outside(root.parent / "x.wav")
    assert reasons["out.wav"] == outside(root.parent / "elsewhere" / "far.wav")
    assert reasons["pipe.wav"] == "not a regular file: a FIFO (named pipe)"
    assert reasons["gone.wav"] == f"dangling symlink (to {root / 'nothing-here.wav'})"
    assert reasons["loop.wav"] == "symlink loop"
    assert reasons[LONG_NAME] == "unreadable (File name too long)"


def test_the_subset_keeps_the_reasons_for_preprocessing(hostile, tmp_path):
    root, meta = hostile
    subset = write_subset(
        tmp_path / "subset.csv", "folder", "all", settings={"path": str(root), "metadata": meta}
    )
    written = pd.read_csv(tmp_path / "subset.csv", keep_default_na=False)
    assert written["exclusion"].tolist() == subset["exclusion"].tolist()
    assert (written["exclusion"] != "").sum() == 7


@pytest.mark.timeout(60)
def test_preprocessing_lists_each_hostile_file_with_its_reason_and_opens_none(
    hostile, tmp_path, monkeypatch
):
    root, meta = hostile
    opened = []
    reader = preprocess_audio.load_audio

    def recording_reader(path, *args, **kwargs):
        opened.append(os.path.realpath(path))
        return reader(path, *args, **kwargs)

    monkeypatch.setattr(preprocess_audio, "load_audio", recording_reader)
    subset = write_subset(
        tmp_path / "subset.csv", "folder", "all", settings={"path": str(root), "metadata": meta}
    )
    out = tmp_path / "out"
    summary = preprocess_clips.preprocess_subset(
        tmp_path / "subset.csv", out / "cache.pt", out / "clips.csv", out / "excluded.csv",
        max_excluded_fraction=1.0, progress=False,
    )  # fmt: skip
    readable = subset.loc[subset["exclusion"] == "", "path"]
    assert sorted(opened) == sorted(os.path.realpath(p) for p in readable)
    excluded = pd.read_csv(out / "excluded.csv")
    reasons = dict(zip(excluded["fname"], excluded["reason"], strict=True))
    assert reasons == {
        "/etc/hostname": outside("/etc/hostname"), "../x.wav": outside(root.parent / "x.wav"),
        "out.wav": outside(root.parent / "elsewhere" / "far.wav"),
        "pipe.wav": "not a regular file: a FIFO (named pipe)",
        "gone.wav": f"dangling symlink (to {root / 'nothing-here.wav'})",
        "loop.wav": "symlink loop", LONG_NAME: "unreadable (File name too long)",
    }  # fmt: skip
    assert summary["usable"] == 5  # four clips, and the symlink that stays inside


def test_a_template_or_dir_column_leading_out_is_excluded_row_by_row(tmp_path):
    root = tmp_path / "data"
    (root / "a").mkdir(parents=True)
    (root / "a" / "1.wav").write_bytes(wav_bytes(0.1))
    pd.DataFrame({"fname": ["1.wav", "2.wav"], "label": ["x", "y"], "dir": ["a", "../.."]}).to_csv(
        tmp_path / "meta.csv", index=False
    )
    catalog = folder_catalog(root, tmp_path / "meta.csv", columns={"dir": "dir"})
    assert catalog["exclusion"].tolist() == ["", outside(tmp_path.parent / "2.wav")]
    catalog = folder_catalog(root, tmp_path / "meta.csv", path_template="{dir}/{fname}")
    assert catalog["exclusion"].tolist() == ["", outside(tmp_path.parent / "2.wav")]
    with pytest.raises(CatalogError, match="not a plain field"):
        folder_catalog(root, tmp_path / "meta.csv", path_template="{fname.__class__}")


@pytest.mark.timeout(30)
def test_a_label_regex_catalog_names_fifos_and_broken_symlinks(tmp_path, capsys):
    root = tmp_path / "data"
    (root / "empty").mkdir(parents=True)
    (root / "more").symlink_to(root / "empty")  # no clip name: named in the log instead
    for name in ("cat_1.wav", "dog_1.wav", "dog_2.wav"):
        (root / name).write_bytes(wav_bytes(0.1))
    os.mkfifo(root / "cat_2.wav")
    (root / "cat_3.wav").symlink_to(root / "missing.wav")
    (root / "dog_3.wav").symlink_to(root / "dog_3.wav")
    (root / "dog_4.wav").symlink_to(tmp_path)  # a folder, out of the dataset folder too
    catalog = folder_catalog(root, label_regex=r"^(?P<label>[a-z]+)_")
    assert dict(zip(catalog["fname"], catalog["exclusion"], strict=True)) == {
        "cat_1.wav": "",
        "cat_2.wav": "not a regular file: a FIFO (named pipe)",
        "cat_3.wav": f"dangling symlink (to {root / 'missing.wav'})",
        "dog_1.wav": "",
        "dog_2.wav": "",
        "dog_3.wav": "symlink loop",
        "dog_4.wav": outside(tmp_path),
    }
    assert f"{root / 'more'}: a symlink to a folder, not followed" in capsys.readouterr().err


def test_a_folder_named_like_audio_is_named_a_folder(tmp_path):
    (tmp_path / "sub.wav").mkdir()
    assert exclusion(tmp_path / "sub.wav", tmp_path) == "not a regular file: a folder"


def test_fewer_than_two_labels_are_refused_naming_the_label():
    catalog = pd.DataFrame(
        {"fname": ["a.wav", "b.wav"], "label": ["Bark", "Bark"], "source": "train",
         "manually_verified": "", "path": ["a.wav", "b.wav"]}
    )  # fmt: skip
    with pytest.raises(CatalogError, match=r"has 1 label\(s\), \['Bark'\], .* at least two"):
        select_subset(catalog, "all")
