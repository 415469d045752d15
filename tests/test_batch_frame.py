"""The pandas API: casework.batch.triage_frame(df) gives, row by row, what consult() gives."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from casework import batch
from rules.consult import consult
from rules.model import load_rulebase

RB = load_rulebase()
QIDS = RB.knowledge.question_index


def _answers(row: dict) -> dict:
    return {k: v for k, v in row.items() if k in QIDS and isinstance(v, str) and v}


def _value(v):
    return None if not isinstance(v, str) and pd.isna(v) else v  # pandas shows a missing text as NaN


@pytest.mark.slow  # more than 5 s on a quiet machine
def test_each_row_equals_consult():
    rows = batch.sample_rows(300, seed=21) + batch.worked_case_rows()
    df = pd.DataFrame(rows)  # missing answers are NaN
    df["budget"] = range(len(df))
    out = batch.triage_frame(df)
    assert len(out) == len(df) and list(out.index) == list(df.index)
    assert list(out.columns) == [*df.columns, *batch.FRAME_COLUMNS]
    pd.testing.assert_frame_equal(out[df.columns], df)  # every input column carried through unchanged
    statuses = set()
    for row, res in zip(rows, out.to_dict("records"), strict=True):
        c = consult(_answers(row))
        statuses.add(c.status)
        assert res["status"] == c.status
        assert _value(res["primary"]) == c.primary
        assert _value(res["primary_label"]) == (RB.knowledge.interventions[c.primary].name if c.primary else None)
        if c.confidence is None:
            assert math.isnan(res["confidence"])
        else:
            assert res["confidence"] == c.confidence
        assert res["secondary"] == c.secondary
        assert res["ruled_out"] == [r["intervention"] for r in c.ruled_out()]
        assert res["summary"] == batch.headline(c.to_dict())
        assert res["safety_alert"] == c.safety_alert
        assert res["errors"] == ""
    assert statuses == {"complete", "needs_answer", "cannot_recommend"}


def test_headline_is_the_consultations_own_else_made_from_the_result():
    c = consult(_answers(next(r for r in batch.worked_case_rows() if r["case_id"] == "call-centre")))
    d = c.to_dict()
    if d.get("summary"):  # the consultation's own summary headline, on one line
        assert batch.headline(d) == " ".join(d["summary"]["headline"].split())
    d.pop("summary", None)  # without one: made from the status and the primary
    assert batch.headline(d).startswith("Recommended: " + RB.knowledge.interventions[c.primary].name)
    assert batch.headline({"summary": {"headline": "Fix the targets first."}, "status": "complete"}) == (
        "Fix the targets first."
    )
    c = consult({"gap_defined": "yes"})
    d = c.to_dict()
    d.pop("summary", None)
    assert batch.headline(d) == "More answers needed, next: " + " ".join(c.next_question.text.split())


def test_bad_values_are_error_rows_and_names_are_matched_like_a_sheet_header():
    df = pd.DataFrame(
        {"Gap Defined": ["yes", "maybe", None], "risk_of_harm": ["no", "yes", True], "status": ["a", "b", "c"]},
        index=["x", "y", "z"],
    )
    out = batch.triage_frame(df)
    assert list(out.columns[:3]) == ["Gap Defined", "risk_of_harm", "input_status"]
    assert out.loc["x", "status"] == consult({"gap_defined": "yes", "risk_of_harm": "no"}).status
    assert out.loc["y", "status"] == "error" and pd.isna(out.loc["y", "primary"])
    assert out.loc["y", "errors"].startswith("index 'y', column gap_defined: 'maybe'")
    assert out.loc["y", "summary"].startswith("Not triaged: ")
    z = consult({"risk_of_harm": "yes"})  # True reads as yes
    assert out.loc["z", "status"] == z.status and out.loc["z", "safety_alert"] == z.safety_alert


def test_an_empty_frame_and_a_wrong_type():
    out = batch.triage_frame(pd.DataFrame({"gap_defined": []}))
    assert out.empty and "status" in out.columns
    with pytest.raises(TypeError, match="DataFrame"):
        batch.triage_frame([{"gap_defined": "yes"}])
