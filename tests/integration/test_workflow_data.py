"""End to end: the data stages of the workflow on a tiny demo dataset, and their rerun scope."""

import json
import re

import pandas as pd
import pytest

from conftest import jobs_of, make_workdir, snakemake

pytestmark = pytest.mark.slow

TINY_DEMO = {
    "dataset": {
        "kind": "demo",
        "demo": {
            "train_per_label": 10,
            "test_per_label": 2,
            "distractors_per_label": 2,
            "ignored_test_clips": 3,
            "min_seconds": 0.3,
            "max_seconds": 3.0,
        },
    },
}
SPLIT_CSV = "results/data/splits/seed{}/split.csv"
DATA_TARGETS = [SPLIT_CSV.format(0)]


@pytest.fixture(scope="module")
def data_run(tmp_path_factory):
    workdir = make_workdir(tmp_path_factory.mktemp("data"), TINY_DEMO)
    snakemake(workdir, *DATA_TARGETS, "--cores", "2", "--configfile", "config/test.yaml")
    return workdir


def test_data_stages_produce_a_consistent_split(data_run):
    subset = pd.read_csv(data_run / "results/data/subset.csv")
    clips = pd.read_csv(data_run / "results/data/clips.csv")
    excluded = pd.read_csv(data_run / "results/data/excluded.csv")
    split = pd.read_csv(data_run / SPLIT_CSV.format(0))
    assert len(subset) == 50 and set(subset["source"]) == {"train"}
    assert sorted(subset["label"].unique()) == ["Bark", "Cough", "Knock", "Laughter", "Trumpet"]
    assert len(clips) + len(excluded) == len(subset)
    assert sorted(split["fname"]) == sorted(clips["fname"])
    assert list(split.columns) == ["fname", "label", "split", "manually_verified"]
    verified = dict(zip(subset["fname"], subset["manually_verified"].astype(bool), strict=True))
    assert split["manually_verified"].tolist() == [int(verified[f]) for f in split["fname"]]
    assert set(split["split"]) == {"train", "valid", "test"}
    for name in ("cache.pt", "splits/seed0/split_counts.csv"):
        assert (data_run / "results/data" / name).stat().st_size > 0
    for rule in ("make_demo_dataset", "select_subset", "preprocess_audio", "split_dataset"):
        assert list((data_run / "results/benchmarks" / rule).glob("*.tsv")), rule
        assert list((data_run / "logs" / rule).glob("*.log")), rule


def test_official_split_tests_on_the_demos_own_test_clips(tmp_path):
    workdir = make_workdir(tmp_path, {**TINY_DEMO, "split": {"method": "official"}})
    snakemake(workdir, *DATA_TARGETS, "--cores", "2", "--configfile", "config/test.yaml")
    subset = pd.read_csv(workdir / "results/data/subset.csv")
    clips = pd.read_csv(workdir / "results/data/clips.csv")
    split = pd.read_csv(workdir / SPLIT_CSV.format(0))
    # the test clips were fetched with the train clips, and are exactly the test set
    own_test = set(subset[subset["source"] == "test"]["fname"]) & set(clips["fname"])
    assert len(own_test) == 10
    assert set(split[split["split"] == "test"]["fname"]) == own_test
    assert set(split[split["split"] != "test"]["fname"]).isdisjoint(own_test)
    assert (split[split["split"] == "test"]["manually_verified"] == 1).all()


def test_finished_run_has_nothing_to_do(data_run):
    out = snakemake(data_run, *DATA_TARGETS, "-n", "--configfile", "config/test.yaml").stdout
    assert "Nothing to be done" in out, out


def test_new_split_seed_reruns_only_the_split(data_run):
    config = data_run / "config" / "seed.yaml"
    config.write_text((data_run / "config" / "test.yaml").read_text() + "split:\n  seed: 7\n")
    target = SPLIT_CSV.format(7)
    out = snakemake(data_run, target, "-n", "--configfile", "config/seed.yaml").stdout
    assert jobs_of(out) == {"split_dataset": 1}, out
    assert "split=seed7" in out
    before = pd.read_csv(data_run / SPLIT_CSV.format(0))
    snakemake(data_run, target, "--cores", "2", "--configfile", "config/seed.yaml")
    after = pd.read_csv(data_run / target)
    assert sorted(before["fname"]) == sorted(after["fname"])
    assert not before.set_index("fname")["split"].equals(after.set_index("fname")["split"])


def test_bad_config_stops_naming_the_key(data_run):
    bad = data_run / "config" / "bad.yaml"
    bad.write_text("clip_seconds: five\nsplit:\n  sede: 1\n")
    result = snakemake(data_run, "-n", "--configfile", "config/bad.yaml", check=False)
    assert result.returncode != 0
    said = result.stdout + result.stderr
    assert "clip_seconds: 'five' is not of type 'number'" in said
    assert "split: Additional properties are not allowed ('sede' was unexpected)" in said


