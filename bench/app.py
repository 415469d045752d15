"""Benchmark of the Streamlit app: server time per answer, and cold start to the first question.

    uv run python bench/app.py [--runs 3] [--cases call-centre,merger-handoffs,new-regulation] [--no-browser]

1. **Per step.** Drives the Diagnose page with Streamlit's AppTest through worked cases, one answer
   at a time, and records the server time of each script run from submitting an answer until the
   next question (or the result) is rendered: ``app.py`` logs it at DEBUG level. Prints the median
   and 90th percentile over all steps of ``--runs`` runs, the AppTest wall time around it, and two
   baselines measured in the same process: ``consult()`` alone on the same answers, and a minimal
   page (a radio and a button) run through AppTest (the framework floor).
2. **Cold start.** Starts ``streamlit run app.py`` as a fresh process, polls ``/_stcore/health``, then
   loads the page in headless system Chromium until the first question is visible (or, with
   ``--no-browser`` / no Chromium, runs the first page in a fresh process through AppTest). Median of
   ``--runs`` starts, beside a minimal Streamlit page started and loaded the same way ("app / baseline").
3. **Clicks in the browser.** Previous and Next on the Diagnose page, from the click until the other
   question is shown, beside a click on Next in a minimal Streamlit page that shows another heading.

Speed is reported here, never asserted in a test.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

APP = str(ROOT / "app.py")
RENDER = re.compile(r"rendered page=(?P<page>.*) ms=(?P<ms>[\d.]+)")

MINIMAL_PAGE = """
import streamlit as st
with st.form("f", border=False):
    st.radio("Question", ["yes", "no", "dont_know"], index=None, key="q")
    st.form_submit_button("Next", key="next")
st.write(st.session_state.get("q"))
"""


class RenderTimes(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.ms: list[float] = []

    def emit(self, record: logging.LogRecord) -> None:
        m = RENDER.search(record.getMessage())
        if m:
            self.ms.append(float(m.group("ms")))


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def per_step(case_ids: list[str], runs: int) -> dict:
    from streamlit.testing.v1 import AppTest

    from knowledge.loader import load_knowledge
    from rules.consult import consult

    kb = load_knowledge()
    cases = {c.id: c for c in kb.cases}
    handler = RenderTimes()
    log = logging.getLogger("triage.app")
    log.addHandler(handler)
    log.propagate = False  # keep the DEBUG records out of the console
    render: list[float] = []
    result_render: list[float] = []
    wall: list[float] = []
    consult_ms: list[float] = []
    for _ in range(runs):
        for cid in case_ids:
            case = cases[cid]
            at = AppTest.from_file(APP, default_timeout=60)
            at.run()
            log.setLevel(logging.DEBUG)
            handler.ms.clear()
            given: dict[str, str] = {}
            while True:
                keys = [r.key for r in at.radio if r.key and r.key.startswith("q_")]
                if not keys:
                    break
                qid = keys[0][2:]
                value = case.answers.get(qid, "dont_know")
                at.radio(key=keys[0]).set_value(value)
                t = time.perf_counter()
                at.button(key="next").click().run()
                wall.append((time.perf_counter() - t) * 1000)
                given[qid] = value
                t = time.perf_counter()
                consult(given)
                consult_ms.append((time.perf_counter() - t) * 1000)
            # the last step renders the result page; report it apart from the question steps
            render.extend(handler.ms[:-1])
            result_render.extend(handler.ms[-1:])
            log.setLevel(logging.INFO)

    # the framework floor: a radio and a button in a form, through AppTest, in this process
    floor_render: list[float] = []
    at = AppTest.from_string(MINIMAL_PAGE, default_timeout=60)
    at.run()
    for i in range(max(20, len(render) // 2)):
        at.radio(key="q").set_value(["yes", "no"][i % 2])
        t = time.perf_counter()
        at.button(key="next").click().run()
        floor_render.append((time.perf_counter() - t) * 1000)
    log.removeHandler(handler)
    return {
        "steps": len(render),
        "render_median": statistics.median(render),
        "render_p90": pct(render, 0.9),
        "result_median": statistics.median(result_render),
        "wall_median": statistics.median(wall),
        "consult_median": statistics.median(consult_ms),
        "floor_wall_median": statistics.median(floor_render),
    }


def _screens():
    spec = importlib.util.spec_from_file_location("screenshots", ROOT / "scripts" / "screenshots.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


MINIMAL_APP = """
import streamlit as st
st.title("Baseline")
with st.form("f", border=False):
    st.subheader("Can you say what the person should be doing?")
    st.radio("Question", ["yes", "no", "dont_know"], index=None, label_visibility="collapsed")
    st.form_submit_button("Next")
