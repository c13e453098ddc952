"""Robust HTTP transfers: streamed, resumable, retried, rate-limit aware and md5-verified."""

from __future__ import annotations

import email.utils
import hashlib
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import requests
import urllib3
from tqdm import tqdm

CHUNK_BYTES = 1 << 20
# Every wait for an unreachable host stops here, so an offline run fails within a minute.
UNREACHABLE_BUDGET_S = 45.0
OFFLINE_HINT = (
    "the network is unreachable (no answer from the host); check your connection or proxy, "
    "or run the offline demo instead: snakemake --cores 8 --configfile config/demo.yaml"
)


class DownloadError(RuntimeError):
    """A transfer failed for good: its message names the URL and what to do."""


class RangesNotHonoured(DownloadError):
    """The server answered a Range request with the whole file (200 instead of 206)."""


class RangeNotSatisfiable(DownloadError):
    """The server answered 416: the asked-for bytes lie past the end of the file."""


@dataclass
class TransferStats:
    """What crossed the wire: requests made, body bytes received, retries, seconds."""

    requests: int = 0
    bytes_received: int = 0
    retries: int = 0
    seconds: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, requests: int = 0, bytes_received: int = 0, retries: int = 0) -> None:
        with self._lock:
            self.requests += requests
            self.bytes_received += bytes_received
            self.retries += retries


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry a request."""

    retries: int = 5
    backoff: float = 1.0
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    max_retry_after: float = 600.0

    @property
    def timeout(self) -> tuple[float, float]:
        return (self.connect_timeout, self.read_timeout)


class RateLimiter:
    """A token bucket: at most `requests_per_minute` requests a minute (None: no limit)."""

    def __init__(self, requests_per_minute: float | None):
        self.rate = requests_per_minute / 60.0 if requests_per_minute else None
        self.capacity = float(requests_per_minute or 0)
        self.tokens = self.capacity
        self.updated = time.monotonic()
        self._lock = threading.Lock()

    def acquire(self) -> None:
        if self.rate is None:
            return
        with self._lock:
            now = time.monotonic()
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
            self.tokens -= 1.0
            wait = -self.tokens / self.rate if self.tokens < 0 else 0.0
        if wait > 0:
            time.sleep(wait)


class _RetryableStatus(Exception):
    def __init__(self, status: int, retry_after: float | None):
        super().__init__(f"HTTP {status}")
        self.status = status
        self.retry_after = retry_after


class _ShortBody(requests.ConnectionError):
    """The connection ended before the announced body was complete."""


TRANSIENT_ERRORS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    urllib3.exceptions.ProtocolError,  # raised by iter_body: the connection broke mid-body
    urllib3.exceptions.ReadTimeoutError,
    _RetryableStatus,
)


class Retrier:
    """Attempts at one transfer: `for attempt in Retrier(...): with attempt: ...`.

    A transient error inside the `with` block waits (exponential backoff, or the server's
    Retry-After) and starts the next attempt; when none are left it raises DownloadError.
    """

    def __init__(self, url: str, policy: RetryPolicy, stats: TransferStats):
        self.url = url
        self.policy = policy
        self.stats = stats
        self.failures = 0
        self.reached = False  # did the host ever answer? If not, the network is down
        self.started = time.monotonic()
        self._done = False

    def __iter__(self) -> Iterator[Retrier]:
        while not self._done:
            yield self

    def __enter__(self) -> Retrier:
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc is None:
            self._done = True
            return False
        if not isinstance(exc, TRANSIENT_ERRORS):
            return False
        self.failures += 1
        wait = self.policy.backoff * 2 ** (self.failures - 1)
        if isinstance(exc, _RetryableStatus) and exc.retry_after is not None:
            wait = min(exc.retry_after, self.policy.max_retry_after)
        unreachable = not self.reached and isinstance(
            exc, requests.ConnectionError | requests.Timeout
        )
        if unreachable:
            elapsed = time.monotonic() - self.started
            if elapsed + wait + self.policy.connect_timeout > UNREACHABLE_BUDGET_S:
                raise DownloadError(f"{self.url}: {OFFLINE_HINT} ({exc})") from exc
        if self.failures > self.policy.retries:
            reason = OFFLINE_HINT if unreachable else "giving up"
            raise DownloadError(
                f"{self.url}: failed {self.failures} time(s), last with {exc}; {reason}"
            ) from exc
        print(f"{self.url}: {exc}; retry {self.failures} in {wait:.1f} s", file=sys.stderr)
        self.stats.add(retries=1)
        time.sleep(wait)
        return True


def make_session(pool_size: int = 4) -> requests.Session:
    """A session that reuses up to `pool_size` connections per host."""
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = f"audioclf python-requests/{requests.__version__}"
    # Byte counts and Range offsets must refer to the file itself, never to a gzip of it.
    session.headers["Accept-Encoding"] = "identity"
    return session


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds: a number, or an HTTP date (None when absent or unreadable)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def get(
    session: requests.Session,
    url: str,
    *,
    retrier: Retrier,
    headers: dict | None = None,
    limiter: RateLimiter | None = None,
) -> requests.Response:
    """One streamed GET; 429 and 5xx raise a retryable error, other 4xx a DownloadError."""
    if limiter is not None:
        limiter.acquire()
    retrier.stats.add(requests=1)
    response = session.get(url, headers=headers, stream=True, timeout=retrier.policy.timeout)
    retrier.stats.add(requests=len(response.history))  # redirects were requests too
    retrier.reached = True
    status = response.status_code
    if status == 429 or status >= 500:
        response.close()
        raise _RetryableStatus(status, retry_after_seconds(response.headers.get("Retry-After")))
    if status >= 400 and status != 416:
        response.close()
        raise DownloadError(
            f"{url}: HTTP {status} {response.reason}; check dataset.base_url and "
            "dataset.url_template in the config"
        )
    return response


def iter_body(response: requests.Response) -> Iterator[bytes]:
    """The body's chunks as they arrive.

    Unlike `iter_content`, a connection that closes early first yields every byte it did
    deliver (then raises), so a resumed transfer never fetches those bytes again.
    """
    while chunk := response.raw.read1(CHUNK_BYTES, decode_content=True):
        yield chunk


def content_range(response: requests.Response) -> tuple[int, int, int | None]:
    """(first byte, last byte, total size or None) of a 206's Content-Range."""
    value = response.headers.get("Content-Range", "")
    try:
        unit, _, rest = value.partition(" ")
        span, _, total = rest.partition("/")
        first, _, last = span.partition("-")
        assert unit == "bytes"
        return int(first), int(last), (None if total == "*" else int(total))
    except (AssertionError, ValueError) as err:
        raise DownloadError(
            f"{response.url}: unreadable Content-Range {value!r} in a 206 answer"
        ) from err


