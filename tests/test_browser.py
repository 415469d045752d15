"""One end-to-end test in a real browser: start the app, answer the call-centre case by clicking,
see the work-system result and the reason coaching is ruled out. Headless system Chromium through
Playwright (never ``playwright install``); skipped only when /usr/bin/chromium is absent. Also
opens a malformed answers file through the real upload widget."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from browser_util import answer, rerun, wait_idle

from knowledge.loader import load_knowledge
from rules.consult import consult
from rules.model import load_rulebase

CHROMIUM = Path("/usr/bin/chromium")

# CI sets TRIAGE_REQUIRE_BROWSER so that a missing browser fails instead of skipping
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists() and not os.environ.get("TRIAGE_REQUIRE_BROWSER"),
    reason="no system Chromium at /usr/bin/chromium (apt-get install -y chromium)",
)


def test_call_centre_case_by_clicking(tmp_path, browser_page, app_url):
    page = browser_page
    kb = load_knowledge()
    rb = load_rulebase()
    case = next(c for c in kb.cases if c.id == "call-centre")
    expected = consult(case.answers)
    coaching_reason = next(r["reason"] for r in expected.ruled_out(rb) if r["intervention"] == "coaching")

    page.goto(app_url + "/")
    before: dict[str, str] = {}
    for qid in expected.answers:
        q = consult(before).next_question  # as the engine words it (for a group once several share it)
        assert q.id == qid
        answer(page, kb, qid, case.answers[qid], before)  # waits for the question and for the run it starts
        before[qid] = case.answers[qid]
    result = page.locator('[data-testid="stAlert"]', has_text="Recommended:").first
    result.wait_for()
    wait_idle(page)
    assert "Recommended: Work-system fix" in result.inner_text()
    ruled_out = page.locator("li", has_text="Coaching (ruled out)").first
    assert coaching_reason in ruled_out.inner_text()
    page.screenshot(path=str(tmp_path / "call-centre-result.png"), full_page=True)
    assert (tmp_path / "call-centre-result.png").stat().st_size > 10_000
    assert "goal_conflict" not in page.url  # the address holds answers, e.g. targets_conflict
    assert "targets_conflict=conflicting" in page.url

    # a malformed answers file through the real upload widget: a clear message, answers kept
    bad = tmp_path / "broken.yaml"
    bad.write_text("answers: {gap_defined: [yes\n", encoding="utf-8")
    page.get_by_text("Save, share or open a case").click()  # an expander: opens in the page, no run
    rerun(page, lambda: page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(bad)))
    error = page.locator('[data-testid="stAlert"]', has_text="Could not open the answers file")
    error = error.first
    error.wait_for()
    assert "broken.yaml" in error.inner_text() and "unchanged" in error.inner_text()
    assert "Recommended: Work-system fix" in page.locator(
        '[data-testid="stAlert"]', has_text="Recommended:").first.inner_text()
