"""Helpers for the browser tests (headless system Chromium through Playwright, the app served on a
free local port by ``scripts/screenshots.py``): answering questions by clicking, moving between
pages, waiting for Streamlit to finish a run, and the request log."""

from __future__ import annotations

import contextlib
import importlib.util
import ipaddress
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")


def screens():
    """scripts/screenshots.py as a module: serve_app, launch_chromium."""
    spec = importlib.util.spec_from_file_location("screenshots", ROOT / "scripts" / "screenshots.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# A wait is on the app's own state, never a fixed time: each one costs nothing when the app is quick, so
# the budget is generous for a machine that is busy with other work.
TIMEOUT = 60_000

# What the page's websocket says about script runs, read from the messages themselves (installed in
# every context by :func:`prepare`, before the app opens its websocket). The page alone cannot tell: a
# quick run can start and end between two renders, so "running" is never drawn, and until the server
# answers a click the page still looks idle. Counted here: the rerun requests the page sent, the runs
# the server finished (and how: a run stopped early for a rerun is followed by another), whether the
# server says a run is on, and the animation frames since the last message (so that the app has drawn it;
# counted up to two, then no more frames are asked for until the next message).
_WS_WATCH = r"""(() => {
  if (window.__triage) return;
  const t = window.__triage = {sent: 0, finished: 0, early: false, running: false, frame: 0, msgFrame: 0};
  // frames are counted only until two have passed since the last message: asking for the next frame
  // from every frame ran this callback sixty times a second on every page for as long as it was open
  let ticking = false;
  const tick = () => { t.frame += 1; ticking = t.frame - t.msgFrame < 2; if (ticking) requestAnimationFrame(tick); };
  const wake = () => { if (!ticking) { ticking = true; requestAnimationFrame(tick); } };
  // the top-level fields of a protobuf message: [[field number, wire type, value or [start, end]], ...]
  const fields = (b, start, end) => {
    const out = [];
    let i = start;
    const varint = () => { let v = 0, m = 1, c; do { c = b[i++]; v += (c & 127) * m; m *= 128; } while (c & 128); return v; };
    while (i < end) {
      const tag = varint(), no = Math.floor(tag / 8), wire = tag & 7;
      if (wire === 0) out.push([no, 0, varint()]);
      else if (wire === 1) { out.push([no, 1, null]); i += 8; }
      else if (wire === 5) { out.push([no, 5, null]); i += 4; }
      else if (wire === 2) { const n = varint(); out.push([no, 2, [i, i + n]]); i += n; }
      else break;
    }
    return out;
  };
  const bytes = d => d instanceof ArrayBuffer ? new Uint8Array(d) : ArrayBuffer.isView(d)
    ? new Uint8Array(d.buffer, d.byteOffset, d.byteLength) : null;
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", e => {
        const b = bytes(e.data);
        if (!b) return;
        try {
          for (const [no, , v] of fields(b, 0, b.length)) {
            if (no === 6) { t.finished += 1; t.early = v === 2; }  // ForwardMsg.script_finished
            if (no === 9) {  // ForwardMsg.session_status_changed: SessionStatus.script_is_running
              t.running = fields(b, v[0], v[1]).some(([n, , x]) => n === 2 && x === 1);
            }
          }
        } catch (err) { /* not a ForwardMsg */ }
        t.msgFrame = t.frame;
        wake();
      });
    }
    send(data) {
      const b = bytes(data);
      try { if (b && fields(b, 0, b.length).some(([no]) => no === 11)) t.sent += 1; } catch (err) { /* not a BackMsg */ }
      return super.send(data);
    }
  };
})()"""

# True once the app is connected, the server has finished a run (not one stopped early for another) and
# says none is on, two frames have passed since its last message, and nothing on the page is left over
# from a previous run (Streamlit marks those elements stale while a run is on) or still a placeholder.
_IDLE = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  const t = window.__triage;
  return !!app && app.getAttribute('data-test-connection-state') === 'CONNECTED'
    && app.getAttribute('data-test-script-state') === 'notRunning'
    && (!t || (t.finished > 0 && !t.running && !t.early && t.frame - t.msgFrame >= 2))
    && !document.querySelector('[data-testid="stStatusWidgetRunningIcon"], [data-testid="stSkeleton"], '
                               + '[data-stale="true"]');
}"""


def prepare(context) -> None:
    """Watch the app's websocket in every page of ``context`` (see :func:`rerun`)."""
    context.add_init_script(script=_WS_WATCH)


def wait_idle(page, timeout: float = TIMEOUT) -> None:
    """Wait until Streamlit has finished the current script run, and the page shows it. Right after an
    action that starts a run, use :func:`rerun` instead: until the server answers, the page looks idle."""
    page.wait_for_function(_IDLE, timeout=timeout)


