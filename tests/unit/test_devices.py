"""`device: auto` in a job given a GPU that torch cannot use stops with one line; without a
GPU allocation it means the CPU, named in the log. Through the real train()."""

import io
import sys

import pytest
import torch

from audioclf import devices
from audioclf.contracts import SPLIT
from audioclf.devices import GPU_ALLOCATION_VARIABLES, GpuUnusableError, resolve_device
from audioclf.learn.train import train
from conftest import REPO
from synthetic import synthetic_clips, synthetic_split

# /proc/driver/nvidia/version as a 535 driver (CUDA 12.2) writes it
OLD_DRIVER = (
    "NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.104.05  Sat Aug 19 01:15:15 UTC 2023\n"
    "GCC version:  gcc version 12.2.0 (Debian 12.2.0-14)\n"
)
SETTINGS = {"type": "raw1d", "epochs": 1, "batch_size": 4, "min_steps": 0}


@pytest.fixture
def no_cuda(monkeypatch, tmp_path):
    """A machine where torch finds no usable CUDA, with no GPU allocated to the job, and
    torch built for CUDA 13.0 (the pinned build)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.version, "cuda", "13.0")
    monkeypatch.setattr(devices, "NVIDIA_VERSION_FILE", str(tmp_path / "absent"))
    for key in GPU_ALLOCATION_VARIABLES:
        monkeypatch.delenv(key, raising=False)
    return tmp_path


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("devices")
    cache = synthetic_clips(n_classes=2, clips_per_class=8, max_seconds=1.5, seed=3)
    cache.save(folder / "cache.pt")
    SPLIT.write(folder / "split.csv", synthetic_split(cache))
    return folder


def train_auto(data, out):
    return train(
        data / "cache.pt", data / "split.csv", out / "model.pt", out / "history.csv",
        model_name="raw", model_settings=SETTINGS, clip_seconds=1.0, device="auto", threads=1,
    )  # fmt: skip


def test_a_job_given_a_gpu_torch_cannot_use_stops_naming_driver_cuda_and_fix(
    no_cuda, data, tmp_path, monkeypatch
):
    (no_cuda / "version").write_text(OLD_DRIVER)
    monkeypatch.setattr(devices, "NVIDIA_VERSION_FILE", str(no_cuda / "version"))
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    with pytest.raises(GpuUnusableError) as stopped:
        train_auto(data, tmp_path)
    message = str(stopped.value)
    assert "\n" not in message
    for part in (
        "CUDA_VISIBLE_DEVICES=0",
        "NVIDIA driver 535.104.05",
        "built for CUDA 13.0, which needs driver >= 580",
        f"--index-url {devices.CUDA12_INDEX}",
        "set device: cpu",
    ):
        assert part in message, part
    assert not (tmp_path / "model.pt").exists()


def test_without_a_driver_the_line_says_so(no_cuda, monkeypatch):
    monkeypatch.setenv("SLURM_JOB_GPUS", "2")
    with pytest.raises(GpuUnusableError, match=r"\(SLURM_JOB_GPUS=2\).*: no NVIDIA driver; "):
        resolve_device("auto")


def test_the_line_reaches_the_console_when_stderr_is_the_jobs_log(no_cuda, monkeypatch, capfd):
    monkeypatch.setenv("SLURM_STEP_GPUS", "0,1")
    job_log = io.StringIO()
    monkeypatch.setattr(sys, "stderr", job_log)  # as every rule's script does
    with pytest.raises(GpuUnusableError) as stopped:
        resolve_device("auto")
    console = capfd.readouterr().err.splitlines()
    assert console == [f"error: {stopped.value}"]


@pytest.mark.parametrize("value", ["", "-1", "NoDevFiles"])
def test_a_variable_naming_no_device_is_no_allocation(no_cuda, monkeypatch, value):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", value)
    assert resolve_device("auto") == torch.device("cpu")


def test_without_a_gpu_allocation_auto_trains_on_the_cpu_and_says_so(
    no_cuda, data, tmp_path, capsys
):
    result = train_auto(data, tmp_path)
    assert result["device"] == "cpu"
    assert torch.load(tmp_path / "model.pt", weights_only=False)["device"] == "cpu"
    assert "device cpu" in capsys.readouterr().err


def test_cpu_on_purpose_ignores_the_allocation(no_cuda, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    assert resolve_device("cpu") == torch.device("cpu")


def test_the_readme_shows_the_line_and_the_driver_the_pinned_torch_needs(no_cuda, monkeypatch):
    readme = (REPO / "README.md").read_text()
    monkeypatch.setattr(torch.version, "cuda", "13.0")
    assert f"of at least {devices.min_driver('13.0')} " in readme
    assert f"--index-url {devices.CUDA12_INDEX}" in readme
    (no_cuda / "version").write_text(OLD_DRIVER)
    monkeypatch.setattr(devices, "NVIDIA_VERSION_FILE", str(no_cuda / "version"))
    monkeypatch.setattr(torch, "__version__", "2.14.1+cu130")
    monkeypatch.setenv("SLURM_JOB_GPUS", "0")
    with pytest.raises(GpuUnusableError) as stopped:
        resolve_device("auto")
    assert f"error: {stopped.value}\n" in readme


def test_the_installed_torch_is_the_build_the_readme_names():
    readme = (REPO / "README.md").read_text()
    if torch.version.cuda is None:
        pytest.skip(f"torch {torch.__version__} is a CPU-only build here")
    assert f"`torch.version.cuda` is `{torch.version.cuda}`" in readme
    assert f"of at least {devices.min_driver(torch.version.cuda)} " in readme