def fetch_to_file(
    url: str,
    part: Path,
    *,
    session: requests.Session,
    retrier: Retrier,
    start: int = 0,
    end: int | None = None,
    limiter: RateLimiter | None = None,
    on_size: Callable[[int, int | None], None] | None = None,
    on_bytes: Callable[[int], None] | None = None,
) -> None:
    """Stream bytes [start, end) of `url` (end None: to the end) into `part`, resuming it.

    Bytes already in `part` are not fetched again: each request asks for the rest with a
    Range header. A 200 answer to a Range request restarts the file from scratch when the
    whole file was wanted (start 0, end None), else raises RangesNotHonoured. An answer
    that ends early but cleanly (a server capping its Range answers) is simply continued.
    `on_size(have, total)` is called when an answer arrives, `on_bytes(n)` per chunk.
    """
    part.parent.mkdir(parents=True, exist_ok=True)
    for attempt in retrier:
        with attempt:
            while not _fetch_rest(
                url, part, session, retrier, start, end, limiter, on_size, on_bytes
            ):
                pass


def _fetch_rest(url, part, session, retrier, start, end, limiter, on_size, on_bytes) -> bool:
    """One request for what `part` still lacks; True when it is complete."""
    whole_file = start == 0 and end is None
    have = part.stat().st_size if part.exists() else 0
    if end is not None and start + have >= end:
        return True
    first = start + have
    ranged = first > 0 or end is not None
    headers = {"Range": f"bytes={first}-" + ("" if end is None else str(end - 1))} if ranged else {}
    with get(session, url, retrier=retrier, headers=headers, limiter=limiter) as resp:
        expected = _expected_length(resp)
        total = None if expected is None else have + expected
        if resp.status_code == 416:
            # Asked for bytes past the end: the part may already hold the whole file.
            if whole_file and _total_from_416(resp) == have:
                return True
            part.unlink(missing_ok=True)
            raise _ShortBody(f"HTTP 416 for bytes {first}-; restarting from scratch")
        if resp.status_code == 200 and ranged:
            if not whole_file:
                raise RangesNotHonoured(
                    f"{url}: the server ignored a Range request (answered 200, not 206); "
                    "set dataset.download.method to whole or auto"
                )
            have, total = 0, expected
        elif resp.status_code == 206:
            got_first, _, total = content_range(resp)
            if got_first != first:
                raise DownloadError(
                    f"{url}: asked for bytes from {first}, got them from {got_first}"
                )
        if on_size is not None:
            on_size(have, total)
        received = 0
        with open(part, "ab" if have else "wb") as out:
            for chunk in iter_body(resp):
                out.write(chunk)
                received += len(chunk)
                retrier.stats.add(bytes_received=len(chunk))
                if on_bytes is not None:
                    on_bytes(len(chunk))
    if expected is not None and received < expected:
        raise _ShortBody(f"connection closed after {received} of {expected} bytes")
    if received == 0 and resp.status_code == 206:
        raise _ShortBody(f"an empty answer for bytes from {first}")
    if end is not None:
        return start + have + received >= end
    return resp.status_code == 200 or total is None or have + received >= total


