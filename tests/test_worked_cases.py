"""Every worked case gives its expected result, and every rule fires in at least one worked case."""

from __future__ import annotations

import pytest

from knowledge.loader import load_knowledge
from rules.consult import consult

CASES = load_knowledge().cases


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_worked_case_gives_expected_result(case, rb):
    c = consult(case.answers, rb)
    e = case.expected
    assert c.status == e.status, c.to_dict(rb)["next_question"]
    assert c.primary == e.primary
    if e.reason is not None:
        assert c.gate == e.reason
        assert c.lean == e.lean
    for iv in e.secondary:
        assert iv in c.secondary
    # the expected "ruled out" are those that must not be used or lead: excluded outright, or barred from
    # leading and not kept as a secondary (the result lists the two apart: ruled_out and cannot_lead)
    kept = {c.primary, *c.secondary}
    out = {d["intervention"] for d in c.ruled_out(rb)} | {d["intervention"] for d in c.cannot_lead(rb)} - kept
    for iv in e.ruled_out:
        assert iv in out
    assert not c.ignored, f"{case.id} holds answers off its path: {c.ignored}"


def test_every_rule_fires_in_some_worked_case(rb):
    fired = set()
    for case in CASES:
        fired |= set(consult(case.answers, rb).fired)
    missing = [r.id for r in rb.rules if r.id not in fired]
    assert not missing


def test_call_centre_rules_out_coaching_because_of_the_targets(rb):
    case = next(c for c in CASES if c.id == "call-centre")
    c = consult(case.answers, rb)
    reasons = {d["intervention"]: d for d in c.ruled_out(rb)}
    assert c.primary == "work_system"
    assert reasons["coaching"]["rule"] == "COA-ruled-out-goal-conflict"
    assert "perpetuate" in reasons["coaching"]["reason"]
