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
import yaml
from test_workflow_data import TINY_DEMO

from conftest import REPO, jobs_of, make_workdir, only_these_models, snakemake
from slurm_cluster import missing_programs, single_node_cluster

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

TINY = {
    **TINY_DEMO,
    "clip_seconds": 1,
    "device": "cpu",
    "models": {
        "raw": {"epochs": 2, "min_steps": 0},
        "spectrogram": {
            "arch": "xresnet18",
            "pretrained": False,
            "epochs": 1,
            "min_steps": 0,
            "n_mels": 32,
        },
    },
}
# The profile's status-check pace suits a real cluster; a test wants answers in seconds. The
# plugin checks 4 s after a submission, then 10 s later each time nothing has finished
# (4, 18, 42 s): most of our jobs take 8 to 18 s here, two Python start-ups and the rule.
FAST_POLLING = [
    "--slurm-init-seconds-before-status-checks", "4",
    "--seconds-between-status-checks", "2",
    "--slurm-keep-successful-logs",
]  # fmt: skip
RUN_LIMIT_S = 420
SUBMITTED = re.compile(r"Job (\d+) has been submitted with SLURM jobid (\d+)")
# Up to the metrics: the report adds a minute on 2 cores and is tested locally elsewhere.
TARGETS = [f"results/eval/{model}/metrics.json" for model in TINY["models"]]
GPU_RULES = {"train_model", "evaluate_model"}
# what runs on the login node, never in the queue (the Snakefile's localrules)
LOCAL_RULES = {"download_metadata", "download_audio", "download_pool_audio", "make_demo_dataset",
               "select_subset", "select_pool", "split_dataset", "summarize_model",
               "collect_curves", "compare_models", "make_report", "write_model_card"}  # fmt: skip
# Equal between two runs of one config; the rest of metrics.json holds timings.
SAME_METRICS = ("n_test", "accuracy", "balanced_accuracy", "macro_f1", "per_class",
                "confusion_matrix")  # fmt: skip


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


def tiny_workdir(tmp_path: Path) -> Path:
    """A working folder for TINY: only its models, one training seed."""
    workdir = make_workdir(tmp_path, TINY)
    # config.yaml's other models left out by null (it lies beneath every run's config)
    test_file = workdir / "config" / "test.yaml"
    test = yaml.safe_load(test_file.read_text())
    test["models"] = only_these_models(TINY["models"])
    test["seeds"] = test.get("seeds", [0])[:1]
    test_file.write_text(yaml.safe_dump(test, sort_keys=False))
    return workdir


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("the SLURM test runs its daemons as root (CI does); this is not root")
    missing = missing_programs()
    if missing:
        pytest.skip(f"SLURM packages missing ({', '.join(missing)}): run .ci/install-slurm")
    # Two GPUs: both models train at once, as they would on a real cluster.
    with single_node_cluster(tmp_path_factory.mktemp("slurm"), gpus=2) as running:
        yield running
    # single_node_cluster has stopped every daemon by its pid and raised if one survived.
    assert all(daemon.process.poll() is not None for daemon in running.daemons)


def failing_workdir(tmp_path: Path) -> Path:
    """A config whose preprocess_audio fails (on the cluster, every attempt): a folder
    dataset whose every file is unreadable."""
    audio = tmp_path / "audio"
    audio.mkdir()
    (audio / "meta.csv").write_text("fname,label\na.wav,dog\nb.wav,cat\n")
    for name in ("a.wav", "b.wav"):
        (audio / name).write_bytes(b"not audio")
    folder = {"kind": "folder", "path": str(audio), "metadata": str(audio / "meta.csv")}
    return make_workdir(tmp_path, {"dataset": folder, "labels": ["dog", "cat"]})


@pytest.fixture(scope="module")
def runs(cluster, tmp_path_factory):
    """The tiny config locally and through SLURM, and a failing one through SLURM, at once.

    A SLURM run mostly waits (for sbatch, job start-up and status checks): the others fit
    into its pauses.
    """
    local = tiny_workdir(tmp_path_factory.mktemp("local"))
    remote = tiny_workdir(tmp_path_factory.mktemp("cluster"))
    failing = failing_workdir(tmp_path_factory.mktemp("failing"))
    # Both runs cap every job at 2 threads (inside a SLURM job too): torch's sums, and so
    # the metrics, may differ in the last bits between thread counts.
    config = ["--configfile", "config/test.yaml", "--cores", "2"]
    with ThreadPoolExecutor(2) as pool:
        local_done = pool.submit(snakemake, local, *TARGETS, *config, timeout=RUN_LIMIT_S)
        failing_done = pool.submit(
            slurm_snakemake, cluster, failing, "results/data/cache.pt", *config
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
              "AllocTRES"]  # fmt: skip
    query = ["-X", "-n", "-P", "--units=M", "--format", ",".join(fields), "-j", ",".join(job_ids)]
    out = cluster.run("sacct", *query).stdout
    rows = [line.split("|") for line in out.splitlines() if line]
    return pd.DataFrame(rows, columns=fields).set_index("JobID")