def rerun(page, action, timeout: float = TIMEOUT) -> None:
    """Do ``action`` (a click, a key press, an upload) that makes the app run its script, and return
    once the page has sent the rerun, the server has finished it and the page has drawn the result: the
    next step sees the page the run drew, never the one before it."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    before = page.evaluate("() => window.__triage && {sent: window.__triage.sent, finished: window.__triage.finished}")
    if before is None:
        raise AssertionError("the page's websocket is not watched: make its context with new_page() or prepare()")
    action()
    try:
        page.wait_for_function("n => window.__triage.sent > n", arg=before["sent"], timeout=timeout)
    except PlaywrightTimeout as exc:
        raise AssertionError(f"the action asked for no script run within {timeout / 1000:.0f} s; "
                             f"the page: {describe(page)}") from exc
    try:
        page.wait_for_function("n => window.__triage.finished > n", arg=before["finished"], timeout=timeout)
    except PlaywrightTimeout as exc:
        raise AssertionError(f"the run the action asked for did not finish within {timeout / 1000:.0f} s; "
                             f"the page: {describe(page)}") from exc
    wait_idle(page, timeout)


def click(page, locator, timeout: float = TIMEOUT) -> None:
    """Click ``locator`` once the app is idle, and wait for the run the click starts to finish."""
    wait_idle(page, timeout)
    rerun(page, lambda: locator.click(timeout=timeout), timeout)


def new_page(browser, **context_args):
    """A fresh context (a new app session), its websocket watched, and a page with the generous
    default timeout."""
    ctx = browser.new_context(**context_args)
    prepare(ctx)
    page = ctx.new_page()
    page.set_default_timeout(TIMEOUT)
    return page


class Tabs:
    """Browser pages kept open for a module's tests and lent again, each time as good as new: on
    ``about:blank``, with no cookies, the pool's viewport and timeout, and no other page open in its
    context. The next ``goto`` starts a new app session (Streamlit starts one per page load), as a fresh
    context does; what is kept is the browser's cache of Streamlit's scripts. A fresh context compiles
    them again: about 1.5 s of CPU and wall time for each one, where a kept page loads the app in 0.3 s
    (measured on a minimal Streamlit page, 2026-12-07).

    :meth:`take` lends a page (a kept one, or a new context's); :meth:`give_back` resets every page
    lent since the last call; a page whose context a test closed is dropped."""

    def __init__(self, browser, **context_args) -> None:
        self.browser = browser
        self.context_args = context_args
        self.free: list = []
        self.lent: list = []

    def take(self):
        page = self.free.pop() if self.free else new_page(self.browser, **self.context_args)
        page.set_default_timeout(TIMEOUT)  # again: a test may have changed it
        self.lent.append(page)
        return page

    def give_back(self) -> None:
        viewport = self.context_args.get("viewport")
        for page in reversed(self.lent):
            if page.is_closed():
                continue
            try:
                for other in page.context.pages:
                    if other is not page:
                        other.close()
                page.goto("about:blank")  # the app page closes its websocket: its session ends
                page.context.clear_cookies()
                if viewport:
                    page.set_viewport_size(viewport)
                self.free.append(page)
            except Exception:  # noqa: BLE001 - a page that cannot be reset is not lent again
                with contextlib.suppress(Exception):
                    page.context.close()
        self.lent = []

    def close(self) -> None:
        for page in self.free + self.lent:
            with contextlib.suppress(Exception):
                page.context.close()
        self.free, self.lent = [], []


def describe(page) -> str:
    """The app's run state and the start of what it shows, for a message when a wait fails."""
    state = page.evaluate("""() => {
      const app = document.querySelector('[data-testid="stApp"]');
      return app ? [app.getAttribute('data-test-script-state'), app.getAttribute('data-test-connection-state'),
                    document.querySelectorAll('[data-stale="true"]').length, window.__triage || null] : null;
    }""")
    main = page.locator('[data-testid="stMain"]')
    text = " ".join(main.inner_text().split())[:400] if main.count() else ""
    return f"run state, connection, stale elements, websocket: {state}; shown: {text!r}"


_SCREENS = None


def screens_mod():
    global _SCREENS
    if _SCREENS is None:
        _SCREENS = screens()
    return _SCREENS


def open_result(page, app_url: str, answers: dict[str, str]) -> None:
    """The result of ``answers``, given in the page address (as a shared link gives them)."""
    page.goto(app_url + "/?" + urlencode(answers))
    page.locator('[data-testid="stAlert"]', has_text="Recommended:").first.wait_for()
    wait_idle(page)


def answer(page, kb, qid: str, value: str, before: dict[str, str] | None = None) -> None:
    """Choose ``value`` for question ``qid`` and press Next. ``before``: the answers given so far, so that
    the question is looked for as the engine words it (the group wording once several people share it)."""
    from playwright.sync_api import expect

    from rules.consult import consult

    q = kb.question(qid)
    if before is not None:
        nq = consult(before).next_question
        if nq is not None and nq.id == qid:
            q = nq
    page.get_by_role("heading", name=q.text, exact=True).wait_for()
    wait_idle(page)  # a click during a script run can be lost when the run replaces the form
    group = page.get_by_role("radiogroup", name=q.text, exact=True)
    label = q.label_of(value)
    group.get_by_text(label, exact=True).click()
    expect(group.get_by_role("radio", name=label, exact=True)).to_be_checked(timeout=TIMEOUT)  # a form: no run yet
    rerun(page, page.locator('[data-testid="stForm"]', has=group).get_by_role("button", name="Next").click)


def answer_all(page, kb, answers: dict[str, str], order) -> None:
    before: dict[str, str] = {}
    for qid in order:
        answer(page, kb, qid, answers[qid], before)
        before[qid] = answers[qid]


def go_to(page, title: str) -> None:
    """Open a page from the sidebar navigation, as a user does: the link whose label is ``title`` (the
    whole label: "Cases" is not "Worked cases")."""
    link = page.locator('[data-testid="stSidebarNav"] a').filter(has=page.get_by_text(title, exact=True))
    click(page, link)
    href = link.evaluate("a => a.href")
    assert page.url.split("?")[0] == href.split("?")[0], f"{title}: the page shown is {page.url}, not {href}"


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
