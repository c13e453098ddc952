"""Fetch chosen members of a remote zip with HTTP Range requests, not the whole archive."""

from __future__ import annotations

import bisect
import contextlib
import fcntl
import os
import shutil
import sys
import threading
import zipfile
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

import requests
from tqdm import tqdm

from audioclf.datasets.download.archive import (
    extract_member,
    find_members,
    is_extracted,
    member_target,
)
from audioclf.datasets.download.http import (
    DownloadError,
    RangeNotSatisfiable,
    RangesNotHonoured,
    RateLimiter,
    Retrier,
    RetryPolicy,
    TransferStats,
    content_range,
    fetch_to_file,
    get,
    iter_body,
    make_session,
)

# The longest zip comment, the end-of-central-directory record and the ZIP64 locator and
# record before it: one request at the tail finds the central directory of any zip.
TAIL_BYTES = (1 << 16) + 22 + 20 + 56
METHODS = ("auto", "ranges", "whole")


@dataclass(frozen=True)
class Span:
    """One Range request: archive bytes [start, end) holding the members `names`."""

    start: int
    end: int
    names: tuple[str, ...]

    @property
    def size(self) -> int:
        return self.end - self.start


@dataclass
class FetchPlan:
    """What fetching a set of members takes: the spans, and the members already on disk."""

    spans: list[Span]
    present: list[str]
    wanted_bytes: int  # the members' own extents, without the gaps the spans bridge

    @property
    def span_bytes(self) -> int:
        return sum(span.size for span in self.spans)


@dataclass
class _Piece:
    start: int
    end: int
    data: bytes | None = None
    path: Path | None = None

    def read(self, pos: int, n: int) -> bytes:
        if self.data is not None:
            return self.data[pos - self.start : pos - self.start + n]
        with open(self.path, "rb") as handle:
            handle.seek(pos - self.start)
            return handle.read(n)


@dataclass
class RemoteFile:
    """A read-only, seekable file over a URL, served from fetched pieces.

    A read outside every piece fetches the missing bytes with one Range request (and keeps
    them), unless `fetch_missing` is off: then it is an error.
    """

    url: str
    size: int
    session: requests.Session
    policy: RetryPolicy
    stats: TransferStats
    limiter: RateLimiter | None = None
    fetch_missing: bool = True
    pos: int = 0
    pieces: list[_Piece] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self.pos, 2: self.size}[whence]
        if base + offset < 0:
            raise OSError(f"{self.url}: seek to {base + offset}, before the start")
        self.pos = base + offset
        return self.pos

    def read(self, n: int | None = -1) -> bytes:
        stop = self.size if n is None or n < 0 else min(self.size, self.pos + n)
        out = bytearray()
        while self.pos < stop:
            piece = self._piece_at(self.pos, stop)
            chunk = piece.read(self.pos, min(stop, piece.end) - self.pos)
            out += chunk
            self.pos += len(chunk)
        return bytes(out)

    def add_piece(self, start: int, end: int, *, data: bytes | None = None, path=None) -> None:
        with self._lock:
            self.pieces.append(_Piece(start, end, data, path))

    def remove_piece(self, start: int) -> None:
        with self._lock:
            self.pieces = [piece for piece in self.pieces if piece.start != start]

    def close(self) -> None:
        self.pieces = []

    def _piece_at(self, pos: int, stop: int) -> _Piece:
        with self._lock:
            for piece in self.pieces:
                if piece.start <= pos < piece.end:
                    return piece
            stop = min([stop] + [p.start for p in self.pieces if p.start > pos])
        if not self.fetch_missing:
            raise DownloadError(
                f"{self.url}: bytes {pos}-{stop} were read but never fetched (a bug: a "
                "member's extent is wrong)"
            )
        data = fetch_bytes(self.url, pos, stop, self.session, self.policy, self.stats, self.limiter)
        self.add_piece(pos, pos + len(data), data=data)  # a capped answer holds less
        return self._piece_at(pos, stop)


