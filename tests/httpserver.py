"""A real HTTP file server on 127.0.0.1 for download tests: Range, faults, traffic counts.

Also builds the FSDKaggle2018-shaped zip archives it serves.
"""

from __future__ import annotations

import functools
import hashlib
import io
import re
import sys
import threading
import time
import zipfile
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import soundfile as sf

WRITE_BYTES = 1 << 16


@dataclass
class Served:
    """One request the server answered."""

    path: str
    range: str | None
    status: int
    bytes_sent: int = 0


class FileServer:
    """Serves `files` (name -> bytes or a file Path) at http://127.0.0.1:<port>/<name>.

    Every request is logged with its Range header, status and body bytes sent. Switches,
    which tests may flip between requests:
      honour_range   answer Range with 206 (else: always 200 with the whole body)
      drop_after     close the connection after this many body bytes, once
      refuse         answer the next `refuse` requests with `refuse_status` (429 by
                     default) and `Retry-After: retry_after`
      bytes_per_second  pace every body (per connection)
      max_answer     cap a 206 answer at this many bytes (as some CDNs do)
      redirects      name -> name answered with a 302
    A query string (`?download=1`) is ignored, as Zenodo's file URLs carry one.
    """

    def __init__(self, files: dict[str, bytes | Path] | None = None, *, honour_range=True):
        self.files = dict(files or {})
        self.honour_range = honour_range
        self.drop_after: int | None = None
        self.refuse = 0
        self.refuse_status = 429
        self.retry_after: str | None = "1"
        self.bytes_per_second: float | None = None
        self.max_answer: int | None = None
        self.redirects: dict[str, str] = {}
        self.log: list[Served] = []
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._answering = 0  # requests whose answer is being written right now
        self._httpd: ThreadingHTTPServer | None = None

    # -- lifecycle -------------------------------------------------------------------
    def __enter__(self) -> FileServer:
        handler = type("Handler", (_Handler,), {"owner": self})
        self._httpd = _Server(("127.0.0.1", 0), handler)
        # poll often: shutdown() waits up to one poll interval (0.5 s by default)
        serve = functools.partial(self._httpd.serve_forever, poll_interval=0.01)
        threading.Thread(target=serve, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def url(self, name: str) -> str:
        return f"{self.base_url}/{name}"

    # -- traffic ---------------------------------------------------------------------
    def _settled(self) -> None:
        """Wait (up to 5 s) until no answer is being written. A client can have read an
        answer's last byte before the server thread counted it; counting after that
        race would charge those bytes to whatever the test does next."""
        with self._idle:
            self._idle.wait_for(lambda: self._answering == 0, timeout=5)

    @property
    def requests(self) -> int:
        self._settled()
        return len(self.log)

    @property
    def bytes_sent(self) -> int:
        self._settled()
        return sum(entry.bytes_sent for entry in self.log)

    def reset(self) -> None:
        with self._lock:
            self.log = []

    # -- answering -------------------------------------------------------------------
    def _size(self, body: bytes | Path) -> int:
        return body.stat().st_size if isinstance(body, Path) else len(body)

    def answer(self, handler: BaseHTTPRequestHandler) -> None:
        with self._lock:
            self._answering += 1
        try:
            self._answer(handler)
        finally:
            with self._idle:
                self._answering -= 1
                self._idle.notify_all()

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        name = urlsplit(handler.path).path.lstrip("/")
        entry = Served(name, handler.headers.get("Range"), 0)
        with self._lock:
            self.log.append(entry)
            refused = self.refuse > 0
            self.refuse -= refused
        if refused:
            extra = {"Retry-After": self.retry_after} if self.retry_after else {}
            return self._empty(handler, entry, self.refuse_status, extra)
        if name in self.redirects:
            location = self.url(self.redirects[name])
            return self._empty(handler, entry, 302, {"Location": location})
        body = self.files.get(name)
        if body is None:
            return self._empty(handler, entry, 404)
        size = self._size(body)
        first, last, status = 0, size - 1, 200
        range_header = handler.headers.get("Range")
        if self.honour_range and range_header:
            parsed = _parse_range(range_header, size)
            if parsed is None:
                return self._empty(handler, entry, 416, {"Content-Range": f"bytes */{size}"})
            first, last, status = *parsed, 206
            if self.max_answer:
                last = min(last, first + self.max_answer - 1)
        entry.status = status
        handler.send_response(status)
        handler.send_header("Content-Type", "application/zip")
        handler.send_header("Content-Length", str(last - first + 1))
        if self.honour_range:
            handler.send_header("Accept-Ranges", "bytes")
        if status == 206:
            handler.send_header("Content-Range", f"bytes {first}-{last}/{size}")
        handler.end_headers()
        self._send_body(handler, entry, body, first, last + 1)

    def _send_body(self, handler, entry: Served, body, start: int, stop: int) -> None:
        with self._lock:
            limit, self.drop_after = self.drop_after, None
        if limit is not None:
            stop = min(stop, start + limit)
            handler.close_connection = True
        started = time.monotonic()
        handle = open(body, "rb") if isinstance(body, Path) else None
        try:
            pos = start
            while pos < stop:
                n = min(WRITE_BYTES, stop - pos)
                if handle is not None:
                    handle.seek(pos)
                    chunk = handle.read(n)
                else:
                    chunk = body[pos : pos + n]
                handler.wfile.write(chunk)
                pos += n
                entry.bytes_sent += n
                if self.bytes_per_second:
                    ahead = entry.bytes_sent / self.bytes_per_second - (time.monotonic() - started)
                    if ahead > 0:
                        time.sleep(ahead)
            handler.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            handler.close_connection = True  # the client hung up (e.g. after a 200 probe)
        finally:
            if handle is not None:
                handle.close()

    def _empty(self, handler, entry: Served, status: int, headers: dict | None = None) -> None:
        entry.status = status
        handler.send_response(status)
        for key, value in (headers or {}).items():
            handler.send_header(key, value)
        handler.send_header("Content-Length", "0")
        handler.end_headers()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        # A client closing a connection it no longer wants (after a 200 probe, or a
        # kept-alive one at the end of a test) is routine, not a failure to print.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: spans reuse connections, as with Zenodo
    owner: FileServer
    timeout = 10  # an idle kept-alive connection ends instead of holding its thread

    def do_GET(self) -> None:
        self.owner.answer(self)

    def log_message(self, format, *args) -> None:
        pass


def _parse_range(value: str, size: int) -> tuple[int, int] | None:
    """(first, last) of a single `bytes=` range, or None when it is not satisfiable."""
    match = re.fullmatch(r"bytes=(\d*)-(\d*)", value.strip())
    if not match or not (match[1] or match[2]):
        return None
    if not match[1]:  # a suffix: the last n bytes
        return max(0, size - int(match[2])), size - 1
    first = int(match[1])
    last = min(int(match[2]), size - 1) if match[2] else size - 1
    return (first, last) if first < size and first <= last else None


# -- archives ----------------------------------------------------------------------------
def wav_bytes(seconds: float, sample_rate: int = 8000, seed: int = 0) -> bytes:
    """A small mono 16-bit WAV of noise."""
    rng = np.random.default_rng(seed)
    wave = (rng.standard_normal(int(seconds * sample_rate)) * 0.1).astype(np.float32)
    buffer = io.BytesIO()
    sf.write(buffer, wave, sample_rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def build_zip(
    path: str | Path, members: dict[str, bytes], compression: int = zipfile.ZIP_STORED
) -> str:
    """Write `members` (name -> bytes, in order) to a zip at `path`; returns its md5."""
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return hashlib.md5(Path(path).read_bytes()).hexdigest()


def fsdkaggle_rows(n_labels: int, per_label: int, seed: int = 0) -> list[tuple[str, str]]:
    """(fname, label) rows like the real metadata: random hex names, sorted by fname."""
    rng = np.random.default_rng(seed)
    rows = []
    for label in range(n_labels):
        for _ in range(per_label):
            rows.append((f"{rng.integers(16**8):08x}.wav", f"Label{label:02d}"))
    return sorted(rows)
