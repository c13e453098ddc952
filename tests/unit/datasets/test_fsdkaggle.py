"""FSDKaggle2018 downloads from a local stand-in for Zenodo: metadata, clips, safety."""

from __future__ import annotations

import hashlib
import io
import zipfile

import pandas as pd
import pytest

from audioclf.datasets.download.archive import (
    MissingMemberError,
    UnsafeMemberError,
    extract_members,
    member_target,
)
from audioclf.datasets.download.http import DownloadError, RangesNotHonoured
from audioclf.datasets.fsdkaggle import fetch_audio, fetch_metadata, http_options
from audioclf.datasets.subset import write_subset
from httpserver import FileServer, build_zip
from zenodo import (
    DEFAULT_LABELS,
    META,
    OTHER_LABELS,
    QUICK,
    RECORD,
    TEMPLATE,
    TEST,
    TRAIN,
    assert_clips_match,
    base_url,
    meta_zip,
)


@pytest.fixture
def server(zenodo_server):
    return zenodo_server


def fetch_meta(server, zenodo, root):
    meta = zenodo["archives"]["meta"]
    return fetch_metadata(root, base_url(server), TEMPLATE, meta["name"], meta["md5"], **QUICK)


def make_subset(root, out, labels=DEFAULT_LABELS, include_test_clips=True) -> pd.DataFrame:
    return write_subset(
        out, "fsdkaggle2018", labels, include_test_clips=include_test_clips,
        meta_dir=root, audio_root=root,
    )  # fmt: skip


def fetch(server, zenodo, subset_csv, root, **options) -> pd.DataFrame:
    return fetch_audio(
        subset_csv, root, root / "manifest.csv", base_url(server), TEMPLATE,
        zenodo["archives"], **{**QUICK, **options},
    )  # fmt: skip


@pytest.fixture
def fetched_meta(server, zenodo, tmp_path):
    root = tmp_path / "FSDKaggle2018"
    fetch_meta(server, zenodo, root)
    server.reset()
    return root


# -- metadata ----------------------------------------------------------------------------
def test_metadata_is_downloaded_checked_and_extracted(server, zenodo, tmp_path):
    root = tmp_path / "FSDKaggle2018"
    train, test = fetch_meta(server, zenodo, root)
    assert train == root / "FSDKaggle2018.meta" / "train_post_competition.csv"
    assert test.name == "test_post_competition_scoring_clips.csv"
    assert train.read_bytes() == zenodo["train_csv"]
    assert (root / META).is_file()  # kept: a rerun needs no request
    fetch_meta(server, zenodo, root)
    assert server.requests == 1


def test_metadata_accepts_the_full_test_table_name(zenodo, tmp_path):
    data = meta_zip(zenodo["train_csv"], b"fname,label,usage\n", "test_post_competition.csv")
    with FileServer({f"{RECORD}/{META}": data}) as server:
        md5 = hashlib.md5(data).hexdigest()
        _, test = fetch_metadata(tmp_path, base_url(server), TEMPLATE, META, md5, **QUICK)
    assert test.name == "test_post_competition.csv"


def test_corrupted_archive_is_deleted_with_a_clear_error(zenodo, tmp_path):
    data = bytearray(zenodo["files"][META])
    data[200] ^= 0xFF
    expected = zenodo["archives"]["meta"]["md5"]
    with FileServer({f"{RECORD}/{META}": bytes(data)}) as server:
        with pytest.raises(DownloadError) as error:
            fetch_metadata(tmp_path, base_url(server), TEMPLATE, META, expected, **QUICK)
    message = str(error.value)
    assert expected in message and hashlib.md5(bytes(data)).hexdigest() in message
    assert f"{RECORD}/{META}" in message
    assert list(tmp_path.iterdir()) == []  # neither the archive nor its .part nor a CSV


