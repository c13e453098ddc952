"""Comments, docstrings and strings in the package state reasons, never the project's
history: no issue numbers, nothing "before issue N" (a reader has no tracker at hand)."""

import re

from conftest import REPO

PACKAGE = REPO / "workflow" / "scripts" / "audioclf"
HISTORY = re.compile(r"\bissue\s*#?\d+|\bbefore issue\b", re.IGNORECASE)


def test_nothing_in_the_package_refers_to_an_issue():
    found = [
        f"{path.relative_to(REPO)}:{number}: {line.strip()}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if HISTORY.search(line)
    ]
    assert found == []