def declared_resources(log: str) -> dict[str, dict[str, str]]:
    """SLURM job id -> the resources snakemake printed for that job (mem_mb, runtime, ...)."""
    by_jobid = {}
    for block in re.findall(r"^(?:local)?rule \w+:\n(?:    .*\n)+", log, flags=re.MULTILINE):
        jobid = re.search(r"^    jobid: (\d+)$", block, flags=re.MULTILINE)
        resources = re.search(r"^    resources: (.*)$", block, flags=re.MULTILINE)
        if jobid and resources:
            by_jobid[jobid[1]] = dict(re.findall(r"(\w+)=([^,]+)", resources[1]))
    return {slurm: by_jobid[job] for job, slurm in SUBMITTED.findall(log)}


def test_every_job_went_through_slurm_with_its_resources(cluster, slurm_run):
    workdir, result = slurm_run
    declared = declared_resources(result.stderr)
    job_ids = list(declared)
    assert job_ids, said(result)
    jobs = sacct(cluster, *job_ids)
    assert sorted(jobs.index) == sorted(job_ids), jobs
    assert set(jobs["State"]) == {"COMPLETED"}, jobs
    rules = jobs["Comment"].str.extract(r"^rule_([a-z_]+?)(?:_wildcards_.*)?$")[0]
    # One SLURM job for every job that snakemake planned (its "Job stats" table) but the
    # local rules' jobs, which ran where snakemake runs
    planned = jobs_of(result.stderr)
    remote = {rule: n for rule, n in planned.items() if rule not in LOCAL_RULES}
    assert rules.value_counts().to_dict() == remote, (jobs, result.stderr)
    local = set(planned) & LOCAL_RULES
    assert local >= {"make_demo_dataset", "select_subset", "split_dataset", "summarize_model"}
    for rule in local:
        assert re.search(rf"^localrule {rule}:$", result.stderr, flags=re.MULTILINE), rule
    assert {rule: (rules == rule).sum() for rule in GPU_RULES} == {
        rule: len(TINY["models"]) for rule in GPU_RULES
    }
    # Every job asked SLURM for the memory and time its rule (or the profile) declares.
    for job_id, resources in declared.items():
        hours, minutes = divmod(int(resources["runtime"]), 60)
        assert jobs.loc[job_id, "ReqMem"] == f"{resources['mem_mb']}M", (job_id, resources)
        assert jobs.loc[job_id, "Timelimit"] == f"{hours:02d}:{minutes:02d}:00", resources
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
    submitted = SUBMITTED.findall(result.stderr)
    assert submitted, said(result)
    for _, job_id in submitted:
        script = cluster.run("scontrol", "write", "batch_script", job_id, "-").stdout
        assert f"{sys.executable} -m snakemake" in script, script


def test_results_equal_a_local_run(local_run, slurm_run):
    workdir, _ = slurm_run
    data = "results/data/splits/seed0/split.csv"
    split = pd.read_csv(workdir / data)
    assert len(split) > 0 and split.equals(pd.read_csv(local_run / data))
    found = {}
    for name in ("predictions.csv", "metrics.json"):
        here = sorted(p.relative_to(workdir) for p in (workdir / "results/eval").rglob(name))
        there = sorted(p.relative_to(local_run) for p in (local_run / "results/eval").rglob(name))
        assert here == there and len(here) >= len(TINY["models"]), (here, there)
        found[name] = here
    for path in found["predictions.csv"]:
        # Every probability, bit for bit: the same code on the same data and threads.
        assert pd.read_csv(workdir / path).equals(pd.read_csv(local_run / path)), path
    scored = 0
    for path in found["metrics.json"]:
        metrics, expected = (json.loads((root / path).read_text()) for root in (workdir, local_run))
        keys = [key for key in SAME_METRICS if key in expected]
        assert {k: metrics.get(k) for k in keys} == {k: expected[k] for k in keys}, path
        scored += {"accuracy", "confusion_matrix"} <= set(keys)
    assert scored >= len(TINY["models"]), found["metrics.json"]


def test_a_failing_rule_is_retried_with_more_memory_then_fails_the_run_by_name(cluster, runs):
    workdir, result = runs["failing"], runs["failed"]
    output = result.stdout + result.stderr
    assert result.returncode not in (0, 124, 137), said(result)
    assert "Error in rule preprocess_audio" in output, said(result)
    failed = re.findall(r"SLURM-job '(\d+)' failed, SLURM status is: 'FAILED'", output)
    # the first attempt and two retries, each asking for more memory
    assert len(failed) == 3, said(result)
    jobs = sacct(cluster, *failed)
    assert set(jobs["State"]) == {"FAILED"}, jobs
    assert jobs.loc[failed, "ReqMem"].tolist() == ["2500M", "5000M", "7500M"], jobs
    log = (workdir / "logs/preprocess_audio/preprocess.log").read_text()
    assert "have no usable clip left" in log
    # the local rule before it ran on the login node
    assert re.search(r"^localrule select_subset:$", result.stderr, flags=re.MULTILINE)
