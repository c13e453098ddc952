"""Shared fixtures: repo paths, the read-only ../shared data, and a snakemake runner."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
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


def snakemake(workdir: Path, *args: str, check: bool = True, timeout: int = 900, **kwargs):
    """Run this repo's workflow in `workdir` (which holds its own config/ and outputs)."""
    cmd = [
        sys.executable, "-m", "snakemake",
        "--snakefile", str(REPO / "Snakefile"),
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