def fetch_bytes(url, start, end, session, policy, stats, limiter=None, *, suffix=False):
    """Bytes [start, end) of `url` with one Range request (retried); `suffix`: the last `end`.

    With `suffix` it returns (bytes, their offset, file size, final URL after redirects).
    """
    header = f"bytes=-{end}" if suffix else f"bytes={start}-{end - 1}"
    for attempt in Retrier(url, policy, stats):
        with attempt:
            headers = {"Range": header}
            with get(session, url, retrier=attempt, headers=headers, limiter=limiter) as resp:
                if resp.status_code == 200:
                    raise RangesNotHonoured(
                        f"{url}: the server ignores Range requests (answered 200 to "
                        f"Range: {header}); only the whole archive can be downloaded"
                    )
                if resp.status_code == 416:
                    raise RangeNotSatisfiable(f"{url}: HTTP 416 for Range: {header}")
                first, last, total = content_range(resp)
                if not suffix and first != start:
                    raise DownloadError(f"{url}: asked for bytes from {start}, got {first}-{last}")
                data = bytearray()
                for chunk in iter_body(resp):
                    data += chunk
                    stats.add(bytes_received=len(chunk))
                if len(data) != last - first + 1:
                    raise requests.ConnectionError(
                        f"connection closed after {len(data)} of {last - first + 1} bytes"
                    )
                final_url = resp.url
    if suffix:
        return bytes(data), first, total, final_url
    return bytes(data)


class RemoteZip:
    """A remote zip's listing (two Range requests), and a fetch of chosen members by spans."""

    def __init__(
        self,
        url: str,
        *,
        session: requests.Session | None = None,
        policy: RetryPolicy | None = None,
        stats: TransferStats | None = None,
        limiter: RateLimiter | None = None,
    ):
        self.url = url
        self.policy = policy or RetryPolicy()
        self.stats = stats if stats is not None else TransferStats()
        self.limiter = limiter
        self._own_session = session is None
        self.session = session or make_session()
        try:
            tail, tail_start, size, final_url = fetch_bytes(
                url, 0, TAIL_BYTES, self.session, self.policy, self.stats, limiter, suffix=True
            )
        except RangeNotSatisfiable as err:
            raise DownloadError(f"{url}: the file is empty, not a zip archive") from err
        if size is None:
            raise DownloadError(f"{url}: the server does not say the archive's size")
        # Later requests go straight to where the redirects led, so they cost one request.
        self.file = RemoteFile(final_url, size, self.session, self.policy, self.stats, limiter)
        self.file.add_piece(tail_start, tail_start + len(tail), data=tail)
        try:
            self.zip = zipfile.ZipFile(self.file)
        except zipfile.BadZipFile as err:
            raise DownloadError(f"{url}: not a zip archive ({err})") from err
        self.file.fetch_missing = False
        self.size = size

    def __enter__(self) -> RemoteZip:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.zip.close()
        self.file.close()
        if self._own_session:
            self.session.close()

    def plan(
        self,
        names: list[str],
        dest_dir,
        max_spans: int,
        bandwidth_bytes_per_s: float | None = None,
        requests_per_minute: float | None = None,
    ) -> FetchPlan:
        """Spans (at most `max_spans`) covering the members of `names` not yet in `dest_dir`.

        Given a bandwidth, the span count is the one with the least estimated time.
        """
        infos = find_members(self.zip, names, self.url)
        todo, present = [], []
        for info in infos:
            target = member_target(dest_dir, info.filename)
            (present if is_extracted(target, info) else todo).append(info)
        extents = member_extents(self.zip, todo)
        if bandwidth_bytes_per_s:
            max_spans = cheapest_span_count(
                extents, max_spans, bandwidth_bytes_per_s, requests_per_minute
            )
        wanted = sum(end - start for start, end, _ in extents)
        return FetchPlan(plan_spans(extents, max_spans), [i.filename for i in present], wanted)

    def fetch(self, spans: list[Span], dest_dir, *, parallel: int = 4, progress=True) -> list[str]:
        """Fetch `spans` (`parallel` at a time) and extract their members into `dest_dir`.

        Each span is streamed to `<start>-<end>.part` in a scratch folder named after the
        archive, beside the members; its members are extracted through zipfile (which
        checks each CRC) and the span file is deleted. A run that was killed leaves its
        parts there: the next run resumes each from its last byte into the span of its
        plan that starts where the part does and holds it whole, and deletes the others
        (and scratch folders of older versions, which named them at random). One fetch
        at a time writes into a folder (a lock on it). Returns the extracted member names.
        """
        dest_dir = Path(dest_dir)
        by_name = {info.filename: info for info in self.zip.infolist()}
        for span in spans:  # refuse unsafe names before anything is fetched or written
            for name in span.names:
                member_target(dest_dir, name)
        dest_dir.mkdir(parents=True, exist_ok=True)
        with _scratch_lock(dest_dir):
            return self._fetch(spans, dest_dir, by_name, parallel, progress)

    def _fetch(self, spans, dest_dir: Path, by_name, parallel: int, progress) -> list[str]:
        scratch = span_scratch(dest_dir, self.url, spans)
        bar = tqdm(
            total=sum(span.size for span in spans), desc=Path(self.url).name.split("?")[0],
            unit="B", unit_scale=True, unit_divisor=1024, file=sys.stderr,
            disable=not progress, mininterval=1.0,
        )  # fmt: skip

        def fetch_span(span: Span) -> list[str]:
            part = scratch / f"{span.start}-{span.end}.part"
            retrier = Retrier(self.file.url, self.policy, self.stats)
            retrier.reached = True  # the listing came from this host; a failure now is no outage
            fetch_to_file(
                self.file.url, part, session=self.session, retrier=retrier, start=span.start,
                end=span.end, limiter=self.limiter, on_bytes=bar.update,
            )  # fmt: skip
            if part.stat().st_size != span.size:
                part.unlink()  # not resumable: the next run fetches it afresh
                raise DownloadError(
                    f"{self.url}: bytes {span.start}-{span.end} came back with "
                    f"{part.stat().st_size} bytes instead of {span.size}"
                )
            self.file.add_piece(span.start, span.end, path=part)
            try:
                for name in span.names:
                    extract_member(self.zip, by_name[name], member_target(dest_dir, name))
            finally:
                self.file.remove_piece(span.start)
                part.unlink()
            return list(span.names)

        extracted: list[str] = []
        try:
            with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
                futures = [pool.submit(fetch_span, span) for span in spans]
                done, _ = wait(futures, return_when=FIRST_EXCEPTION)
                failed = [f for f in done if f.exception() is not None]
                if failed:
                    for future in futures:
                        future.cancel()
                    raise failed[0].exception()
                for future in futures:
                    extracted += future.result()
        finally:
            bar.close()
        # kept after a failure, so that the next run resumes the parts
        shutil.rmtree(scratch, ignore_errors=True)
        return extracted