def test_unknown_label_stops_listing_the_dataset_labels(tmp_path):
    audio = tmp_path / "audio"
    audio.mkdir()
    (audio / "meta.csv").write_text("fname,label\na.wav,dog\nb.wav,cat\n")
    folder = {"kind": "folder", "path": str(audio), "metadata": str(audio / "meta.csv")}
    workdir = make_workdir(tmp_path, {"dataset": folder, "labels": ["dog", "Meow"]})
    result = snakemake(
        workdir, "results/data/subset.csv", "--cores", "1",
        "--configfile", "config/test.yaml", check=False,
    )  # fmt: skip
    assert result.returncode != 0
    log = (workdir / "logs/select_subset/subset.log").read_text()
    assert "labels ['Meow'] are not in the dataset; it has 2 labels: cat, dog" in log


def recorded_params(workdir, rule: str) -> set[str]:
    """The params snakemake recorded for `rule`'s output: the set of their values' reprs,
    which a later run compares with its own to decide whether they changed."""
    records = [json.loads(p.read_text()) for p in (workdir / ".snakemake/metadata").iterdir()]
    (record,) = [r for r in records if r.get("rule") == rule]
    return set(record["params"])


@pytest.mark.parametrize("labels_from", ["metadata", "label_regex"])
def test_a_folder_project_keeps_the_params_it_recorded_before_esc50(tmp_path, labels_from):
    """select_subset's params of a folder dataset that uses none of the new keys (columns,
    path_template, folds, benchmark) are exactly those commit 318c736 recorded, so a
    finished project is not redone from scratch."""
    audio = tmp_path / "audio"
    audio.mkdir()
    (audio / "meta.csv").write_text("fname,label\ndog_1.wav,dog\ncat_1.wav,cat\n")
    for name in ("dog_1.wav", "cat_1.wav"):
        (audio / name).write_bytes(b"")  # select_subset lists files, it reads none
    folder = {"kind": "folder", "path": str(audio)}
    if labels_from == "metadata":
        folder["metadata"] = str(audio / "meta.csv")
    else:
        folder["label_regex"] = "(?P<label>[a-z]+)_"
    workdir = make_workdir(tmp_path, {"dataset": folder, "labels": ["dog", "cat"]})
    args = ("results/data/subset.csv", "--configfile", "config/test.yaml")
    snakemake(workdir, *args, "--cores", "1")
    settings = {"path": str(audio), "metadata": folder.get("metadata"),
                "label_regex": folder.get("label_regex")}  # fmt: skip
    # what 318c736 recorded (kind, include_test_clips, manually_verified_only, labels, folder)
    assert recorded_params(workdir, "select_subset") == {
        "'folder'", "False", "['dog', 'cat']", repr(settings),
    }  # fmt: skip
    assert "Nothing to be done" in snakemake(workdir, *args, "-n").stdout


def test_users_folder_dataset_on_top_of_the_default_config(tmp_path, fsdd_recordings):
    """A user's file that sets only `labels` and `dataset` (README), merged over config.yaml."""
    user = {
        "dataset": {
            "kind": "folder",
            "path": str(fsdd_recordings),
            "label_regex": r"^(?P<label>\d)_",
        },
        "labels": "all",
    }
    workdir = make_workdir(tmp_path, user)
    snakemake(workdir, *DATA_TARGETS, "--cores", "2", "--configfile", "config/test.yaml")
    subset = pd.read_csv(workdir / "results/data/subset.csv", dtype={"label": str})
    split = pd.read_csv(workdir / SPLIT_CSV.format(0), dtype={"label": str})
    excluded = pd.read_csv(workdir / "results/data/excluded.csv")
    assert len(subset) == 3000 and subset["label"].nunique() == 10
    assert len(split) + len(excluded) == 3000
    counts = split.groupby(["label", "split"]).size().unstack()
    assert (counts["test"] >= 59).all() and (counts["test"] <= 61).all()
    assert not (workdir / "resources").exists(), "a folder dataset downloads nothing"


def test_the_report_reads_the_benchmark_of_every_job_before_it(tmp_path):
    """The report's benchmark inputs are found from the files each job makes: with a pool
    of its own, a train-pool encoder and a split per seed, a dry run lists each job's
    benchmark among make_report's inputs, and no other benchmark file (the model cards,
    which read what the report reads, run beside it, not before it)."""
    own_pool = {"type": "raw1d", "epochs": 1, "lr": 0.001, "batch_size": 8,
                "pretrained": "autoencoder:other"}  # fmt: skip
    overrides = {
        **TINY_DEMO,
        "seeds": [0, 1],
        "split": {"vary_with_seed": True},
        "models": {"raw_other": own_pool},
        "pretrain": {"other": {"encoder": "raw1d", "pool": "other_labels", "max_clips": 10}},
    }
    workdir = make_workdir(tmp_path, overrides)
    out = snakemake(workdir, "-n", "--forceall", "--configfile", "config/test.yaml").stdout
    jobs = [
        (lines[0].rstrip(":"), dict(line.strip().partition(": ")[::2] for line in lines[1:]))
        for lines in (block.splitlines() for block in re.split(r"\n(?:local)?rule ", out)[1:])
    ]
    report = next(fields for rule, fields in jobs if rule == "make_report")
    beside = ("make_report", "write_model_card", "cards", "all")
    others = {f.get("benchmark") for rule, f in jobs if rule not in beside}
    assert {"select_pool", "cache_pool", "pretrain_frontend"} <= {rule for rule, _ in jobs}
    inputs = report["input"].split(", ")
    assert {f for f in inputs if f.startswith("results/benchmarks/")} == others