def test_archive_with_an_escaping_member_writes_nothing(zenodo, tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("FSDKaggle2018.meta/train_post_competition.csv", zenodo["train_csv"])
        archive.writestr("../evil.txt", b"outside")
    data = buffer.getvalue()
    root = tmp_path / "root"
    with FileServer({f"{RECORD}/{META}": data}) as server:
        with pytest.raises(UnsafeMemberError, match=r"\.\./evil\.txt"):
            fetch_metadata(
                root, base_url(server), TEMPLATE, META, hashlib.md5(data).hexdigest(), **QUICK
            )
    assert not (tmp_path / "evil.txt").exists()
    assert [p.name for p in root.iterdir()] == [META]  # the CSV was not extracted either


def test_download_options_from_the_config_are_sorted_out():
    config = {"method": "auto", "max_spans": 500, "parallel": 4, "requests_per_minute": 60,
              "bandwidth_mbps": 50, "retries": 5}  # fmt: skip
    assert http_options(config) == {"retries": 5}
    with pytest.raises(ValueError, match="unknown option.*'speed'"):
        http_options({**config, "speed": 1})


@pytest.mark.parametrize("name", ["/etc/passwd", "C:/x.wav", "C:x.wav", "a/../../b.wav", "..\\x"])
def test_unsafe_member_names_are_refused(name, tmp_path):
    with pytest.raises(UnsafeMemberError):
        member_target(tmp_path, name)


def test_safe_members_extract_atomically(tmp_path):
    build_zip(tmp_path / "a.zip", {"d/one.wav": b"1", "d/two.wav": b"22"})
    assert extract_members(tmp_path / "a.zip", tmp_path / "out", ["d/two.wav"]) == ["d/two.wav"]
    assert [p.name for p in (tmp_path / "out" / "d").iterdir()] == ["two.wav"]
    assert extract_members(tmp_path / "a.zip", tmp_path / "out") == ["d/one.wav"]  # two kept


# -- audio -------------------------------------------------------------------------------
def test_subset_clips_arrive_by_ranges(server, zenodo, fetched_meta, tmp_path):
    root = fetched_meta
    subset = make_subset(root, tmp_path / "subset.csv")
    assert set(subset["source"]) == {"train", "test"} and len(subset) == 5 * 6 + 5 * 2
    manifest = fetch(server, zenodo, tmp_path / "subset.csv", root)
    assert list(manifest.columns) == ["fname", "path", "bytes", "method"]
    assert manifest["fname"].tolist() == subset["fname"].tolist()
    assert set(manifest["method"]) == {"ranges"}
    assert_clips_match(manifest, root, zenodo)
    assert pd.read_csv(root / "manifest.csv")["bytes"].tolist() == manifest["bytes"].tolist()
    archive_bytes = len(zenodo["files"][TRAIN]) + len(zenodo["files"][TEST])
    assert server.bytes_sent < 0.4 * archive_bytes  # 5 of 30 labels, plus the two tails
    assert not (root / TRAIN).exists() and not (root / TEST).exists()
    # a rerun finds every clip in place: one probe per archive, no span
    server.reset()
    again = fetch(server, zenodo, tmp_path / "subset.csv", root)
    assert set(again["method"]) == {"present"} and server.requests == 2


def test_range_ignored_falls_back_to_the_kept_archive(server, zenodo, fetched_meta, tmp_path):
    root = fetched_meta
    server.honour_range = False
    subset = make_subset(root, tmp_path / "subset.csv", include_test_clips=False)
    manifest = fetch(server, zenodo, tmp_path / "subset.csv", root)
    assert set(manifest["method"]) == {"whole"}
    assert_clips_match(manifest, root, zenodo)
    on_disk = sorted(p.name for p in (root / "FSDKaggle2018.audio_train").iterdir())
    assert on_disk == sorted(subset["fname"])  # only the wanted members were extracted
    assert (root / TRAIN).read_bytes() == zenodo["files"][TRAIN]
    assert server.requests == 2  # the probe answered 200, then the archive itself
    # other labels later: the kept archive serves them without a request
    server.reset()
    make_subset(root, tmp_path / "other.csv", OTHER_LABELS, include_test_clips=False)
    other = fetch(server, zenodo, tmp_path / "other.csv", root)
    assert set(other["method"]) == {"whole"} and server.requests == 0
    assert_clips_match(other, root, zenodo)


def test_forced_whole_downloads_each_archive_once(server, zenodo, fetched_meta, tmp_path):
    make_subset(fetched_meta, tmp_path / "subset.csv")
    manifest = fetch(server, zenodo, tmp_path / "subset.csv", fetched_meta, method="whole")
    assert set(manifest["method"]) == {"whole"}
    sizes = len(zenodo["files"][TRAIN]) + len(zenodo["files"][TEST])
    assert (server.requests, server.bytes_sent) == (2, sizes)


def test_forced_ranges_on_a_server_ignoring_range_fails(server, zenodo, fetched_meta, tmp_path):
    make_subset(fetched_meta, tmp_path / "subset.csv")
    server.honour_range = False
    with pytest.raises(RangesNotHonoured, match="method is ranges"):
        fetch(server, zenodo, tmp_path / "subset.csv", fetched_meta, method="ranges")
    assert not (fetched_meta / "manifest.csv").exists()


def test_subset_paths_elsewhere_stop_before_any_request(server, zenodo, fetched_meta, tmp_path):
    subset = make_subset(fetched_meta, tmp_path / "subset.csv")
    subset.loc[0, "path"] = str(tmp_path / "elsewhere.wav")
    subset.to_csv(tmp_path / "subset.csv", index=False)
    with pytest.raises(ValueError, match="elsewhere.wav.*same dataset.root"):
        fetch(server, zenodo, tmp_path / "subset.csv", fetched_meta)
    assert server.requests == 0


def test_clip_missing_from_the_archive_is_named(server, zenodo, fetched_meta, tmp_path):
    subset = make_subset(fetched_meta, tmp_path / "subset.csv")
    subset.loc[3, "fname"] = "deadbeef.wav"
    subset.loc[3, "path"] = str(fetched_meta / "FSDKaggle2018.audio_train" / "deadbeef.wav")
    subset.to_csv(tmp_path / "subset.csv", index=False)
    with pytest.raises(MissingMemberError, match="deadbeef.wav"):
        fetch(server, zenodo, tmp_path / "subset.csv", fetched_meta)
    assert [e.status for e in server.log] == [206]  # the probe only: no clip was fetched


def test_unreachable_zenodo_fails_with_the_demo_hint(zenodo, fetched_meta, tmp_path):
    make_subset(fetched_meta, tmp_path / "subset.csv")
    with FileServer() as gone:
        dead_url = base_url(gone)  # the port closes when the block ends
    with pytest.raises(DownloadError, match="network is unreachable.*config/demo.yaml"):
        fetch_audio(
            tmp_path / "subset.csv", fetched_meta, tmp_path / "m.csv", dead_url, TEMPLATE,
            zenodo["archives"], **QUICK,
        )  # fmt: skip
