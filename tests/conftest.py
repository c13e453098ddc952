"""Shared fixtures: repo paths, the read-only ../shared data, a snakemake runner, and one
tiny trained model per registered model type (built once per test run)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


def shared_path(*parts: str) -> Path:
    """A path under ../shared/data, or a skip when the folder is absent (a user's clone)."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent (../shared/data lies beside the repo only in our CI)")
    return path


@pytest.fixture
def fsdk_meta() -> Path:
    return shared_path("fsdkaggle2018-meta")


@pytest.fixture
def fsdd_recordings() -> Path:
    return shared_path("fsdd", "recordings")


@pytest.fixture(scope="session")
def zenodo(tmp_path_factory) -> dict:
    """FSDKaggle2018-shaped archives (tests/zenodo.py), built once per test run."""
    from zenodo import build_zenodo

    return build_zenodo(tmp_path_factory.mktemp("zenodo"))


@pytest.fixture
def zenodo_server(zenodo):
    """A local stand-in for Zenodo serving those archives, fresh (empty log) per test."""
    from zenodo import serve

    with serve(zenodo) as running:
        yield running


def snakemake(
    workdir: Path,
    *args: str,
    check: bool = True,
    timeout: int = 900,
    snakefile: Path = REPO / "Snakefile",
    **kwargs,
):
    """Run this repo's workflow in `workdir` (which holds its own config/ and outputs), or
    `snakefile` there.

    Only tests/integration may: tests/unit stay fast by calling the package directly.
    """
    current = os.environ.get("PYTEST_CURRENT_TEST", "")
    if current.startswith("tests/unit/"):
        raise AssertionError(
            f"{current.split()[0]}: a unit test runs no snakemake; move it to tests/integration"
        )
    cmd = [
        sys.executable, "-m", "snakemake",
        "--snakefile", str(snakefile),
        *args,
    ]  # fmt: skip
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    result = subprocess.run(
        cmd, cwd=workdir, capture_output=True, text=True, timeout=timeout, env=env, **kwargs
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"snakemake {' '.join(args)} failed ({result.returncode}):\n"
            f"{result.stdout[-4000:]}\n{result.stderr[-8000:]}"
        )
    return result


def only_these_models(models: dict) -> dict:
    """`models`, and every other model of config/config.yaml left out (null): the workflow's
    own config/config.yaml lies beneath every run's config, so a model is left out by null,
    never by leaving it unnamed."""
    defaults = yaml.safe_load((REPO / "config" / "config.yaml").read_text())["models"]
    return {**dict.fromkeys(defaults), **models}


def make_workdir(tmp_path: Path, overrides: dict) -> Path:
    """A working folder with the default config/config.yaml and a test config beside it."""
    workdir = tmp_path / "run"
    (workdir / "config").mkdir(parents=True)
    shutil.copy(REPO / "config" / "config.yaml", workdir / "config" / "config.yaml")
    (workdir / "config" / "test.yaml").write_text(yaml.safe_dump(overrides, sort_keys=False))
    return workdir


def jobs_of(dry_run_output: str) -> dict[str, int]:
    """Rule -> job count from the table a snakemake dry run prints."""
    jobs, in_table = {}, False
    for line in dry_run_output.splitlines():
        parts = line.split()
        if parts[:2] == ["job", "count"]:
            in_table = True
            continue
        if in_table:
            if len(parts) == 2 and parts[1].isdigit():
                if parts[0] != "total":
                    jobs[parts[0]] = int(parts[1])
            elif parts and not set("".join(parts)) <= {"-"}:
                in_table = False
    return jobs


def make_model(
    model_type: str,
    n_classes: int,
    settings: dict | None = None,
    clip_seconds: float = 1.0,
    sample_rate: int = 16000,
):
    """registry.build_model for a type and its settings, with clip length in seconds."""
    from audioclf.learn.data import clip_samples
    from audioclf.learn.registry import build_model

    samples = clip_samples(clip_seconds, sample_rate)
    return build_model({"type": model_type, **(settings or {})}, n_classes, samples, sample_rate)


# Settings of each registered model type's tiny trained model: small enough to train in
# seconds on 2 cores, long enough to learn the synthetic classes (min_steps off: the
# epochs are what they say). A new model type needs an
# entry here (tests/unit/learn/test_registry.py checks), and then gets every shared test.
TINY_SETTINGS = {
    "raw1d": {"epochs": 20, "lr": 3e-3, "batch_size": 8, "weight_decay": 0.01, "min_steps": 0},
    "raw1d_deep": {"epochs": 8, "lr": 3e-3, "batch_size": 8, "weight_decay": 0.01, "min_steps": 0},
    "spectrogram": {
        "arch": "resnet18",
        "pretrained": False,
        "n_mels": 32,
        "epochs": 4,
        "lr": 1e-3,
        "batch_size": 8,
        "min_steps": 0,
    },
    "spectrogram_small": {"n_mels": 32, "epochs": 8, "lr": 3e-3, "batch_size": 8, "min_steps": 0},
    "raw_filterbank": {"n_mels": 32, "epochs": 8, "lr": 3e-3, "batch_size": 8, "min_steps": 0},
    "crnn": {"n_mels": 32, "epochs": 8, "lr": 3e-3, "batch_size": 8, "min_steps": 0},
    # 4 channels in the first block, 128 in the last (the checkpoint's: 64 to 2048); its
    # fixed dropout (0.2 per block, 0.5 at the head) needs more and larger steps
    "cnn14": {
        "width": 4,
        "time_mask_width": 10,
        "epochs": 16,
        "lr": 1e-2,
        "batch_size": 8,
        "min_steps": 0,
    },
}
TINY_CLIP_SECONDS = 1.0


@dataclass(frozen=True)
class TinyModel:
    """One briefly trained model of a type: its files, settings and train() result."""

    model_type: str
    folder: Path
    settings: dict
    result: dict

    @property
    def model(self) -> Path:
        return self.folder / "model.pt"

    @property
    def history(self) -> Path:
        return self.folder / "history.csv"


@dataclass(frozen=True)
class TinyData:
    """The synthetic set every tiny model trains on: 3 separable classes, 16 clips each of
    0.5-3 s (longer than the 1 s window), and its split (half train, a quarter valid/test)."""

    folder: Path
    models: dict

    @property
    def cache(self) -> Path:
        return self.folder / "cache.pt"

    @property
    def split(self) -> Path:
        return self.folder / "split.csv"


def train_tiny(
    folder: Path, out: Path, settings: dict, name: str | None = None, **options
) -> TinyModel:
    """The real train() on `folder`'s cache.pt and split.csv, writing `out`/model.pt and
    history.csv: on the CPU, one thread (the CI machine has two cores, shared), seed 0 and
    TINY_CLIP_SECONDS unless `options` (train's keywords) say otherwise."""
    from audioclf.learn.train import train

    options = {"clip_seconds": TINY_CLIP_SECONDS, "device": "cpu", "seed": 0, "threads": 1,
               **options}  # fmt: skip
    result = train(
        folder / "cache.pt", folder / "split.csv", out / "model.pt", out / "history.csv",
        model_name=name or settings["type"], model_settings=settings, **options,
    )  # fmt: skip
    return TinyModel(settings["type"], out, settings, result)


@pytest.fixture(scope="session")
def tiny(tmp_path_factory) -> TinyData:
    """One model per registered type, trained by the real train() on the same tiny set."""
    from audioclf.contracts import SPLIT
    from audioclf.learn.registry import MODEL_TYPES
    from synthetic import synthetic_clips, synthetic_split

    folder = tmp_path_factory.mktemp("tiny")
    cache = synthetic_clips(n_classes=3, clips_per_class=16, seed=1)
    cache.save(folder / "cache.pt")
    SPLIT.write(folder / "split.csv", synthetic_split(cache))
    models = {
        model_type: train_tiny(
            folder, folder / model_type, {"type": model_type, **TINY_SETTINGS[model_type]}
        )
        for model_type in MODEL_TYPES
    }
    return TinyData(folder, models)