"""


def cold_start_browser(runs: int) -> dict[str, list[float]]:
    """Seconds from process start to healthy and to the first question visible in Chromium, for the
    app and, interleaved, for a minimal Streamlit page with a heading, a radio and a button."""
    import tempfile

    from playwright.sync_api import sync_playwright

    from knowledge.loader import load_knowledge

    screens = _screens()
    first = load_knowledge().questions[0].text
    out: dict[str, list[float]] = {"healthy": [], "first": [], "base_first": []}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        minimal = Path(tmp) / "minimal.py"
        minimal.write_text(MINIMAL_APP, encoding="utf-8")
        browser = screens.launch_chromium(p)
        try:
            for _ in range(runs):
                for key, script, heading in (("first", None, first),
                                             ("base_first", minimal, "Can you say what the person should be doing?")):
                    t0 = time.perf_counter()
                    with screens.serve_app(script=script) as (url, _proc, healthy):
                        ctx = browser.new_context()
                        page = ctx.new_page()
                        page.goto(url + "/")
                        page.get_by_role("heading", name=heading).wait_for(timeout=60_000)
                        out[key].append(time.perf_counter() - t0)
                        if script is None:
                            out["healthy"].append(healthy)
                        ctx.close()
        finally:
            browser.close()
    return out


MINIMAL_CLICK_APP = """
import streamlit as st
n = st.session_state.setdefault("n", 0)
st.title("Baseline")
with st.form("f", border=False):
    st.subheader(f"Question {n}")
    st.radio(f"Question {n}", ["yes", "no", "dont_know"], index=None, label_visibility="collapsed", key=f"q{n}")
    if st.form_submit_button("Next"):
        st.session_state["n"] = n + 1
        st.rerun()
