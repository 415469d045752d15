"""Practice and the Learn pages on a phone (390 px wide, headless system Chromium): a case answered
once with its feedback shown in full, nothing wider than the screen, the table of contents and the
rule map's path in words, and an axe-core audit (WCAG 2.1 A/AA) on each."""

from __future__ import annotations

import pytest
from browser_util import click, new_page, rerun, wait_idle
from test_browser_offline_a11y import audit

from knowledge.loader import load_knowledge
from knowledge.practice_set import load_practice

KB = load_knowledge()
PRACTICE = load_practice()
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone(chromium, app_url):
    page = new_page(chromium, viewport=PHONE, device_scale_factor=1)
    yield page
    page.context.close()


def overflow(page) -> int:
    """How many pixels the app's content is wider than the screen (0: nothing scrolls sideways)."""
    return page.evaluate(
        """() => Math.max(0, ...[document.documentElement,
                 ...document.querySelectorAll('[data-testid="stMain"], [data-testid="stMainBlockContainer"]')]
                 .map(e => e.scrollWidth - e.clientWidth))"""
    )


def test_practice_on_a_phone(phone, app_url):
    page = phone
    page.goto(app_url + "/practice")
    page.get_by_role("heading", name="Case 1 of").wait_for()
    wait_idle(page)
    assert "0 of 29 cases answered" in page.locator('[data-testid="stProgress"]').inner_text()
    # the case on screen is one of the practice set, never a worked case
    shown = " ".join(page.locator('[data-testid="stMain"]').inner_text().split())
    case = next(c for c in PRACTICE.cases if " ".join(c.narrative.split(".")[0].split()) in shown)
    assert overflow(page) == 0
    assert audit(page) == []
    # a wrong answer on purpose: the feedback explains, shown at once
    wrong = "Consultancy" if case.answer != "consultancy" else "Mentoring"
    click(page, page.get_by_role("radiogroup", name="What fits this case?").get_by_text(wrong, exact=True))
    click(page, page.get_by_role("button", name="Check my answer"))
    page.get_by_text("The deciding fact.").wait_for()
    wait_idle(page)
    assert page.get_by_text("Not this time").is_visible()
    dist = PRACTICE.distinctions[case.distinction]
    assert page.get_by_text(f"The distinction: {dist.title}.").is_visible()
    # one answer per case: no choice left to change, the score counts it
    assert page.get_by_role("radiogroup", name="What fits this case?").count() == 0
    assert "1 of 29 cases answered, 0 right" in page.locator('[data-testid="stProgress"]').inner_text()
    assert page.get_by_text("1 time").is_visible()  # the confused pair, in "Your session"
    assert overflow(page) == 0
    assert audit(page) == []
    click(page, page.get_by_role("button", name="Next case"))
    page.get_by_role("heading", name="Case 2 of").wait_for()


def test_learn_pages_on_a_phone(phone, app_url):
    page = phone
    page.goto(app_url + "/learn_interventions")
    page.get_by_role("heading", name="Coaching", exact=True).wait_for()
    wait_idle(page)
    assert overflow(page) == 0  # one intervention at a time: nothing scrolls sideways
    assert audit(page) == []
    click(page, page.get_by_role("radiogroup", name="Show").get_by_text("Two side by side", exact=True))
    page.locator('[data-testid="stTable"]').first.wait_for()
    wait_idle(page)
    assert overflow(page) == 0
    assert audit(page) == []

    page.goto(app_url + "/learn_topics")
    page.get_by_role("heading", name="Contents").wait_for()
    wait_idle(page)
    last = list(KB.sections.values())[-1]
    page.get_by_role("link", name=last.title).click()
    heading = page.get_by_role("heading", name=last.title)
    page.wait_for_function("e => { const r = e.getBoundingClientRect(); return r.top >= 0 && r.top < 400; }",
                           arg=heading.element_handle())
    assert overflow(page) == 0
    assert audit(page) == []

    # the rule map of a case: its path by default, and in words (no hover on a touch screen)
    case = next(c for c in KB.cases if c.id == "call-centre")
    from urllib.parse import urlencode

    page.goto(app_url + "/?" + urlencode(case.answers))
    page.get_by_text("Recommended: Work-system fix").first.wait_for()
    wait_idle(page)
    page.locator('[data-testid="stExpandSidebarButton"]').first.click()  # the sidebar opens: no run
    rerun(page, page.get_by_role("link", name="Rule map").click)
    page.get_by_role("heading", name="The path in words").wait_for()
    page.locator('[data-testid="stGraphVizChart"] svg').wait_for()
    wait_idle(page)
    assert page.get_by_text("COA-ruled-out-goal-conflict", exact=True).is_visible()
    assert overflow(page) == 0
    assert audit(page) == []