def _expected_length(response: requests.Response) -> int | None:
    value = response.headers.get("Content-Length")
    return int(value) if value and value.isdigit() else None


def _total_from_416(response: requests.Response) -> int | None:
    value = response.headers.get("Content-Range", "")
    total = value.rpartition("/")[2]
    return int(total) if total.isdigit() else None


def file_md5(path: str | os.PathLike) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def download_file(
    url: str,
    dest: str | os.PathLike,
    md5: str | None = None,
    *,
    retries: int = 5,
    backoff: float = 1.0,
    connect_timeout: float = 10,
    read_timeout: float = 60,
    progress: bool = True,
    session: requests.Session | None = None,
    limiter: RateLimiter | None = None,
) -> TransferStats:
    """Download `url` to `dest` (via `dest.part`, resumed if present), md5-checked.

    An existing `dest` whose md5 matches is kept without any request. A mismatch deletes
    the file and raises DownloadError naming the URL and both checksums.
    """
    dest = Path(dest)
    part = dest.with_name(dest.name + ".part")
    stats = TransferStats()
    started = time.monotonic()
    if dest.exists():
        if md5 is None or file_md5(dest) == md5:
            return stats
        print(f"{dest}: md5 differs from {md5}; downloading it again", file=sys.stderr)
        dest.unlink()
    policy = RetryPolicy(retries, backoff, connect_timeout, read_timeout)
    own_session = session is None
    session = session or make_session(1)
    bar = tqdm(
        desc=dest.name, unit="B", unit_scale=True, unit_divisor=1024, file=sys.stderr,
        disable=not progress, mininterval=1.0,
    )  # fmt: skip

    def on_size(have: int, total: int | None) -> None:
        bar.reset(total=total)
        bar.update(have)

    try:
        fetch_to_file(
            url, part, session=session, retrier=Retrier(url, policy, stats), limiter=limiter,
            on_size=on_size, on_bytes=bar.update,
        )  # fmt: skip
    finally:
        bar.close()
        if own_session:
            session.close()
    if md5 is not None:
        actual = file_md5(part)
        if actual != md5:
            part.unlink()
            raise DownloadError(
                f"{url}: md5 mismatch (expected {md5}, got {actual}); the download was "
                f"deleted. Rerun to fetch it again; if it persists, check the md5 in the config"
            )
    os.replace(part, dest)
    stats.seconds = time.monotonic() - started
    return stats
