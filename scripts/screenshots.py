"""Screenshots of the main pages for the README, at laptop and phone widths.

    uv run python scripts/screenshots.py            # writes docs/screenshots/*.png

Starts the app on a free local port, drives the system Chromium (``/usr/bin/chromium``; install it
with ``apt-get install -y chromium``) through Playwright, and stops the app again. Nothing is
downloaded: Playwright's own browsers are not used. Also imported by ``tests/test_browser.py`` and
``bench/app.py`` for :func:`serve_app` and :func:`launch_chromium`.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LAPTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 60.0) -> float:
    """Poll ``url``/_stcore/health until it answers "ok"; return the seconds it took."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return time.perf_counter() - start
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.05)
    raise TimeoutError(f"the app did not answer on {url} within {timeout:.0f} s")


@contextlib.contextmanager
def serve_app(
    port: int | None = None,
    log_path: Path | None = None,
    script: Path | None = None,
    extra_args: list[str] | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[tuple[str, subprocess.Popen, float]]:
    """Run ``streamlit run app.py`` (or ``script``) on a free local port; yield (base url, process,
    seconds to healthy). ``extra_args`` go to ``streamlit run`` (e.g. ``--secrets.files``), ``env``
    is added to the environment. Only the process started here is stopped at the end.
    """
    port = port or free_port()
    script = script or ROOT / "app.py"
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(script),
        "--server.port", str(port), "--server.address", "127.0.0.1", "--server.headless", "true",
        "--browser.gatherUsageStats", "false", *(extra_args or []),
    ]
    out = open(log_path, "wb") if log_path else subprocess.DEVNULL  # noqa: SIM115 - closed below
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=script.parent, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, proc)
        yield url, proc, time.perf_counter() - started
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        if log_path:
            out.close()


def launch_chromium(playwright):
    """The system Chromium, headless, with no background traffic."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


def wait_idle(page, timeout: float = 20_000) -> None:
    """Wait until Streamlit has finished the current script run."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"] [data-testid=\"stStatusWidgetRunningIcon\"]')"
        " && !document.querySelector('[data-testid=\"stSkeleton\"]')",
        timeout=timeout,
    )
    # then two animation frames: the browser has drawn what the finished run sent (no fixed sleep)
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


def case_query(case_id: str = "call-centre") -> str:
    sys.path.insert(0, str(ROOT))
    from knowledge.loader import (
        load_knowledge,  # deferred: the project's packages after the sys.path line above; serving the app needs none
    )

    case = next(c for c in load_knowledge().cases if c.id == case_id)
    return urlencode(case.answers)


