"""The documentation builds, strictly, and reads without the network.

``mkdocs build --strict`` runs with the project's own interpreter into a temporary folder: any warning
(a broken link or anchor, a page left out of the navigation, an API object mkdocstrings cannot find, a
``triage`` command or action missing from the command-line reference) fails it. Then every built page is
read: nothing it loads — a script, a style sheet, a font, an image, a frame — may come from an address
outside the site, and no style sheet of the site may pull one in. CI builds the docs through this test.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REMOTE = re.compile(r"^\s*(?:https?:)?//", re.IGNORECASE)
CSS_URL = re.compile(r"""(?:url\(\s*['"]?|@import\s+['"])((?:https?:)?//[^'")\s]+)""", re.IGNORECASE)


class Loads(HTMLParser):
    """Every address a page makes the browser fetch (not the links a reader may follow)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "link":  # style sheets, icons, preconnect, preload, manifest …
            self.urls.append(a.get("href", ""))
        if tag in ("script", "img", "iframe", "source", "audio", "video", "embed", "track", "input"):
            self.urls.append(a.get("src", ""))
        if tag == "object":
            self.urls.append(a.get("data", ""))
        for v in (a.get("srcset", ""), a.get("imagesrcset", "")):
            self.urls += [part.split()[0] for part in v.split(",") if part.strip()]
        self.urls += CSS_URL.findall(a.get("style", ""))

    def handle_data(self, data: str) -> None:
        self.urls += CSS_URL.findall(data)  # inline <style>


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    run = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(ROOT / "mkdocs.yml"),
         "--site-dir", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 0, f"mkdocs build --strict failed:\n{run.stderr[-6000:]}"
    return out


def test_the_docs_build_strictly_with_every_page(site):
    pages = {p.relative_to(site).as_posix() for p in site.rglob("*.html")}
    for page in ("index.html", "team-leader.html", "casework.html", "batch.html", "student.html",
                 "administrator.html", "cli.html", "api/rules.html", "api/batch.html", "api/store.html",
                 "rule-base.html", "reliability.html", "benchmarks.html", "tests.html", "blind-read.html",
                 "changelog.html"):
        assert page in pages, page
    # the reference is the program's own: the API pages and the CLI help were really rendered
    assert 'id="rules.consult.consult"' in (site / "api/rules.html").read_text(encoding="utf-8")
    assert 'id="casework.batch.triage_frame"' in (site / "api/batch.html").read_text(encoding="utf-8")
    cli = (site / "cli.html").read_text(encoding="utf-8")
    assert "usage: triage audit" in cli and "usage: triage cases purge" in cli


def test_no_page_loads_anything_from_outside_the_site(site):
    remote = []
    for page in site.rglob("*.html"):
        parser = Loads()
        parser.feed(page.read_text(encoding="utf-8"))
        remote += [f"{page.relative_to(site)}: {u}" for u in parser.urls if REMOTE.match(u)]
    for css in site.rglob("*.css"):
        remote += [f"{css.relative_to(site)}: {u}" for u in CSS_URL.findall(css.read_text(encoding="utf-8"))]
    assert remote == [], "\n".join(sorted(set(remote))[:40])


def test_the_check_finds_a_remote_script_font_or_style():
    """The check above can fail: it sees each kind of remote load it is meant to refuse."""
    parser = Loads()
    parser.feed('<link rel="stylesheet" href="https://fonts.googleapis.com/css?family=Roboto">'
                '<script src="//unpkg.com/x.js"></script><img srcset="a.png 1x, https://cdn.test/b.png 2x">'
                '<style>@import "https://cdn.test/s.css"; p { background: url(https://cdn.test/i.png) }</style>'
                '<a href="https://example.org/">a link is not a load</a><script src="assets/local.js"></script>')
    assert [u for u in parser.urls if REMOTE.match(u)] == [
        "https://fonts.googleapis.com/css?family=Roboto", "//unpkg.com/x.js", "https://cdn.test/b.png",
        "https://cdn.test/s.css", "https://cdn.test/i.png"]
