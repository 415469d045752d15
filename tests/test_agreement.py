"""The three places a result is read say the same thing: the Diagnose page (AppTest, the case reopened
from its link), page 1 of the justification report, and the batch row. For each case: the headline, the
first step and every reason of the summary appear in all three (the report shows the first three
reasons), and nothing else claims to be the first step.

Cases: one worked case per outcome of the rule base, and random half-known paths on every route."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest
from test_consistency import half_known

from casework.batch import triage_rows
from casework.report import build_document
from rules.consult import consult
from rules.model import load_rulebase

APP = str(Path(__file__).resolve().parents[1] / "app.py")
pytestmark = pytest.mark.slow  # AppTest and the report for every case
RB = load_rulebase()
KB = RB.knowledge


def norm(text: str) -> str:
    """Text as a reader compares it: markdown escapes dropped, white space collapsed."""
    return " ".join(re.sub(r"\\(.)", r"\1", str(text)).split())


def page_text(answers: dict[str, str]) -> str:
    at = AppTest.from_file(APP, default_timeout=30)
    at.query_params.update(answers)
    at.run()
    assert not at.exception, at.exception
    kinds = ("markdown", "caption", "success", "info", "warning", "error", "subheader")
    return norm("\n".join(str(e.value) for k in kinds for e in getattr(at, k)))


def report_page_one(answers: dict[str, str]) -> tuple[str, str | None, list[str]]:
    """(the whole of page 1, the text under "First step", the reasons listed)."""
    doc = build_document({"title": "Agreement", "answers": answers}, RB, profile=None)
    blocks = doc.blocks[: next(i for i, b in enumerate(doc.blocks) if b.kind == "pagebreak")]
    step, reasons = None, []
    for i, b in enumerate(blocks):
        if b.kind == "h3" and b.text == "First step":
            step = norm(blocks[i + 1].text)
        if b.kind == "h3" and b.text == "The reasons":
            reasons = [norm(x) for x in blocks[i + 1].items]
    every = [b.text for b in blocks] + [x for b in blocks for x in b.items] + [c for b in blocks for r in b.rows
                                                                               for c in r]
    return norm("\n".join(every)), step, reasons


def batch_row(answers: dict[str, str]) -> dict:
    (row,) = triage_rows([dict(answers)])
    return row


def agree(answers: dict[str, str]) -> None:
    sm = consult(answers, RB).to_dict(RB)["summary"]
    headline, step, because = norm(sm["headline"]), norm(sm["next_step"] or ""), [norm(b) for b in sm["because"]]
    shown = page_text(answers)
    whole, report_step, report_reasons = report_page_one(answers)
    row = batch_row(answers)

    assert headline in shown and headline in whole and norm(row["headline"]) == headline, (answers, headline)
    if step:
        assert step in shown, (answers, step)
        assert report_step == step, (answers, report_step, step)
        assert norm(row["next_step"]) == step, (answers, row["next_step"], step)
    else:
        assert report_step is None and not row["next_step"], answers
    for b in because:
        assert b in shown, (answers, b)
        assert b in norm(row["because"]), (answers, b)
    assert report_reasons == because[:3], (answers, report_reasons, because)


BY_OUTCOME: dict[str, dict] = {}
for case in KB.cases:
    BY_OUTCOME.setdefault(case.expected.primary or case.expected.reason or "open", dict(case.answers))


@pytest.mark.parametrize("answers", list(BY_OUTCOME.values()), ids=list(BY_OUTCOME))
def test_page_report_and_batch_agree_on_each_outcome(answers):
    agree(answers)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_page_report_and_batch_agree_on_random_half_known_paths(data):
    agree(half_known(data))
