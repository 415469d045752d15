"""In a real browser (headless system Chromium): nothing is fetched from outside this machine while
a case is answered and every page is visited, and the pages pass an axe-core audit (WCAG 2.1 A/AA)
with no serious or critical violation the app can fix."""

from __future__ import annotations

import pytest
from browser_util import RequestLog, answer, click, go_to, is_local, new_page, open_result, wait_idle

from knowledge.loader import load_knowledge
from rules.consult import consult

KB = load_knowledge()
CASE = next(c for c in KB.cases if c.id == "call-centre")
ORDER = list(consult(CASE.answers).answers)
LEARN = ["Interventions compared", "Study the topic", "Processes", "Decision table", "Rule map", "Worked cases",
         "Practice"]


def to_result(page) -> None:
    """Answer the case question by question, by clicking."""
    before: dict[str, str] = {}
    for qid in ORDER:
        answer(page, KB, qid, CASE.answers[qid], before)
        before[qid] = CASE.answers[qid]
    page.locator('[data-testid="stAlert"]', has_text="Recommended:").first.wait_for()
    wait_idle(page)


def test_the_request_check_knows_local_from_remote():
    assert is_local("http://127.0.0.1:8501/_stcore/stream") and is_local("ws://localhost:9/x")
    assert is_local("data:image/svg+xml,<svg/>") and is_local("http://[::1]:80/")
    assert not is_local("https://fonts.gstatic.com/s/i/short-term/release/materialsymbolsrounded/hub/default/24px.svg")
    assert not is_local("http://10.0.0.5/") and not is_local("https://cdn.jsdelivr.net/npm/x")


def test_nothing_leaves_the_machine(chromium, app_url):
    page = new_page(chromium, viewport={"width": 1280, "height": 900})
    log = RequestLog(page.context)
    try:
        page.goto(app_url + "/")
        wait_idle(page)
        answer(page, KB, ORDER[0], CASE.answers[ORDER[0]], {})
        click(page, page.get_by_role("button", name="Previous"))  # and back again
        to_result(page)
        click(page, page.get_by_role("button", name="Save this case"))
        page.get_by_text("Saved as case").first.wait_for()
        for title in [*LEARN, "Outcomes", "Organisation profile", "Cases", "Batch"]:
            go_to(page, title)
        click(page, page.get_by_role("button", name="Try it with the worked cases"))
        page.get_by_text("Results for").first.wait_for()
        go_to(page, "Diagnose")
        page.locator('[data-testid="stAlert"]', has_text="Recommended:").first.wait_for()  # the case is still open
        page.wait_for_load_state("networkidle")  # late requests (favicons, fonts) are made after the render
    finally:
        page.context.close()
    assert sum(1 for u in log.urls if "/_stcore/" in u or u.endswith("/")) >= 3  # the log did record the app
    assert log.remote() == [], "requests to other machines: " + ", ".join(log.remote())


# ----------------------------------------------------------------------------------------- axe-core

# Violations in Streamlit's own markup, which the app cannot change (Streamlit 1.67):
FRAMEWORK = {
    # st.navigation with sections draws each section heading as a <div> inside the <ul> of the sidebar
    # and wraps each <li> in a <div>: "list" and "listitem" on the sidebar navigation only
    "list": '[data-testid="stSidebarNav"]',
    "listitem": '[data-testid="stSidebarNav"]',
}
# checked whatever axe's impact, because the issue names them: contrast, heading order, empty
# table headers, labels on inputs
ALWAYS = {"color-contrast", "heading-order", "empty-table-header", "empty-heading", "label", "select-name",
          "aria-input-field-name"}