"""


def clicks_browser(runs: int, case_id: str = "call-centre", steps: int = 5) -> dict[str, list[float]]:
    """Seconds from a click on Previous or Next until the other question is shown, in Chromium, on
    the Diagnose page (going back and forth between two questions of a worked case); and, the
    same way, a click on Next in a minimal Streamlit page (a heading, a radio and a button) that
    shows another heading (the framework's floor)."""
    import tempfile

    from playwright.sync_api import sync_playwright

    from knowledge.loader import load_knowledge
    from rules.consult import consult

    screens = _screens()
    kb = load_knowledge()
    case = next(c for c in kb.cases if c.id == case_id)
    order = list(consult(case.answers).answers)
    before, after = kb.question(order[steps - 1]), kb.question(order[steps])
    out: dict[str, list[float]] = {"previous": [], "next": [], "minimal": []}

    def shown(page, text: str) -> None:
        page.get_by_role("heading", name=text, exact=True).wait_for(timeout=60_000)

    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        minimal = Path(tmp) / "minimal_click.py"
        minimal.write_text(MINIMAL_CLICK_APP, encoding="utf-8")
        browser = screens.launch_chromium(p)
        try:
            with screens.serve_app() as (url, _proc, _):
                page = browser.new_page()
                page.goto(url + "/")
                for qid in order[:steps]:
                    q = kb.question(qid)
                    shown(page, q.text)
                    screens.wait_idle(page)
                    group = page.get_by_role("radiogroup", name=q.text, exact=True)
                    group.get_by_text(q.label_of(case.answers[qid]), exact=True).click()
                    page.locator('[data-testid="stForm"]', has=group).get_by_role("button", name="Next").click()
                shown(page, after.text)
                for _ in range(runs * 3):
                    screens.wait_idle(page)
                    t = time.perf_counter()
                    page.get_by_role("button", name="Previous").click()
                    shown(page, before.text)
                    out["previous"].append(time.perf_counter() - t)
                    screens.wait_idle(page)
                    group = page.get_by_role("radiogroup", name=before.text, exact=True)
                    t = time.perf_counter()
                    page.locator('[data-testid="stForm"]', has=group).get_by_role("button", name="Next").click()
                    shown(page, after.text)
                    out["next"].append(time.perf_counter() - t)
                page.close()
            with screens.serve_app(script=minimal) as (url, _proc, _):
                page = browser.new_page()
                page.goto(url + "/")
                shown(page, "Question 0")
                for i in range(runs * 3):
                    screens.wait_idle(page)
                    t = time.perf_counter()
                    page.get_by_role("button", name="Next").click()
                    shown(page, f"Question {i + 1}")
                    out["minimal"].append(time.perf_counter() - t)
                page.close()
        finally:
            browser.close()
    return out


COLD_APPTEST = """
import time; t = time.perf_counter()
from streamlit.testing.v1 import AppTest
at = AppTest.from_file({app!r}, default_timeout=60); at.run()
assert at.radio and not at.exception
print(time.perf_counter() - t)
"""


def cold_start_apptest(runs: int) -> list[float]:
    """Seconds for a fresh Python process to import everything and render the first question."""
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", COLD_APPTEST.format(app=APP)], check=True, cwd=ROOT,
                       capture_output=True)
        out.append(time.perf_counter() - t)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Benchmark of the Streamlit app.")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--cases", default="call-centre,merger-handoffs,new-regulation")
    ap.add_argument("--no-browser", action="store_true")
    args = ap.parse_args(argv)
    logging.getLogger("streamlit").setLevel(logging.ERROR)

    print(f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, load {os.getloadavg()[0]:.1f}")
    s = per_step(args.cases.split(","), args.runs)
    print(f"per answer (AppTest, {s['steps']} question steps, {args.runs} runs of {args.cases}):")
    print(f"  server time, answer submitted -> next question rendered: median {s['render_median']:.1f} ms,"
          f" p90 {s['render_p90']:.1f} ms (aim < 150 ms)")
    print(f"  the result page (last step): median {s['result_median']:.1f} ms")
    print(f"  AppTest wall time per step: median {s['wall_median']:.1f} ms")
    print(f"  baseline consult() alone: median {s['consult_median']:.2f} ms"
          f" -> page / consult = {s['render_median'] / s['consult_median']:.1f}x")
    print(f"  baseline minimal page (radio + button) AppTest wall: median {s['floor_wall_median']:.1f} ms"
          f" -> our wall / floor = {s['wall_median'] / s['floor_wall_median']:.1f}x")

    chromium = Path("/usr/bin/chromium")
    if not args.no_browser and chromium.exists():
        cs = cold_start_browser(args.runs)
        total, base = statistics.median(cs["first"]), statistics.median(cs["base_first"])
        print(f"cold start (streamlit process start -> first question visible in Chromium, {args.runs} runs):")
        print(f"  median {total:.2f} s (aim < 3 s); server healthy after {statistics.median(cs['healthy']):.2f} s")
        print(f"  baseline minimal Streamlit page, same way: median {base:.2f} s -> app / baseline = {total / base:.2f}x")
        ck = clicks_browser(args.runs)
        floor = statistics.median(ck["minimal"])
        print(f"a click in Chromium until the other question is shown ({len(ck['next'])} clicks each):")
        for name in ("previous", "next"):
            med = statistics.median(ck[name])
            print(f"  {name.capitalize()}: median {med * 1000:.0f} ms -> {name} / minimal page click = {med / floor:.2f}x")
        print(f"  baseline minimal Streamlit page, Next shows another heading: median {floor * 1000:.0f} ms")
    else:
        why = "--no-browser" if args.no_browser else f"{chromium} not found"
        print(f"cold start and clicks in the browser skipped ({why})")
    ca = cold_start_apptest(args.runs)
    print(f"cold start in a fresh process without a server (imports + first page through AppTest): "
          f"median {statistics.median(ca):.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