@contextlib.contextmanager
def _scratch_lock(dest_dir: Path):
    """One fetch at a time into a folder (two jobs fetching from one archive into one
    folder would delete each other's parts): an exclusive lock on the folder."""
    fd = os.open(dest_dir, os.O_RDONLY)  # the folder itself: no lock file left behind
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def span_scratch(dest_dir: Path, url: str, spans: list[Span]) -> Path:
    """The scratch folder of `url`'s spans in `dest_dir`, cleared of what this plan does
    not resume: parts of other spans, and the random `.spans-*` folders of versions
    before resumable spans. Says what it resumes and what it removes."""
    archive = Path(url.split("?")[0]).name
    scratch = dest_dir / f".spans-{archive}"
    removed = 0
    for old in dest_dir.glob(".spans-*"):
        if old.is_dir() and old != scratch and not old.name.endswith(".zip"):
            removed += sum(1 for _ in old.glob("*.part"))
            shutil.rmtree(old, ignore_errors=True)
    # a part is resumed by the span of this plan that starts where it does and holds it
    # whole (its bytes are that span's first bytes; a re-cut plan often ends spans later)
    by_start = {span.start: span for span in spans}
    resumed = 0
    if scratch.is_dir():
        for part in scratch.glob("*.part"):
            start, _, end = part.stem.partition("-")
            span = by_start.get(int(start)) if start.isdigit() else None
            size = part.stat().st_size
            if span is not None and end.isdigit() and size <= min(int(end), span.end) - span.start:
                part.rename(scratch / f"{span.start}-{span.end}.part")
                resumed += size
            else:
                part.unlink()
                removed += 1
    if resumed or removed:
        print(
            f"{archive}: resuming {resumed / 1e6:.1f} MB of partial spans from an interrupted "
            f"download; {removed} stale partial span(s) removed",
            file=sys.stderr,
        )
    scratch.mkdir(exist_ok=True)
    return scratch


def member_extents(archive: zipfile.ZipFile, infos) -> list[tuple[int, int, str]]:
    """(start, end, name) of each member: its local header up to the next member's header
    (or the central directory), so the span also holds any data descriptor."""
    starts = sorted({info.header_offset for info in archive.infolist()} | {archive.start_dir})
    extents = []
    for info in infos:
        following = starts[bisect.bisect_right(starts, info.header_offset)]
        extents.append((info.header_offset, following, info.filename))
    return sorted(extents)


def _positive_gaps(extents) -> list[tuple[int, int]]:
    """(gap bytes, index) between extent i and i+1, for the gaps that are not empty."""
    return [
        (nxt[0] - cur[1], i)
        for i, (cur, nxt) in enumerate(zip(extents, extents[1:], strict=False))
        if nxt[0] > cur[1]
    ]


