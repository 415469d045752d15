"""Explanations are complete and correct for every worked case."""

from __future__ import annotations

import pytest

from knowledge.loader import load_knowledge
from knowledge.schema import INTERVENTION_IDS
from rules.consult import consult
from rules.explain import compare, consult_explained
from rules.words import scoped

CASES = load_knowledge().cases


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_explanation_of_worked_case(case, rb):
    c = consult_explained(case.answers, rb)
    e = c.explanation
    assert [h["rule"] for h in e["how"]] == c.fired
    several = "several_people" in c.findings  # the explanation speaks of the group then
    for h in e["how"]:
        rule = rb.by_id[h["rule"]]
        assert h["rationale"] == scoped(rule.rationale.strip(), several)
        assert set(h["answers"]) == {q for q in rule.when.answers if q in c.answers}
        assert [s["key"] for s in h["sources"]] == rule.sources
    assert set(e["why_not"]) == set(INTERVENTION_IDS) - {c.primary}
    assert all(e["why_not"][iv]["text"] for iv in e["why_not"])
    # each decisive answer leads where it says: by itself, or with the questions it opens unknown
    for d in e["decisive"]:
        for alt in d["alternatives"]:
            changed = consult({**c.answers, d["question"]: alt["alternative"]}, rb)
            assert (changed.status == "needs_answer") == bool(alt["opens"])
            changed = consult({**c.answers, d["question"]: alt["alternative"],
                               **dict.fromkeys(alt["opens"], "dont_know")}, rb)
            assert changed.status != "needs_answer" and changed.primary == alt["new_primary"]
            assert (changed.status, changed.gate, changed.primary, changed.lean) != (c.status, c.gate, c.primary, c.lean)
    if c.primary:
        conf = e["confidence"]
        assert conf["value"] == c.confidence
        assert conf["evidence"][-1]["combined"] == pytest.approx(c.settled.scores[c.primary], abs=1e-3)


def test_why_not_names_the_exclusion_reason(rb):
    case = next(c for c in CASES if c.id == "call-centre")
    why = consult_explained(case.answers, rb).explanation["why_not"]
    coaching = why["coaching"]
    assert coaching["verdict"] == "excluded" and "COA-ruled-out-goal-conflict" in coaching["rules"]
    assert coaching["text"][0].startswith("Coaching is ruled out: The targets conflict")
    assert why["training"]["verdict"] == "excluded"
    assert any("could already do it" in r for r in why["training"]["reasons"])


def test_why_question_lists_rules_waiting_and_interventions(rb):
    c = consult_explained({"concern": "shortfall", "gap_defined": "yes", "worth_closing": "yes", "people_affected": "one", "risk_of_harm": "no",
                           "distress_signs": "no", "personal_circumstances": "no", "coaching_stalled": "no",
                           "sudden_decline": "no", "peers_perform": "most", "expectations_clear": "yes",
                           "feedback_given": "yes", "resources_adequate": "yes"}, rb)
    w = c.explanation["why_question"]
    assert w["question"] == "targets_conflict"
    assert "ENV-goal-conflict" in w["rules_waiting"] and "COA-ruled-out-goal-conflict" in w["rules_waiting"]
    assert {"work_system", "coaching", "training"} <= set(w["can_still_move"])


def test_confidence_arithmetic_counts_dont_know(rb):
    case = next(c for c in CASES if c.id == "presentation-skills")
    c = consult_explained({**case.answers, "expectations_clear": "dont_know"}, rb)
    costs = c.explanation["confidence"]["answer_costs"]
    assert {"question": "expectations_clear", "answer": "dont_know", "cost": 0.05, "factor": 0.95} in costs
    formula = next(line for line in c.explanation["confidence"]["arithmetic"] if line.startswith("confidence ="))
    assert "expectations_clear" in formula and formula.endswith(f"= {c.confidence:.3f}")
    assert c.explanation["confidence"]["band"] in c.explanation["confidence"]["arithmetic"][-1]
    # a "don't know" that could not change the result costs nothing
    moot = consult_explained({**case.answers, "sudden_decline": "dont_know"}, rb)
    assert not any(x["question"] == "sudden_decline" for x in moot.explanation["confidence"]["answer_costs"])


def test_compare_reports_what_changed_and_why(rb):
    case = next(c for c in CASES if c.id == "call-centre")
    # with no barrier left in the work situation, coaching is no longer ruled out
    fixed = {**case.answers, "targets_conflict": "compatible", "right_way_punished": "no", "motivation": "motivated"}
    diff = compare(case.answers, fixed, rb)
    assert diff["answers_changed"]["targets_conflict"] == {"before": "conflicting", "after": "compatible"}
    assert "coaching" in diff["ruled_out"]["removed"]
    assert any(r["rule"] == "SYS-goal-conflict" for r in diff["rules_no_longer_firing"])
    same = compare(case.answers, case.answers, rb)
    assert not same["primary"]["changed"] and not same["answers_changed"]
