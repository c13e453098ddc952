"""End to end: snakemake's download rules against a local stand-in for Zenodo."""

import pandas as pd
import pytest

from conftest import make_workdir, snakemake
from zenodo import assert_clips_match, base_url

pytestmark = pytest.mark.slow


def test_download_rules_fetch_the_subset(zenodo_server, zenodo, tmp_path):
    """snakemake's download_metadata, select_subset and download_audio (about 20 s)."""
    workdir = make_workdir(
        tmp_path,
        {
            "dataset": {
                "kind": "fsdkaggle2018",
                "base_url": base_url(zenodo_server),
                "archives": zenodo["archives"],
                "download": {"max_spans": 20, "retries": 1},
            },
            # the official split tests on the dataset's own test clips, so they are fetched
            # (by range reads, like the train clips) without include_test_clips
            "split": {"method": "official"},
            # an unlabeled pool of the labels left out, fetched the same way
            "pretrain": {"left_out": {"encoder": "raw1d", "pool": "other_labels", "max_clips": 12}},
        },
    )
    manifest_csv = "resources/FSDKaggle2018/clips_manifest.csv"
    pool_csv = "resources/FSDKaggle2018/pools/left_out_manifest.csv"
    snakemake(workdir, manifest_csv, pool_csv, "--cores", "2", "--configfile", "config/test.yaml")
    manifest = pd.read_csv(workdir / manifest_csv)
    subset = pd.read_csv(workdir / "results/data/subset.csv")
    assert manifest["fname"].tolist() == subset["fname"].tolist() and len(manifest) == 40
    assert set(subset["source"]) == {"train", "test"}
    assert set(manifest["method"]) == {"ranges"}
    root = "resources/FSDKaggle2018"
    manifest["path"] = [str(workdir / p) for p in manifest["path"]]
    assert_clips_match(manifest, workdir / root, zenodo)
    log = (workdir / "logs/download_audio/FSDKaggle2018.log").read_text()
    assert "spans" in log and "requests" in log
    pool = pd.read_csv(workdir / pool_csv)
    pool_subset = pd.read_csv(workdir / "results/pretrain/left_out/pool/subset.csv")
    assert len(pool) == 12 and pool["fname"].tolist() == pool_subset["fname"].tolist()
    assert not set(pool_subset["label"]) & set(subset["label"])
    assert set(pool_subset["source"]) == {"train"} and set(pool["method"]) == {"ranges"}
    pool["path"] = [str(workdir / p) for p in pool["path"]]
    assert_clips_match(pool, workdir / root, zenodo)
