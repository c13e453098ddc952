"""FSDKaggle2018 from Zenodo: the metadata archive, and just the audio clips a subset needs."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pandas as pd

from audioclf.contracts import CLIP_SOURCE_COLUMNS, MANIFEST, SUBSET
from audioclf.datasets.catalog import CATALOG_COLUMNS, CatalogError, read_metadata
from audioclf.datasets.download.archive import extract_members, member_target
from audioclf.datasets.download.http import (
    DownloadError,
    RangesNotHonoured,
    RateLimiter,
    RetryPolicy,
    TransferStats,
    download_file,
    make_session,
)
from audioclf.datasets.download.remote_zip import RemoteZip, check_method, choose_method

TRAIN_CSV = "train_post_competition.csv"
# The Zenodo meta archive ships the scored test rows under the first name; the full
# Kaggle table (with None/Ignored padding rows) has the second.
TEST_CSVS = ("test_post_competition_scoring_clips.csv", "test_post_competition.csv")
META_DIR = "FSDKaggle2018.meta"
AUDIO_DIRS = {"train": "FSDKaggle2018.audio_train", "test": "FSDKaggle2018.audio_test"}
RANGE_OPTIONS = ("method", "max_spans", "parallel", "requests_per_minute", "bandwidth_mbps")
HTTP_OPTIONS = ("retries", "backoff", "connect_timeout", "read_timeout", "progress")


def find_meta_csvs(meta_dir: str | os.PathLike) -> tuple[Path, Path | None]:
    """The train CSV and the test CSV (either published name) in `meta_dir` or its meta folder."""
    meta_dir = Path(meta_dir)
    for folder in (meta_dir, meta_dir / META_DIR):
        train = folder / TRAIN_CSV
        if train.is_file():
            tests = [folder / name for name in TEST_CSVS if (folder / name).is_file()]
            return train, (tests[0] if tests else None)
    raise CatalogError(
        f"{meta_dir}: no {TRAIN_CSV} found (looked in {meta_dir} and {meta_dir / META_DIR}); "
        "delete the folder and rerun to download the metadata again"
    )


def fsdkaggle_catalog(
    meta_dir: str | os.PathLike, audio_root: str | os.PathLike | None = None
) -> pd.DataFrame:
    """Train and scored test clips of an FSDKaggle2018-shaped dataset (padding rows dropped).

    Audio paths point into `audio_root`'s archive folders; by default the folder that holds
    the meta folder, as the archives unpack side by side.
    """
    train_csv, test_csv = find_meta_csvs(meta_dir)
    if audio_root is None:
        meta_folder = train_csv.parent
        audio_root = meta_folder.parent if meta_folder.name == META_DIR else meta_folder
    audio_root = Path(audio_root)
    train = read_metadata(train_csv, ["fname", "label", "manually_verified"])
    train = train.assign(source="train", manually_verified=train["manually_verified"] == "1")
    parts = [train]
    if test_csv is not None:
        test = read_metadata(test_csv, ["fname", "label"])
        if "usage" in test.columns:
            test = test[test["usage"] != "Ignored"]
        test = test[test["label"] != "None"]
        parts.append(test.assign(source="test", manually_verified=True))
    catalog = pd.concat(parts, ignore_index=True)
    catalog["path"] = [
        str(audio_root / AUDIO_DIRS[src] / name)
        for src, name in zip(catalog["source"], catalog["fname"], strict=True)
    ]
    kept = [c for c in CLIP_SOURCE_COLUMNS if c in catalog.columns]
    return catalog[CATALOG_COLUMNS + kept].fillna("")


def archive_url(base_url: str, url_template: str, name: str) -> str:
    """The URL of archive `name`: `url_template` with {base_url} and {name} filled in."""
    try:
        return url_template.format(base_url=base_url.rstrip("/"), name=name)
    except (KeyError, IndexError) as err:
        raise ValueError(
            f"dataset.url_template {url_template!r} may only use {{base_url}} and {{name}}"
        ) from err


def fetch_metadata(
    root: str | os.PathLike,
    base_url: str,
    url_template: str,
    meta_name: str,
    meta_md5: str | None,
    **download,
) -> tuple[Path, Path]:
    """Download and md5-check the meta archive into `root`, extract it safely there.

    Returns the train CSV and the scored test CSV (either published name). `download`
    takes the config's dataset.download options; only the HTTP ones (retries, backoff,
    timeouts, progress) concern this one small file.
    """
    root = Path(root)
    zip_path = root / meta_name
    url = archive_url(base_url, url_template, meta_name)
    download_file(url, zip_path, meta_md5, **http_options(download))
    extract_members(zip_path, root)
    train, test = find_meta_csvs(root)
    if test is None:
        raise DownloadError(
            f"{zip_path}: holds no test CSV (test_post_competition_scoring_clips.csv or "
            "test_post_competition.csv); check dataset.archives.meta"
        )
    return train, test


def http_options(download: dict) -> dict:
    """The HTTP options among dataset.download's; an unknown name is an error."""
    unknown = sorted(set(download) - set(HTTP_OPTIONS) - set(RANGE_OPTIONS))
    if unknown:
        raise ValueError(
            f"dataset.download has unknown option(s) {unknown}; known: "
            f"{', '.join(RANGE_OPTIONS + HTTP_OPTIONS)}"
        )
    return {key: value for key, value in download.items() if key in HTTP_OPTIONS}


