"""The workflow as others deploy it: a Snakemake module used from a folder elsewhere that
holds only a Snakefile with the module statement and a partial config. Its results, logs
and report land in that folder, the repository gets none, the workflow's config/config.yaml
fills what the config leaves out, and every job imports the workflow's own package even
with another copy first on the path. And the two entry points plan the same jobs."""

import json
import time

import pytest
import yaml
from test_workflow_models import TINY

from conftest import REPO, jobs_of, make_workdir, snakemake

pytestmark = pytest.mark.slow

MODULE_SNAKEFILE = """\
configfile: "config/config.yaml"


module audioclf:
    snakefile:
        "{snakefile}"
    config:
        config


use rule * from audioclf
"""
KEPT = ("raw", "spectrogram_small")
# What the repository's own runs write; a module run elsewhere must write none of it
REPO_OUTPUTS = ("results", "logs", "resources", ".snakemake")


def partial_config() -> dict:
    """TINY's dataset and two of its models, every other model of config/config.yaml left
    out (null), and nothing else: the rest comes from config/config.yaml."""
    defaults = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    models = {name: None for name in defaults["models"]}
    models.update({name: TINY["models"][name] for name in KEPT})
    keys = ("dataset", "labels", "clip_seconds", "device", "seeds")
    return {**{key: TINY[key] for key in keys}, "models": models}


def repo_outputs() -> dict[str, float]:
    """Every file under the repository's output folders, with its mtime."""
    found = {}
    for name in REPO_OUTPUTS:
        for path in (REPO / name).rglob("*"):
            if path.is_file():
                found[str(path)] = path.stat().st_mtime
    return found


def decoy_package(folder):
    """A copy of `audioclf` that fails on import, as another clone's installed package
    stands in for this one."""
    (folder / "audioclf").mkdir(parents=True)
    (folder / "audioclf" / "__init__.py").write_text(
        "raise ImportError('the decoy audioclf was imported, not the workflow\\'s own')\n"
    )
    return folder


def test_a_module_run_elsewhere_keeps_its_results_there(tmp_path, monkeypatch):
    workdir = tmp_path / "mine"
    (workdir / "config").mkdir(parents=True)
    snakefile = workdir / "Snakefile"
    snakefile.write_text(MODULE_SNAKEFILE.format(snakefile=REPO / "workflow" / "Snakefile"))
    (workdir / "config" / "config.yaml").write_text(yaml.safe_dump(partial_config()))
    decoy = decoy_package(tmp_path / "elsewhere")
    monkeypatch.setenv("PYTHONPATH", str(decoy))
    before = repo_outputs()

    started = time.monotonic()
    snakemake(workdir, "--cores", "2", snakefile=snakefile)
    print(f"module run: {time.monotonic() - started:.0f} s")

    assert (workdir / "results" / "report.html").stat().st_size > 0
    for model in KEPT:
        metrics = json.loads((workdir / f"results/eval/{model}/metrics.json").read_text())
        assert metrics["device"] == "cpu", model
        assert (workdir / f"results/models/{model}/MODEL_CARD.md").is_file()
        assert list((workdir / "logs" / "train_model" / model).glob("*.log")), model
    trained = {p.name for p in (workdir / "results" / "models").iterdir()}
    assert trained == set(KEPT), "a model the config left out was trained"
    assert sorted(p.name for p in workdir.iterdir()) == [
        ".snakemake", "Snakefile", "config", "logs", "resources", "results"
    ]  # fmt: skip
    assert repo_outputs() == before, "the module run wrote into the repository"


def test_both_entry_points_plan_the_same_jobs(tmp_path):
    workdir = make_workdir(tmp_path, TINY)
    dry_run = ("-n", "--configfile", "config/test.yaml")
    plans = [
        jobs_of(snakemake(workdir, *dry_run, snakefile=entry).stdout)
        for entry in (REPO / "Snakefile", REPO / "workflow" / "Snakefile")
    ]
    assert plans[0] == plans[1]
    assert plans[0]["all"] == 1 and plans[0]["make_report"] == 1