def audit(page) -> list[str]:
    """The violations the app is answerable for, one line each."""
    from axe_playwright_python.sync_playwright import Axe

    if page.query_selector('[data-testid="stApp"]'):
        wait_idle(page)
    tags = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
    result = Axe().run(page, options={"runOnly": {"type": "tag", "values": tags}})
    problems = []
    for v in result.response["violations"]:
        if v["impact"] not in ("serious", "critical") and v["id"] not in ALWAYS:
            continue
        nodes = v["nodes"]
        if v["id"] in FRAMEWORK:
            inside = page.evaluate(
                "([sels, within]) => sels.map(s => !!document.querySelector(s)?.closest(within))",
                [[n["target"][0] for n in nodes], FRAMEWORK[v["id"]]],
            )
            nodes = [n for n, ok in zip(nodes, inside, strict=True) if not ok]
        for n in nodes:
            problems.append(f"{v['id']} ({v['impact']}): {n['target']} {n['failureSummary'].splitlines()[-1][:160]}")
    return problems


def test_the_audit_finds_what_it_should(chromium):
    pg = chromium.new_page()
    try:
        pg.set_content(
            '<html lang="en"><head><title>t</title></head><body><main><h1>A</h1><h3>skipped a level</h3>'
            '<p style="color:#aaa;background:#fff">faint</p><img src="data:,"><input type="text"></main></body></html>'
        )
        found = {line.split(" ")[0] for line in audit(pg)}
    finally:
        pg.close()
    assert {"heading-order", "color-contrast", "image-alt", "label"} <= found


@pytest.fixture
def audited(browser_page, app_url):
    page = browser_page
    page.goto(app_url + "/")
    wait_idle(page)
    return page


def test_diagnose_question_and_result_pass_axe(audited, app_url):
    page = audited
    assert audit(page) == []
    page.get_by_text("Case details").first.click()  # the case details, open (an expander: no run)
    page.get_by_label("Case title").wait_for()
    wait_idle(page)
    assert audit(page) == []
    before: dict[str, str] = {}
    for qid in ORDER[:3]:  # a question with answers given before it (the result: reached by its address)
        answer(page, KB, qid, CASE.answers[qid], before)
        before[qid] = CASE.answers[qid]
    wait_idle(page)
    assert audit(page) == []
    open_result(page, app_url, CASE.answers)
    assert audit(page) == []


@pytest.fixture(scope="module")
def learn_page(chromium, app_url):
    """One page for the Learn pages' audits: the app loaded once, each page then opened from the
    navigation as a user moves between them (a load of the app costs the browser about a second of CPU)."""
    page = new_page(chromium, viewport={"width": 1280, "height": 900})
    page.goto(app_url + "/")
    wait_idle(page)
    yield page
    page.context.close()


@pytest.mark.parametrize("title", LEARN)
def test_learn_pages_pass_axe(learn_page, title):
    go_to(learn_page, title)
    assert audit(learn_page) == []


def test_cases_and_batch_pass_axe(browser_page, app_url):
    page = browser_page
    open_result(page, app_url, CASE.answers)  # the result is the page's first load
    click(page, page.get_by_role("button", name="Save this case"))
    click(page, page.get_by_role("button", name="Open case").first)  # the Cases page, the case open
    page.get_by_role("tab", name="Overview").wait_for()
    wait_idle(page)
    assert audit(page) == []
    for tab in ("Plan", "Monitor", "Export"):
        click(page, page.get_by_role("tab", name=tab))
        assert audit(page) == [], tab
    go_to(page, "Batch")
    page.get_by_role("button", name="Try it with the worked cases").wait_for()
    assert audit(page) == []
    click(page, page.get_by_role("button", name="Try it with the worked cases"))
    page.get_by_text("Results for").first.wait_for()
    wait_idle(page)
    assert audit(page) == []


def test_outcomes_and_profile_pages_pass_axe(browser_page, app_url):
    page = browser_page
    open_result(page, app_url, CASE.answers)  # the result is the page's first load
    click(page, page.get_by_role("button", name="Save this case"))  # at least one case for the Outcomes page
    page.get_by_text("Saved as case").first.wait_for()
    go_to(page, "Outcomes")
    page.locator('[data-testid="stVegaLiteChart"]').first.wait_for()
    wait_idle(page)
    assert audit(page) == []
    go_to(page, "Organisation profile")
    page.get_by_role("heading", name="Organisation profile").first.wait_for()
    wait_idle(page)
    assert audit(page) == []
