"""Writing outputs on a full or read-only disk: one line naming the file (and the bytes it
needed), nothing half-written left behind. A real 1 MiB tmpfs, mounted for the test."""

import os
import subprocess

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch

from audioclf.contracts import SUBSET
from audioclf.io import OutputError, write_csv
from audioclf.preprocess.cache import PackedClips
from audioclf.preprocess.clips import preprocess_subset


@pytest.fixture
def small_disk(tmp_path):
    mount = tmp_path / "small"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (CI runs as root); this is not root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)],
                          capture_output=True, text=True)  # fmt: skip
    if done.returncode != 0:
        pytest.skip(f"mounting a tmpfs is not allowed here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_cache_bigger_than_the_disk_is_one_line_and_leaves_nothing(small_disk):
    waves = torch.zeros(1_000_000, dtype=torch.int16)  # 2 MB of samples, on 1 MiB
    cache = PackedClips(waves, torch.tensor([0, 1_000_000]), ["a"], ["x"], 16000,
                        torch.tensor([62.5], dtype=torch.float64))  # fmt: skip
    target = small_disk / "cache.pt"
    with pytest.raises(OutputError) as caught:
        cache.save(target)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"{target}: the disk is full (")
    assert "writing it needed 2,000," in message
    assert list(small_disk.iterdir()) == []


def test_preprocessing_onto_a_full_disk_names_the_cache_and_leaves_nothing(small_disk, tmp_path):
    rows = []
    for i in range(30):  # 30 x 3 s at 16 kHz: 2.9 MB of int16 samples
        path = tmp_path / f"tone{i}.wav"
        sf.write(path, 0.3 * np.sin(2 * np.pi * (200 + 10 * i) * np.arange(48000) / 16000), 16000)
        rows.append({"fname": path.name, "label": "a", "path": str(path)})
    SUBSET.write(tmp_path / "subset.csv", pd.DataFrame(rows))
    target = small_disk / "cache.pt"
    with pytest.raises(OutputError, match=rf"^{target}: the disk is full .* needed \d[\d,]* bytes"):
        preprocess_subset(
            tmp_path / "subset.csv", target, tmp_path / "clips.csv", tmp_path / "excluded.csv",
            top_db=80, progress=False,
        )  # fmt: skip
    assert list(small_disk.iterdir()) == []  # neither the spool nor a partial cache


def test_a_read_only_disk_is_one_line_naming_the_file(small_disk):
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    with pytest.raises(OutputError) as caught:
        write_csv(small_disk / "table.csv", pd.DataFrame({"a": [1]}))
    assert str(caught.value) == (
        f"{small_disk / 'table.csv'}: cannot write it (Read-only file system); make "
        f"{small_disk} writable, then rerun"
    )


def _disk_with(free_bytes):
    import shutil

    usage = shutil.disk_usage(".")
    return lambda path: usage._replace(free=free_bytes)


@pytest.mark.parametrize("free, full", [(5_000_000, True), (100_000_000_000, False)])
def test_torch_saves_runtime_error_is_a_full_disk_only_when_space_ran_out(
    tmp_path, monkeypatch, free, full
):
    """torch.save reports ENOSPC as RuntimeError("unexpected pos"); runs everywhere."""
    import audioclf.io as io
    from audioclf.learn.checkpoint import CHECKPOINT_KEYS, save_checkpoint

    def failing_save(obj, handle):
        handle.write(b"x" * 10)
        raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 64")

    monkeypatch.setattr(torch, "save", failing_save)
    monkeypatch.setattr(io.shutil, "disk_usage", _disk_with(free))
    checkpoint = dict.fromkeys(CHECKPOINT_KEYS, 0)
    checkpoint["state_dict"] = {"w": torch.zeros(45_000_000, dtype=torch.uint8)}
    target = tmp_path / "model.pt"
    if full:
        with pytest.raises(OutputError, match=rf"^{target}: the disk is full \(5,000,000 bytes "
                           r"free there\); writing it needed 45,000,000 bytes"):  # fmt: skip
            save_checkpoint(target, checkpoint)
    else:
        with pytest.raises(RuntimeError, match="unexpected pos"):
            save_checkpoint(target, checkpoint)
    assert list(tmp_path.iterdir()) == []  # no partial file either way


def test_a_csv_on_a_full_disk_is_one_line(tmp_path, monkeypatch):
    import errno

    def full(self, path, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", full)
    with pytest.raises(OutputError, match=rf"^{tmp_path / 'a.csv'}: the disk is full \("):
        write_csv(tmp_path / "a.csv", pd.DataFrame({"a": [1]}))
    assert list(tmp_path.iterdir()) == []
