"""End to end: kind esc50 against a local stand-in for the GitHub archive (real layout,
tiny synthetic clips, 5 folds): download, md5, the official folds, the report's table."""

import json

import pandas as pd
import pytest
import yaml

from conftest import REPO, jobs_of, snakemake
from esc50 import TINY_MODELS, build_esc50, serve, url, workflow_config

pytestmark = pytest.mark.slow
FOLDS = ["1", "2", "3", "4", "5"]


@pytest.fixture(scope="module")
def esc50_run(tmp_path_factory):
    """The whole workflow on 40 one-second clips of 4 classes, one tiny model (about a minute
    on 2 cores: 5 folds x train and evaluate). The run's config/config.yaml holds only it."""
    esc50 = build_esc50(per_fold=2)
    workdir = tmp_path_factory.mktemp("esc50") / "run"
    (workdir / "config").mkdir(parents=True)
    base = yaml.safe_load((REPO / "config/config.yaml").read_text())
    with serve(esc50) as server:
        config = workflow_config(base, url(server), esc50["md5"], {"raw": TINY_MODELS["raw"]})
        (workdir / "config/config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        snakemake(workdir, "--cores", "2")
        requests = server.requests
    return workdir, esc50, requests


def test_the_archive_is_downloaded_once_and_checked(esc50_run):
    workdir, esc50, requests = esc50_run
    assert requests == 1
    assert (workdir / "resources/ESC-50/master.zip").read_bytes() == esc50["zip"]
    subset = pd.read_csv(workdir / "results/data/subset.csv")
    assert sorted(subset["fname"]) == sorted(esc50["rows"]["filename"])


def test_every_clip_is_tested_in_exactly_one_official_fold(esc50_run):
    workdir, esc50, _ = esc50_run
    folds = dict(zip(esc50["rows"]["filename"], esc50["rows"]["fold"].astype(str), strict=True))
    tested = []
    for fold in FOLDS:
        split = pd.read_csv(workdir / f"results/data/splits/fold{fold}/split.csv")
        test = split[split["split"] == "test"]["fname"].tolist()
        assert {folds[f] for f in test} == {fold}
        assert {folds[f] for f in split[split["split"] == "valid"]["fname"]} <= set(FOLDS) - {fold}
        tested += test
    assert sorted(tested) == sorted(folds)


def test_the_aggregate_is_the_mean_of_the_folds(esc50_run):
    workdir, _, _ = esc50_run
    for model in ("raw",):
        summary = json.loads((workdir / f"results/eval/{model}/metrics.json").read_text())
        runs = [
            json.loads((workdir / f"results/eval/{model}/fold{f}-seed0/metrics.json").read_text())
            for f in FOLDS
        ]
        assert summary["folds"] == FOLDS and summary["n_runs"] == 5
        assert summary["accuracy"] == pytest.approx(sum(r["accuracy"] for r in runs) / 5)
        assert summary["n_test"] == 40


def test_the_report_sets_the_published_numbers_beside_the_run(esc50_run):
    workdir, _, _ = esc50_run
    page = (workdir / "results/report.html").read_text()
    assert "Published results on ESC-50" in page and "81.3%" in page
    # 4 of the 50 classes: the protocol differs, and the page says so
    assert "4 of its 50 classes" in page
    assert page.count('class="this-run"') == 1


def test_running_some_folds_only_is_a_smaller_job_and_said(esc50_run):
    workdir, _, _ = esc50_run
    out = snakemake(workdir, "-n", "--config", "split={test_folds: [2]}", "--cores", "2").stdout
    # fold 2's runs exist: only the aggregates and the report are redone
    assert jobs_of(out) == {
        "summarize_model": 1, "compare_models": 1, "collect_curves": 1, "make_report": 1,
        "write_model_card": 1, "all": 1,
    }  # fmt: skip