def fetch_audio(
    subset_csv: str | os.PathLike,
    root: str | os.PathLike,
    manifest_path: str | os.PathLike,
    base_url: str,
    url_template: str,
    archives: dict,
    method: str = "auto",
    max_spans: int = 500,
    parallel: int = 4,
    requests_per_minute: float | None = 60,
    bandwidth_mbps: float = 50.0,
    *,
    retries: int = 5,
    backoff: float = 1.0,
    connect_timeout: float = 10,
    read_timeout: float = 60,
    progress: bool = True,
) -> pd.DataFrame:
    """Fetch the subset's clips into `root/<archive folder>/<fname>`; write the manifest.

    `archives` maps train/test to {name, md5}. For each archive only the members the
    subset needs are fetched, with Range requests when that is estimated faster at
    `bandwidth_mbps` (Mbit/s) and `requests_per_minute`, else the whole archive (kept in
    `root`, md5-checked, so a later change of labels downloads nothing). Clips already on
    disk with the right size and CRC are not fetched again. The manifest
    (fname,path,bytes,method; method ranges, whole or present) is written last.
    """
    subset = SUBSET.read(subset_csv)
    SUBSET.require(subset, ["source"], subset_csv)
    root = Path(root)
    policy = RetryPolicy(retries, backoff, connect_timeout, read_timeout)
    fetch = _ArchiveFetcher(
        root, method, max_spans, parallel, requests_per_minute,
        bandwidth_mbps * 1e6 / 8, policy, progress,
    )  # fmt: skip
    methods: dict[str, str] = {}
    for source, rows in subset.groupby("source", sort=False):
        if source not in AUDIO_DIRS or source not in archives:
            raise ValueError(
                f"{subset_csv}: source {source!r} is not an FSDKaggle2018 archive; "
                f"expected one of {sorted(set(AUDIO_DIRS) & set(archives))}"
            )
        names = [f"{AUDIO_DIRS[source]}/{fname}" for fname in rows["fname"]]
        _check_paths(subset_csv, rows, names, root)
        archive = archives[source]
        url = archive_url(base_url, url_template, archive["name"])
        methods.update(fetch(url, archive["name"], archive.get("md5"), names))
    manifest = pd.DataFrame(
        {
            "fname": subset["fname"],
            "path": subset["path"],
            "bytes": [Path(p).stat().st_size for p in subset["path"]],
            "method": [
                methods[f"{AUDIO_DIRS[s]}/{f}"]
                for s, f in zip(subset["source"], subset["fname"], strict=True)
            ],
        },
        columns=list(MANIFEST.columns),
    )
    MANIFEST.write(manifest_path, manifest)
    stats = fetch.stats
    print(
        f"{manifest_path}: {len(manifest)} clips ({manifest['method'].value_counts().to_dict()}); "
        f"{stats.requests} requests, {stats.bytes_received / 1e6:.1f} MB received",
        file=sys.stderr,
    )
    return manifest