def plan_spans(extents: list[tuple[int, int, str]], max_spans: int) -> list[Span]:
    """Merge sorted extents into at most `max_spans` spans, closing the smallest gaps first.

    Touching extents always share a span. Closing the smallest gaps one at a time is the
    same as cutting only at the `max_spans - 1` largest gaps.
    """
    if not extents:
        return []
    if max_spans < 1:
        raise ValueError(f"max_spans is {max_spans}; it must be at least 1")
    gaps = _positive_gaps(extents)
    cuts = {i for _, i in sorted(gaps, key=lambda g: (-g[0], g[1]))[: max_spans - 1]}
    spans, first = [], 0
    for i in range(len(extents)):
        if i in cuts or i == len(extents) - 1:
            group = extents[first : i + 1]
            spans.append(Span(group[0][0], group[-1][1], tuple(name for *_, name in group)))
            first = i + 1
    return spans


def estimate_seconds(
    n_bytes: int, n_requests: int, bandwidth_bytes_per_s: float, requests_per_minute: float | None
) -> float:
    """Transfer time plus the wait the rate limit forces beyond its first minute's allowance."""
    seconds = n_bytes / bandwidth_bytes_per_s
    if requests_per_minute:
        seconds += max(0.0, n_requests - requests_per_minute) * 60.0 / requests_per_minute
    return seconds


def cheapest_span_count(
    extents, max_spans: int, bandwidth_bytes_per_s: float, requests_per_minute: float | None
) -> int:
    """The span count (1..max_spans) with the least estimated time: fewer spans mean fewer
    requests but more gap bytes."""
    gaps = sorted((g for g, _ in _positive_gaps(extents)), reverse=True)
    all_merged = extents[-1][1] - extents[0][0] if extents else 0
    best, best_seconds, saved = 1, float("inf"), 0
    for count in range(1, min(max_spans, len(gaps) + 1) + 1):
        if count > 1:
            saved += gaps[count - 2]  # one more cut, at the next largest gap
        seconds = estimate_seconds(
            all_merged - saved, count, bandwidth_bytes_per_s, requests_per_minute
        )
        if seconds < best_seconds:
            best, best_seconds = count, seconds
    return best


def check_method(method: str, ranges_honoured: bool = True) -> None:
    """Raise when `method` is unknown, or is "ranges" on a server that ignores Range."""
    if method not in METHODS:
        raise ValueError(f"dataset.download.method is {method!r}; use auto, ranges or whole")
    if method == "ranges" and not ranges_honoured:
        raise RangesNotHonoured(
            "dataset.download.method is ranges but the server ignores Range requests; "
            "set it to auto or whole"
        )


def choose_method(
    archive_size: int,
    span_bytes: int,
    n_spans: int,
    bandwidth_bytes_per_s: float,
    requests_per_minute: float | None,
    method: str = "auto",
    *,
    ranges_honoured: bool = True,
) -> str:
    """Pick "ranges" or "whole": `method` when forced, else whichever is estimated faster.

    Ranges need a server that honoured Range (a 206 to the probe); forcing them on one
    that did not is an error.
    """
    check_method(method, ranges_honoured)
    if method != "auto":
        return method
    if not ranges_honoured:
        return "whole"
    ranges = estimate_seconds(span_bytes, n_spans, bandwidth_bytes_per_s, requests_per_minute)
    whole = estimate_seconds(archive_size, 1, bandwidth_bytes_per_s, requests_per_minute)
    return "ranges" if ranges < whole else "whole"


@dataclass
class FetchReport:
    """What a ranged fetch did."""

    fetched: list[str]
    present: list[str]
    spans: int
    span_bytes: int
    archive_bytes: int
    stats: TransferStats


def fetch_members(
    url: str,
    names: list[str],
    dest_dir,
    *,
    max_spans: int = 500,
    parallel: int = 4,
    requests_per_minute: float | None = None,
    policy: RetryPolicy | None = None,
    session: requests.Session | None = None,
    progress: bool = True,
) -> FetchReport:
    """Fetch members `names` of the zip at `url` into `dest_dir/<name>` with Range requests.

    Members already there (same size and CRC) are not fetched again.
    """
    stats = TransferStats()
    limiter = RateLimiter(requests_per_minute)
    with RemoteZip(url, session=session, policy=policy, stats=stats, limiter=limiter) as remote:
        plan = remote.plan(names, dest_dir, max_spans)
        fetched = remote.fetch(plan.spans, dest_dir, parallel=parallel, progress=progress)
        return FetchReport(
            fetched, plan.present, len(plan.spans), plan.span_bytes, remote.size, stats
        )
