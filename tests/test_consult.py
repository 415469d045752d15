"""consult(): adaptive questions, gates, don't know, stale answers, bad input."""

from __future__ import annotations

import pytest

from rules.consult import AnswerError, consult

BASE = {"gap_defined": "yes", "worth_closing": "yes", "aim": "current_gap", "risk_of_harm": "no",
        "distress_signs": "no", "personal_circumstances": "no", "coaching_stalled": "not_tried",
        "sudden_decline": "no"}


def test_first_question_with_no_answers(rb):
    c = consult({}, rb)
    assert c.status == "needs_answer"
    assert c.next_question.id == rb.knowledge.questions[0].id == "gap_defined"
    assert c.primary is None


def test_wellbeing_before_environment_before_person(rb):
    order = []
    answers: dict[str, str] = {}
    while True:
        c = consult(answers, rb)
        if c.status != "needs_answer":
            break
        q = c.next_question
        order.append(q.stage)
        answers[q.id] = "dont_know" if q.id not in BASE else BASE[q.id]
    stages = [s.id for s in rb.knowledge.stages]
    ranks = [stages.index(s) for s in order]
    assert ranks.index(stages.index("wellbeing")) < ranks.index(stages.index("environment")) < ranks.index(stages.index("skill"))


def test_gap_not_defined_stops_with_cannot_recommend(rb):
    c = consult({"gap_defined": "no"}, rb)
    assert c.status == "cannot_recommend" and c.gate == "gap_undefined" and c.next_question is None
    assert consult({"gap_defined": "yes", "worth_closing": "not_worth"}, rb).gate == "not_worth"


def test_risk_of_harm_overrides_and_stops(rb):
    c = consult({**BASE, "risk_of_harm": "yes", "peers_perform": "few_or_none"}, rb)
    assert c.status == "complete" and c.primary == "counselling_referral"
    assert c.to_dict(rb)["safety_alert"] is True
    assert "peers_perform" in c.ignored  # never asked once a risk is flagged


def test_stale_answers_are_ignored(rb):
    future = {**BASE, "aim": "future_development", "broad_long_term": "yes", "role_model_available": "yes",
              "self_initiated": "yes", "horizon": "years", "goal_specific": "no"}
    clean = consult({k: v for k, v in future.items() if k != "sudden_decline"}, rb)
    stale = consult({**future, "targets_conflict": "conflicting", "can_do_it": "no"}, rb)
    assert stale.primary == clean.primary == "mentoring"
    assert {"targets_conflict", "can_do_it", "sudden_decline"} <= set(stale.ignored)
    assert stale.fired == clean.fired


def test_dont_know_lowers_confidence_but_does_not_block(kb, rb):
    case = next(c for c in kb.cases if c.id == "presentation-skills")
    sure = consult(case.answers, rb)
    unsure = consult({**case.answers, "expectations_clear": "dont_know"}, rb)
    assert unsure.status == "complete" and unsure.primary == sure.primary
    assert unsure.confidence < sure.confidence


@pytest.mark.parametrize(
    "answers, needle",
    [
        ({"no_such_question": "yes"}, "unknown question id 'no_such_question'"),
        ({"gap_defined": "perhaps"}, "gap_defined: 'perhaps' is not one of"),
        ({"gap_defined": 3}, "gap_defined: answer must be text"),
        ({"gap_defined": ["yes"]}, "answer must be text"),
        ([("gap_defined", "yes")], "answers must be a mapping"),
        ([], "answers must be a mapping"),
        ("", "answers must be a mapping"),
    ],
)
def test_bad_answers_name_the_problem(answers, needle, rb):
    with pytest.raises(AnswerError) as err:
        consult(answers, rb)
    assert needle in str(err.value)


def test_answers_are_tidied(rb):
    c = consult({"gap_defined": " Yes ", "worth_closing": True, "aim": "Don't know"}, rb)
    assert c.answers == {"gap_defined": "yes", "worth_closing": "yes", "aim": "dont_know"}


def test_same_answers_same_result(kb, rb):
    case = kb.cases[0]
    assert consult(case.answers, rb).to_dict(rb) == consult(dict(reversed(list(case.answers.items()))), rb).to_dict(rb)
