"""download_file against a real local HTTP server: resume, retries, 429, md5, no network."""

from __future__ import annotations

import hashlib
import socket
import time

import numpy as np
import pytest

from audioclf.datasets.download.http import (
    DownloadError,
    RateLimiter,
    download_file,
    retry_after_seconds,
)
from httpserver import FileServer

SIZE = 3 * (1 << 20) + 12345  # several read chunks, not a round number
FAST = {"backoff": 0.01, "progress": False}


@pytest.fixture(scope="module")
def blob() -> bytes:
    return np.random.default_rng(7).bytes(SIZE)


@pytest.fixture
def server(blob):
    with FileServer({"data.bin": blob}) as running:
        yield running


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def test_download_streams_verifies_and_renames(server, blob, tmp_path):
    dest = tmp_path / "sub" / "data.bin"
    stats = download_file(server.url("data.bin?download=1"), dest, md5(blob), **FAST)
    assert dest.read_bytes() == blob
    assert not (tmp_path / "sub" / "data.bin.part").exists()
    assert (stats.requests, stats.bytes_received) == (1, SIZE)
    assert (server.requests, server.bytes_sent) == (1, SIZE)


def test_verified_file_is_not_downloaded_again(server, blob, tmp_path):
    dest = tmp_path / "data.bin"
    download_file(server.url("data.bin"), dest, md5(blob), **FAST)
    server.reset()
    stats = download_file(server.url("data.bin"), dest, md5(blob), **FAST)
    assert (stats.requests, server.requests) == (0, 0)


def test_dropped_connection_resumes_without_refetching(server, blob, tmp_path):
    server.drop_after = SIZE // 3
    dest = tmp_path / "data.bin"
    stats = download_file(server.url("data.bin"), dest, md5(blob), **FAST)
    assert dest.read_bytes() == blob
    assert [entry.range for entry in server.log] == [None, f"bytes={SIZE // 3}-"]
    assert [entry.status for entry in server.log] == [200, 206]
    assert stats.bytes_received == SIZE == server.bytes_sent
    assert (stats.requests, stats.retries) == (2, 1)


def test_rerun_resumes_the_part_left_by_a_failed_run(server, blob, tmp_path):
    server.drop_after = SIZE // 2
    dest = tmp_path / "data.bin"
    with pytest.raises(DownloadError, match="data.bin"):
        download_file(server.url("data.bin"), dest, md5(blob), retries=0, **FAST)
    part = tmp_path / "data.bin.part"
    assert part.stat().st_size == SIZE // 2 and not dest.exists()
    stats = download_file(server.url("data.bin"), dest, md5(blob), **FAST)
    assert dest.read_bytes() == blob
    assert stats.bytes_received == SIZE - SIZE // 2
    assert server.bytes_sent == SIZE  # across both runs, each byte crossed the wire once


def test_server_ignoring_range_restarts_cleanly(server, blob, tmp_path):
    part = tmp_path / "data.bin.part"
    part.write_bytes(b"stale bytes from an older file")
    server.honour_range = False
    dest = tmp_path / "data.bin"
    stats = download_file(server.url("data.bin"), dest, md5(blob), **FAST)
    assert dest.read_bytes() == blob
    assert server.log[0].range == "bytes=30-" and server.log[0].status == 200
    assert stats.bytes_received == SIZE


def test_complete_part_is_finished_without_a_body(server, blob, tmp_path):
    (tmp_path / "data.bin.part").write_bytes(blob)
    stats = download_file(server.url("data.bin"), tmp_path / "data.bin", md5(blob), **FAST)
    assert (tmp_path / "data.bin").read_bytes() == blob
    assert [e.status for e in server.log] == [416] and stats.bytes_received == 0


def test_md5_mismatch_deletes_and_names_both_sums(server, blob, tmp_path):
    dest = tmp_path / "data.bin"
    wrong = "0" * 32
    with pytest.raises(DownloadError) as error:
        download_file(server.url("data.bin"), dest, wrong, **FAST)
    message = str(error.value)
    assert server.url("data.bin") in message and wrong in message
    assert md5(blob) in message
    assert not dest.exists() and not (tmp_path / "data.bin.part").exists()


def test_429_waits_for_retry_after(server, blob, tmp_path):
    server.refuse = 1
    started = time.monotonic()
    stats = download_file(server.url("data.bin"), tmp_path / "data.bin", md5(blob), **FAST)
    assert time.monotonic() - started >= 1.0  # Retry-After: 1, not the 0.01 s backoff
    assert [e.status for e in server.log] == [429, 200]
    assert (stats.requests, stats.retries, stats.bytes_received) == (2, 1, SIZE)


def test_server_errors_are_retried_with_backoff(server, blob, tmp_path):
    server.refuse, server.refuse_status, server.retry_after = 2, 503, None
    stats = download_file(server.url("data.bin"), tmp_path / "data.bin", md5(blob), **FAST)
    assert [e.status for e in server.log] == [503, 503, 200]
    assert stats.retries == 2


def test_not_found_fails_at_once_with_the_url(server, tmp_path):
    with pytest.raises(DownloadError, match=r"missing\.zip: HTTP 404.*base_url"):
        download_file(server.url("missing.zip"), tmp_path / "missing.zip", **FAST)
    assert server.requests == 1


def test_redirect_is_followed_and_counted(server, blob, tmp_path):
    server.redirects["old.bin"] = "data.bin"
    stats = download_file(server.url("old.bin"), tmp_path / "data.bin", md5(blob), **FAST)
    assert (tmp_path / "data.bin").read_bytes() == blob
    assert stats.requests == 2 == server.requests


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed again when the block ends


def test_unreachable_host_fails_fast_with_the_demo_hint(tmp_path):
    url = f"http://127.0.0.1:{closed_port()}/FSDKaggle2018.meta.zip"
    started = time.monotonic()
    with pytest.raises(DownloadError) as error:
        download_file(url, tmp_path / "meta.zip", retries=3, backoff=0.05, progress=False)
    assert time.monotonic() - started < 5
    message = str(error.value)
    assert "network is unreachable" in message
    assert "snakemake --cores 8 --configfile config/demo.yaml" in message
    assert not (tmp_path / "meta.zip").exists()


def test_unreachable_budget_stops_long_backoffs(tmp_path, monkeypatch):
    import audioclf.datasets.download.http as http

    monkeypatch.setattr(http, "UNREACHABLE_BUDGET_S", 1.0)
    url = f"http://127.0.0.1:{closed_port()}/x.zip"
    started = time.monotonic()
    with pytest.raises(DownloadError, match="network is unreachable"):
        download_file(url, tmp_path / "x.zip", retries=50, backoff=0.3, connect_timeout=0.2,
                      progress=False)  # fmt: skip
    assert time.monotonic() - started < 2.0


def test_retry_after_reads_seconds_and_dates():
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds(None) is None
    date = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 30))
    assert 25 <= retry_after_seconds(date) <= 31


def test_rate_limiter_spaces_requests_beyond_its_burst():
    limiter = RateLimiter(requests_per_minute=600)  # 10 per second after a burst of 600
    limiter.tokens = 0.0
    started = time.monotonic()
    for _ in range(3):
        limiter.acquire()
    assert 0.25 <= time.monotonic() - started < 1.0
