"""The workflow on a real single-node SLURM cluster, through profiles/slurm (about 3 minutes).

Starts munge, MariaDB, slurmdbd, slurmctld and slurmd from Debian's packages (installed by
.ci/install-slurm) on 127.0.0.1, runs a tiny demo both locally and through the cluster and
compares the results, then stops every daemon it started. Skips where the packages are
missing or the test does not run as root.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest

from conftest import REPO, make_workdir, snakemake
from slurm_cluster import missing_programs, single_node_cluster
from test_workflow_data import TINY_DEMO

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

TINY = {
    **TINY_DEMO,
    "clip_seconds": 1,
    "device": "cpu",
    "models": {
        "raw": {"epochs": 2},
        "spectrogram": {"arch": "xresnet18", "pretrained": False, "epochs": 1, "n_mels": 32},
    },
}
# The profile's own status-check pace suits a real cluster; a test wants answers in seconds.
FAST_POLLING = [
    "--slurm-init-seconds-before-status-checks", "2",
    "--seconds-between-status-checks", "2",
    "--slurm-keep-successful-logs",
]  # fmt: skip
RUN_LIMIT_S = 420
SUBMITTED = re.compile(r"Job \d+ has been submitted with SLURM jobid (\d+)")
# Up to the metrics: the report adds a minute on 2 cores and is tested locally elsewhere.
TARGETS = [f"results/eval/{model}/metrics.json" for model in TINY["models"]]
RULES = [
    "make_demo_dataset", "select_subset", "preprocess_audio", "split_dataset",
    "train_model", "evaluate_model",
]  # fmt: skip
GPU_RULES = {"train_model", "evaluate_model"}


def slurm_snakemake(cluster, workdir: Path, *args: str) -> subprocess.CompletedProcess:
    """Run the workflow through profiles/slurm; SIGKILL if it outlives RUN_LIMIT_S.

    Snakemake may ignore SIGTERM while it polls SLURM, hence `timeout -k`.
    """
    cmd = [
        "timeout", "-k", "10", str(RUN_LIMIT_S),
        sys.executable, "-m", "snakemake",
        "--snakefile", str(REPO / "Snakefile"),
        "--profile", str(REPO / "profiles" / "slurm"),
        *FAST_POLLING, *args,
    ]  # fmt: skip
    env = {**cluster.env, "PYTHONUNBUFFERED": "1"}
    return subprocess.run(
        cmd, cwd=workdir, env=env, capture_output=True, text=True, timeout=RUN_LIMIT_S + 30
    )


def said(result: subprocess.CompletedProcess) -> str:
    return f"exit {result.returncode}\n{result.stdout[-4000:]}\n{result.stderr[-12000:]}"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("the SLURM test runs its daemons as root (CI does); this is not root")
    missing = missing_programs()
    if missing:
        pytest.skip(f"SLURM packages missing ({', '.join(missing)}): run .ci/install-slurm")
    with single_node_cluster(tmp_path_factory.mktemp("slurm")) as running:
        yield running
    # single_node_cluster has stopped every daemon by its pid and raised if one survived.
    assert all(daemon.process.poll() is not None for daemon in running.daemons)


def failing_workdir(tmp_path: Path) -> Path:
    """A config whose select_subset fails: a label that the folder dataset lacks."""
    audio = tmp_path / "audio"
    audio.mkdir()
    (audio / "meta.csv").write_text("fname,label\na.wav,dog\nb.wav,cat\n")
    folder = {"kind": "folder", "path": str(audio), "metadata": str(audio / "meta.csv")}
    return make_workdir(tmp_path, {"dataset": folder, "labels": ["dog", "Meow"]})


@pytest.fixture(scope="module")
def runs(cluster, tmp_path_factory):
    """The tiny config locally and through SLURM, and a failing one through SLURM, at once.

    A SLURM run mostly waits (for sbatch, job start-up and status checks): the others fit
    into its pauses.
    """
    local = make_workdir(tmp_path_factory.mktemp("local"), TINY)
    remote = make_workdir(tmp_path_factory.mktemp("cluster"), TINY)
    failing = failing_workdir(tmp_path_factory.mktemp("failing"))
    config = ["--configfile", "config/test.yaml"]
    with ThreadPoolExecutor(2) as pool:
        local_done = pool.submit(
            snakemake, local, *TARGETS, "--cores", "2", *config, timeout=RUN_LIMIT_S
        )
        failing_done = pool.submit(
            slurm_snakemake, cluster, failing, "results/data/subset.csv", *config
        )
        result = slurm_snakemake(cluster, remote, *TARGETS, *config)
        local_done.result()
        failed = failing_done.result()
    assert result.returncode == 0, said(result) + "\n" + cluster.log_tails()
    return {"local": local, "remote": remote, "result": result,
            "failing": failing, "failed": failed}  # fmt: skip


@pytest.fixture(scope="module")
def local_run(runs):
    return runs["local"]


@pytest.fixture(scope="module")
def slurm_run(runs):
    return runs["remote"], runs["result"]


def sacct(cluster, *job_ids: str) -> pd.DataFrame:
    fields = ["JobID", "JobName", "Comment", "State", "ExitCode", "ReqMem", "Timelimit",
              "AllocTRES", "Elapsed", "Submit", "Start", "End"]  # fmt: skip
    out = cluster.run(
        "sacct", "-X", "-n", "-P", "--format", ",".join(fields), "-j", ",".join(job_ids)
    ).stdout
    rows = [line.split("|") for line in out.splitlines() if line]
    return pd.DataFrame(rows, columns=fields).set_index("JobID")


def test_every_job_went_through_slurm_with_its_resources(cluster, slurm_run):
    workdir, result = slurm_run
    job_ids = SUBMITTED.findall(result.stderr + result.stdout)
    assert job_ids, said(result)
    jobs = sacct(cluster, *job_ids)
    assert sorted(jobs.index) == sorted(job_ids), jobs
    print(jobs[["Comment", "Elapsed", "Submit", "Start", "End", "ReqMem", "AllocTRES"]].to_string())
    assert set(jobs["State"]) == {"COMPLETED"}, jobs
    rules = jobs["Comment"].str.extract(r"^rule_([a-z_]+?)(?:_wildcards_.*)?$")[0]
    assert sorted(set(rules)) == sorted(RULES), jobs
    assert rules.value_counts()[["train_model", "evaluate_model"]].tolist() == [2, 2]
    # Every job asked for memory and a time limit, as the profile promises.
    assert not jobs["ReqMem"].isin(["", "0", "0M", "0n", "0c"]).any(), jobs
    assert not jobs["Timelimit"].isin(["", "UNLIMITED", "Partition_Limit"]).any(), jobs
    for job_id, rule in rules.items():
        tres = jobs.loc[job_id, "AllocTRES"]
        if rule in GPU_RULES:
            assert "gres/gpu=1" in tres and "cpu=8" in tres, (rule, tres)
        else:
            assert "gres/gpu" not in tres, (rule, tres)
    # The SLURM log of every job is the job's own snakemake, which ran its rule.
    logs = list((workdir / ".snakemake" / "slurm_logs").rglob("*.log"))
    assert sorted(p.stem for p in logs) == sorted(job_ids)


def test_jobs_run_the_submitting_python(cluster, slurm_run):
    _, result = slurm_run
    job_id = SUBMITTED.findall(result.stderr + result.stdout)[-1]
    script = cluster.run("scontrol", "write", "batch_script", job_id, "-").stdout
    assert f"{sys.executable} -m snakemake" in script, script


def test_results_equal_a_local_run(local_run, slurm_run):
    workdir, _ = slurm_run
    data = "results/data/split.csv"
    assert pd.read_csv(workdir / data).equals(pd.read_csv(local_run / data))
    for model in TINY["models"]:
        path = f"results/eval/{model}/metrics.json"
        here = json.loads((workdir / path).read_text())
        there = json.loads((local_run / path).read_text())
        for key in ("n_test", "accuracy", "balanced_accuracy", "macro_f1", "confusion_matrix"):
            assert here[key] == there[key], (model, key, here[key], there[key])
        path = f"results/eval/{model}/predictions.csv"
        assert pd.read_csv(workdir / path)["predicted"].equals(
            pd.read_csv(local_run / path)["predicted"]
        )


def test_a_failing_rule_fails_the_run_and_is_named(cluster, runs):
    workdir, result = runs["failing"], runs["failed"]
    output = result.stdout + result.stderr
    assert result.returncode not in (0, 124, 137), said(result)
    assert "Error in rule select_subset" in output, said(result)
    failed = re.search(r"SLURM-job '(\d+)' failed, SLURM status is: 'FAILED'", output)
    assert failed, said(result)
    assert sacct(cluster, failed[1]).loc[failed[1], "State"] == "FAILED"
    log = (workdir / "logs/select_subset/subset.log").read_text()
    assert "labels ['Meow'] are not in the dataset" in log
