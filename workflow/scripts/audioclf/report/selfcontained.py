"""Keep the page offline: no fetchable reference, and no URL text that looks like one."""

from __future__ import annotations

import re
from html.parser import HTMLParser

URL_SCHEME = re.compile(r"\b(https?):(?=//)", re.IGNORECASE)
FETCHING_ATTRIBUTES = {"src", "href", "srcset", "xlink:href", "action", "poster", "data"}
CSS_URL = re.compile(r"url\(\s*['\"]?(?!data:|#)", re.IGNORECASE)


def defang_urls(html: str) -> str:
    """Write the colon of 'http://' in text (e.g. a download URL in the config) as '&#58;'.

    The browser shows and copies the same URL, but the file holds no 'http://' that a
    scanner or a careless edit could take for a resource to fetch.
    """
    return URL_SCHEME.sub(r"\1&#58;", html)


class _ReferenceFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "iframe", "object", "embed", "link", "base"):
            self.problems.append(f"<{tag}> element")
        for name, value in attrs:
            value = (value or "").strip()
            if name in FETCHING_ATTRIBUTES and not value.startswith(("data:", "#")):
                self.problems.append(f"<{tag} {name}={value[:60]!r}>")
            if name == "style" and CSS_URL.search(value):
                self.problems.append(f"<{tag} style> with url()")

    def handle_data(self, data):
        if self.lasttag == "style" and CSS_URL.search(data):
            self.problems.append("url() in <style>")


def external_references(html: str) -> list[str]:
    """Everything in `html` that a browser would fetch from outside the file (should be [])."""
    finder = _ReferenceFinder()
    finder.feed(html)
    finder.close()
    if URL_SCHEME.search(html):
        finder.problems.append("an http(s):// URL in the text")
    return finder.problems
