"""One end-to-end test in a real browser: start the app, answer the call-centre case by clicking,
see the work-system result and the reason coaching is ruled out. Headless system Chromium through
Playwright (never ``playwright install``); skipped only when /usr/bin/chromium is absent. Also
opens a malformed answers file through the real upload widget."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

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
        before[qid] = case.answers[qid]
        page.get_by_role("heading", name=q.text, exact=True).wait_for()
        group = page.get_by_role("radiogroup", name=q.text, exact=True)
        group.get_by_text(q.label_of(case.answers[qid]), exact=True).click()
        page.locator('[data-testid="stForm"]', has=group).get_by_role("button", name="Next").click()
    result = page.locator('[data-testid="stAlert"]', has_text="Recommended:").first
    result.wait_for()
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
    page.get_by_text("Save, share or open a case").click()
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(bad))
    error = page.locator('[data-testid="stAlert"]', has_text="Could not open the answers file")
    error = error.first
    error.wait_for()
    assert "broken.yaml" in error.inner_text() and "unchanged" in error.inner_text()
    assert "Recommended: Work-system fix" in page.locator(
        '[data-testid="stAlert"]', has_text="Recommended:").first.inner_text()
