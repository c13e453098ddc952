"""The report in a real browser: headless Chromium opens it from file://, offline, cleanly."""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from PIL import Image

from audioclf.report import FIGURE_NAMES
from report_inputs import FIVE_LABELS, build, make_fake_run

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (Debian: apt-get install chromium)"
)
# Console messages and failed loads as Chromium logs them with --enable-logging=stderr.
CONSOLE_PROBLEM = re.compile(r":CONSOLE|Uncaught|net::ERR_|Not allowed to load", re.IGNORECASE)
# Test-only probe, added to a copy of the page: did every figure decode?
IMAGE_PROBE = """<script>
window.addEventListener("load", () => {
  const images = Array.from(document.images);
  const decoded = images.filter((i) => i.complete && i.naturalWidth > 0).length;
  document.body.setAttribute("data-images", images.length + "/" + decoded);
});
</script>"""


def chromium(page: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
            "--disable-background-networking", "--disable-component-update", "--no-first-run",
            "--disable-sync", "--disable-quic", f"--user-data-dir={profile}",
            "--enable-logging=stderr", "--v=0", *extra, page.resolve().as_uri(),
        ],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip


class BodyAttributes(HTMLParser):
    def __init__(self):
        super().__init__()
        self.body: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        if tag == "body":
            self.body = dict(attrs)


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("browser")
    inputs = make_fake_run(root, FIVE_LABELS, {"train": 20, "valid": 5, "test": 12})
    build(root, inputs)
    return root / "results" / "report.html"


def test_report_screenshot_is_not_blank_and_console_is_clean(report, tmp_path):
    profile = tmp_path / "profile"
    profile.mkdir()
    shot = tmp_path / "report.png"
    result = chromium(report, profile, f"--screenshot={shot}", "--window-size=1280,2000")
    assert result.returncode == 0, result.stderr[-3000:]
    problems = [line for line in result.stderr.splitlines() if CONSOLE_PROBLEM.search(line)]
    assert not problems, problems
    with Image.open(shot) as image:
        rgb = image.convert("RGB")
        assert rgb.size == (1280, 2000)
        colours = rgb.getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 1
    non_white = sum(n for n, colour in colours if colour != (255, 255, 255))
    assert non_white > 0.02 * 1280 * 2000, f"only {non_white} non-white pixels"


def test_every_figure_decodes_in_the_browser(report, tmp_path):
    probe = tmp_path / "probe.html"
    probe.write_text(report.read_text(encoding="utf-8").replace("</body>", IMAGE_PROBE + "</body>"))
    profile = tmp_path / "profile"
    profile.mkdir()
    result = chromium(probe, profile, "--dump-dom", "--virtual-time-budget=10000")
    assert result.returncode == 0, result.stderr[-3000:]
    parser = BodyAttributes()
    parser.feed(result.stdout)
    # this run has no learnable filterbank, contrast or pretrained encoder: a sentence each
    n = len(FIGURE_NAMES) - 3
    assert report.read_text(encoding="utf-8").count('<figure id="fig-') == n
    assert parser.body.get("data-images") == f"{n}/{n}", result.stdout[:500]