def _check_paths(subset_csv, rows: pd.DataFrame, names: list[str], root: Path) -> None:
    for fname, path, name in zip(rows["fname"], rows["path"], names, strict=True):
        target = member_target(root, name)
        if Path(path).resolve() != target.resolve():
            raise ValueError(
                f"{subset_csv}: clip {fname} has path {path}, but FSDKaggle2018 clips land in "
                f"{target}; the subset and download rules must use the same dataset.root"
            )


class _ArchiveFetcher:
    """Fetches members of one archive at a time, by ranges or whole, adding up the traffic."""

    def __init__(self, root, method, max_spans, parallel, rpm, bandwidth_bytes, policy, progress):
        self.root, self.method, self.max_spans, self.parallel = root, method, max_spans, parallel
        self.rpm, self.bandwidth_bytes, self.policy = rpm, bandwidth_bytes, policy
        self.progress = progress
        self.stats = TransferStats()
        self.limiter = RateLimiter(rpm)
        check_method(method)  # an unknown method fails before any request

    def __call__(self, url: str, name: str, md5: str | None, members: list[str]) -> dict:
        zip_path = self.root / name
        if zip_path.exists() or self.method == "whole":
            return self._whole(url, zip_path, md5, members)
        session = make_session(max(1, self.parallel))
        try:
            try:
                remote = RemoteZip(
                    url, session=session, policy=self.policy, stats=self.stats,
                    limiter=self.limiter,
                )  # fmt: skip
            except RangesNotHonoured:
                check_method(self.method, ranges_honoured=False)
                print(f"{url}: the server ignores Range; downloading it whole", file=sys.stderr)
                return self._whole(url, zip_path, md5, members, session)
            with remote:
                plan = remote.plan(
                    members, self.root, self.max_spans, self.bandwidth_bytes, self.rpm
                )
                if not plan.spans:
                    return dict.fromkeys(members, "present")
                choice = choose_method(
                    remote.size, plan.span_bytes, len(plan.spans), self.bandwidth_bytes,
                    self.rpm, self.method,
                )  # fmt: skip
                print(
                    f"{url}: {len(members) - len(plan.present)} of {len(remote.zip.infolist())} "
                    f"members to fetch in {len(plan.spans)} spans, {plan.span_bytes / 1e6:.1f} MB "
                    f"of {remote.size / 1e6:.1f} MB ({plan.span_bytes / remote.size:.0%}); "
                    f"method {choice}",
                    file=sys.stderr,
                )
                if choice == "ranges":
                    fetched = remote.fetch(
                        plan.spans, self.root, parallel=self.parallel, progress=self.progress
                    )
                    fetched = set(fetched)
                    return {m: ("ranges" if m in fetched else "present") for m in members}
            return self._whole(url, zip_path, md5, members, session)
        finally:
            session.close()

    def _whole(self, url, zip_path: Path, md5, members, session=None) -> dict:
        stats = download_file(
            url, zip_path, md5, retries=self.policy.retries, backoff=self.policy.backoff,
            connect_timeout=self.policy.connect_timeout, read_timeout=self.policy.read_timeout,
            progress=self.progress, session=session, limiter=self.limiter,
        )  # fmt: skip
        self.stats.add(stats.requests, stats.bytes_received, stats.retries)
        written = set(extract_members(zip_path, self.root, members))
        return {m: ("whole" if m in written else "present") for m in members}
