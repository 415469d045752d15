"""Helpers for the browser tests (headless system Chromium through Playwright, the app served on a
free local port by ``scripts/screenshots.py``): answering questions by clicking, moving between
pages, waiting for Streamlit to finish a run, and the request log."""

from __future__ import annotations

import importlib.util
import ipaddress
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")


def screens():
    """scripts/screenshots.py as a module: serve_app, launch_chromium, wait_idle."""
    spec = importlib.util.spec_from_file_location("screenshots", ROOT / "scripts" / "screenshots.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def wait_idle(page, timeout: float = 30_000) -> None:
    screens_mod().wait_idle(page, timeout)


_SCREENS = None


def screens_mod():
    global _SCREENS
    if _SCREENS is None:
        _SCREENS = screens()
    return _SCREENS


def answer(page, kb, qid: str, value: str, before: dict[str, str] | None = None) -> None:
    """Choose ``value`` for question ``qid`` and press Next. ``before``: the answers given so far, so that
    the question is looked for as the engine words it (the group wording once several people share it)."""
    from rules.consult import consult

    q = kb.question(qid)
    if before is not None:
        nq = consult(before).next_question
        if nq is not None and nq.id == qid:
            q = nq
    page.get_by_role("heading", name=q.text, exact=True).wait_for()
    wait_idle(page)  # a click during a script run can be lost when the run replaces the form
    group = page.get_by_role("radiogroup", name=q.text, exact=True)
    group.get_by_text(q.label_of(value), exact=True).click()
    page.locator('[data-testid="stForm"]', has=group).get_by_role("button", name="Next").click()


def answer_all(page, kb, answers: dict[str, str], order) -> None:
    before: dict[str, str] = {}
    for qid in order:
        answer(page, kb, qid, answers[qid], before)
        before[qid] = answers[qid]


def go_to(page, title: str) -> None:
    """Open a page from the sidebar navigation, as a user does."""
    page.locator('[data-testid="stSidebarNav"] a', has_text=title).first.click()
    wait_idle(page)


def is_local(url: str) -> bool:
    """True for an address on this machine (loopback) or one that needs no network (data:, blob:)."""
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about", "chrome", "chrome-extension"):
        return True
    host = (parts.hostname or "").strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class RequestLog:
    """Every request the browser makes (pages, scripts, fonts, images, websockets, service workers)."""

    def __init__(self, context) -> None:
        self.urls: list[str] = []
        context.on("request", lambda r: self.urls.append(r.url))
        context.on("page", self._watch)
        for p in context.pages:
            self._watch(p)

    def _watch(self, page) -> None:
        page.on("websocket", lambda ws: self.urls.append(ws.url))

    def remote(self) -> list[str]:
        return sorted({u for u in self.urls if not is_local(u)})