def shoot(out_dir: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright  # deferred: a dev dependency, only to take screenshots

    sys.path.insert(0, str(ROOT))
    from knowledge.loader import (
        load_knowledge,  # deferred: the project's packages after the sys.path line above; serving the app needs none
    )

    kb = load_knowledge()
    first = kb.questions[0].text
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with serve_app() as (url, _proc, _), sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            for size_name, viewport in (("laptop", LAPTOP), ("phone", PHONE)):
                ctx = browser.new_context(viewport=viewport, device_scale_factor=1)
                page = ctx.new_page()

                def snap(name: str, page=page, size_name=size_name) -> None:
                    path = out_dir / f"{name}-{size_name}.png"
                    page.screenshot(path=str(path))
                    written.append(path)

                page.goto(url + "/")
                page.get_by_role("heading", name=first).wait_for()
                wait_idle(page)
                snap("diagnose")

                page.goto(url + "/?" + case_query("call-centre"))
                page.get_by_text("Recommended: Work-system fix").first.wait_for()
                wait_idle(page)
                page.get_by_role("heading", name="Result").evaluate("e => e.scrollIntoView({block: 'start'})")
                page.wait_for_timeout(500)
                snap("result")

                page.goto(url + "/learn_interventions")
                page.get_by_role("heading", name="The six interventions compared").wait_for()
                wait_idle(page)
                snap("learn")

                # practice: an unseen case answered, its feedback shown in full
                page.goto(url + "/practice")
                page.get_by_role("heading", name="Case 1 of").wait_for()
                wait_idle(page)
                page.get_by_role("radiogroup", name="What fits this case?").get_by_text("Coaching", exact=True).click()
                wait_idle(page)
                page.get_by_role("button", name="Check my answer").click()
                page.get_by_text("The deciding fact.").wait_for()
                wait_idle(page)
                page.get_by_role("heading", name="Case 1 of").evaluate("e => e.scrollIntoView({block: 'start'})")
                page.wait_for_timeout(300)
                snap("practice")

                page.goto(url + "/rule_table")
                page.get_by_role("heading", name="The decision table").wait_for()
                wait_idle(page)
                snap("decision-table")

                if size_name == "phone":
                    # the rule map of a case on a phone: its path, then the path in words
                    page.goto(url + "/?" + case_query("call-centre"))
                    page.get_by_text("Recommended: Work-system fix").first.wait_for()
                    wait_idle(page)
                    page.locator('[data-testid="stExpandSidebarButton"]').first.click()
                    page.get_by_role("link", name="Rule map").click()
                    page.get_by_role("heading", name="The path in words").wait_for()
                    page.locator('[data-testid="stSidebarCollapseButton"] button').first.click()
                    page.locator('[data-testid="stGraphVizChart"] svg').wait_for(timeout=30_000)
                    wait_idle(page)
                    page.get_by_text("Only the path of the current case").scroll_into_view_if_needed()
                    page.wait_for_timeout(300)
                    snap("rule-map")

                if size_name == "laptop":
                    # the expert detail of the same result: rule trace, ids and arithmetic
                    page.goto(url + "/?" + case_query("call-centre"))
                    page.get_by_text("Recommended: Work-system fix").first.wait_for()
                    wait_idle(page)
                    page.get_by_text("Expert detail: rules, ids and arithmetic").click()
                    page.get_by_role("tab", name="How we got here").wait_for()
                    wait_idle(page)
                    page.get_by_role("tab", name="How we got here").scroll_into_view_if_needed()
                    page.wait_for_timeout(300)
                    snap("result-expert")

                    # the batch page on the worked cases: the chart and the results table
                    page.goto(url + "/batch")
                    page.get_by_role("button", name="Try it with the worked cases").click()
                    page.locator('[data-testid="stVegaLiteChart"]').first.wait_for(timeout=30_000)
                    wait_idle(page)
                    page.locator('[data-testid="stVegaLiteChart"]').first.scroll_into_view_if_needed()
                    page.wait_for_timeout(800)
                    snap("batch")

                    # the map of the current case: open the case by its link, then the map in the same session
                    page.goto(url + "/?" + case_query("call-centre"))
                    page.get_by_text("Recommended: Work-system fix").first.wait_for()
                    wait_idle(page)
                    page.get_by_role("link", name="Rule map").click()
                    page.get_by_role("heading", name="The rule map").wait_for()
                    page.locator('[data-testid="stSelectbox"]').first.click()
                    page.get_by_role("option", name="Work-system fix").click()
                    page.locator('[data-testid="stGraphVizChart"] svg').wait_for(timeout=30_000)
                    wait_idle(page)
                    page.get_by_role("heading", name="The rule map").click()  # move the focus off the select
                    page.get_by_text("Show the rules leading to").scroll_into_view_if_needed()
                    page.wait_for_timeout(500)
                    snap("rule-map")
                ctx.close()
        finally:
            browser.close()
    return written


def report_page_one(out_dir: Path) -> Path | None:
    """Page 1 of the call-centre justification report (PDF) as a PNG, when pdftoppm is installed."""
    if not shutil.which("pdftoppm"):
        return None
    sys.path.insert(0, str(ROOT))
    # deferred: the project's packages, after the sys.path line above (serving the app needs none)
    from casework.report import render_report
    from knowledge.loader import load_knowledge

    case = next(c for c in load_knowledge().cases if c.id == "call-centre")
    data = {"title": case.title, "who": "Contact centre team", "notes": case.narrative, "answers": case.answers,
            "gap": {"measure": "First-call resolution", "current": 62, "target": 80, "unit": "%", "by": "2027-06-30"}}
    with tempfile.TemporaryDirectory() as tmp:
        pdf = Path(tmp) / "report.pdf"
        pdf.write_bytes(render_report(data, "pdf"))
        subprocess.run(["pdftoppm", "-r", "80", "-png", "-f", "1", "-l", "1", "-singlefile", str(pdf),
                        str(out_dir / "report-page1")], check=True)
    return out_dir / "report-page1.png"


def seed_outcomes(data_dir: Path) -> None:
    """A case store with closed and open cases of several interventions (for the Outcomes shot)."""
    sys.path.insert(0, str(ROOT))
    os.environ["TRIAGE_DATA_DIR"] = str(data_dir)
    # deferred: the project's packages, after the sys.path line above (serving the app needs none)
    from casework.store import Store
    from knowledge.loader import load_knowledge

    kb = load_knowledge()
    by_iv: dict[str, list] = {}
    for c in kb.cases:
        if c.expected.status == "complete":
            by_iv.setdefault(c.expected.primary, []).append(c)
    plan = [("coaching", "closed", 40), ("coaching", "closed", 65), ("coaching", "partly", 90), ("coaching", None, 0),
            ("training", "closed", 75), ("training", "not_closed", 120), ("training", None, 0),
            ("work_system", "closed", 21), ("work_system", "closed", 35), ("work_system", "stopped", 60),
            ("mentoring", None, 0), ("counselling_referral", "closed", 30), ("consultancy", None, 0)]
    today = dt.date.today()
    with Store() as s:
        for n, (iv, outcome, days) in enumerate(plan):
            wc = by_iv[iv][n % len(by_iv[iv])]
            cid = s.create_case({"title": wc.title}, wc.answers)
            if outcome:
                with s.engine.begin() as conn:  # opened earlier than today, as real cases were
                    conn.exec_driver_sql("UPDATE cases SET created_at = ? WHERE id = ?",
                                         ((dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=days + 5)), cid))
                s.close_case(cid, outcome, today - dt.timedelta(days=5))


def outcomes_shot(out_dir: Path) -> Path:
    """The Outcomes page on a store of example cases."""
    from playwright.sync_api import sync_playwright  # deferred: a dev dependency, only to take screenshots

    with tempfile.TemporaryDirectory() as tmp:
        seed_outcomes(Path(tmp))
        with serve_app(env={"TRIAGE_DATA_DIR": tmp}) as (url, _proc, _), sync_playwright() as p:
            browser = launch_chromium(p)
            try:
                page = browser.new_context(viewport=LAPTOP, device_scale_factor=1).new_page()
                page.goto(url + "/outcomes")
                page.locator('[data-testid="stVegaLiteChart"]').first.wait_for(timeout=30_000)
                wait_idle(page)
                page.wait_for_timeout(800)
                path = out_dir / "outcomes-laptop.png"
                page.screenshot(path=str(path), full_page=True)
            finally:
                browser.close()
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = ap.parse_args(argv)
    if not CHROMIUM.exists():
        sys.stderr.write(f"screenshots: {CHROMIUM} not found; install it with: apt-get install -y chromium\n")
        return 2
    paths = [*shoot(args.out), outcomes_shot(args.out)]
    report = report_page_one(args.out)
    for path in [*paths, *([report] if report else [])]:
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
