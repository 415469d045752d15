"""consult(): routes, adaptive questions, gates, safety first, don't know, stale answers, bad input."""

from __future__ import annotations

import pytest

from rules.consult import AnswerError, consult, other_answers, read_legacy
from rules.evaluate import compiled

SCREEN = {"risk_of_harm": "no", "distress_signs": "no"}
BASE = {"concern": "shortfall", **SCREEN, "gap_defined": "yes", "worth_closing": "yes", "people_affected": "one",
        "personal_circumstances": "no", "coaching_stalled": "not_tried", "sudden_decline": "no"}


def case(kb, case_id):
    return next(c for c in kb.cases if c.id == case_id)


def test_first_question_is_what_the_case_is_about(rb):
    c = consult({}, rb)
    assert c.status == "needs_answer"
    assert c.next_question.id == rb.knowledge.questions[0].id == "concern"
    assert c.primary is None


@pytest.mark.parametrize("concern", ["shortfall", "development", "wellbeing", "organisation", "conduct", "dont_know"])
def test_the_safety_screen_comes_right_after_the_concern_on_every_route(rb, concern):
    c = consult({"concern": concern}, rb)
    assert c.next_question.id == "risk_of_harm"
    assert consult({"concern": concern, "risk_of_harm": "no"}, rb).next_question.id == "distress_signs"


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
    c = consult({"concern": "shortfall", **SCREEN, "gap_defined": "no"}, rb)
    assert c.status == "cannot_recommend" and c.gate == "gap_undefined" and c.next_question is None
    assert consult({"concern": "shortfall", **SCREEN, "gap_defined": "yes", "worth_closing": "not_worth"},
                   rb).gate == "not_worth"


def test_distress_sets_the_gap_gate_aside(rb):
    """A red flag is never lost to a gate: with distress, an undefined gap still ends in a referral."""
    c = consult({"concern": "shortfall", "risk_of_harm": "no", "distress_signs": "yes", "gap_defined": "no",
                 "people_affected": "one"}, rb)
    assert c.status == "complete" and c.primary == "counselling_referral"
    assert c.to_dict(rb)["gate_set_aside"] == "gap_undefined"


def test_risk_of_harm_overrides_and_stops(rb):
    c = consult({**BASE, "risk_of_harm": "yes", "peers_perform": "few_or_none"}, rb)
    assert c.status == "complete" and c.primary == "counselling_referral"
    d = c.to_dict(rb)
    assert d["safety_alert"] is True and d["safety"]["level"] == "emergency"
    assert any("emergency services" in g for g in d["safety"]["guidance"])
    assert "peers_perform" in c.ignored  # never asked once a risk is flagged


def test_risk_of_harm_is_shown_even_before_the_path_reaches_it(rb):
    """The answer is read wherever it stands: a 'yes' with no concern given yet still raises the alert."""
    c = consult({"concern": "conduct", "risk_of_harm": "yes"}, rb)
    assert c.safety_alert and c.primary == "counselling_referral"
    c = consult({"risk_of_harm": "yes", "gap_defined": "no"}, rb)
    assert c.safety == "emergency" and c.safety_alert


def test_unknown_risk_with_distress_says_check_now(rb):
    c = consult({"concern": "wellbeing", "risk_of_harm": "dont_know", "distress_signs": "substance"}, rb)
    d = c.to_dict(rb)
    assert d["safety_alert"] is True and d["safety"]["level"] == "check_now"
    no_risk = consult({"concern": "wellbeing", "risk_of_harm": "no", "distress_signs": "yes"}, rb)
    assert no_risk.safety == "support" and not no_risk.safety_alert


def test_conduct_complaint_goes_to_the_hr_procedure(rb):
    c = consult({"concern": "conduct", **SCREEN}, rb)
    d = c.to_dict(rb)
    assert c.status == "cannot_recommend" and d["cannot_recommend"]["reason"] == "conduct_matter"
    assert "Acas" in d["cannot_recommend"]["advice"] or "ACAS" in d["cannot_recommend"]["advice"]
    assert c.primary is None and "counselling_referral" not in c.secondary


def test_development_reaches_mentoring_without_a_gap(rb):
    c = consult({"concern": "development", **SCREEN, "people_affected": "one", "role_transition": "no",
                 "broad_long_term": "yes", "goal_specific": "no",
                 "role_model_available": "yes", "self_initiated": "yes", "horizon": "years"}, rb)
    assert c.status == "complete" and c.primary == "mentoring"
    assert "gap_defined" not in c.answers


def test_check_first_names_the_missing_evidence_and_how_to_find_it(kb, rb):
    c = consult(case(kb, "late-reports-environment-unknown").answers, rb)
    d = c.to_dict(rb)["cannot_recommend"]
    assert d["reason"] == "check_first" and d["lean"] == "coaching"
    asked = {x["question"] for x in d["checks"]}
    assert {"peers_perform", "targets_conflict", "resources_adequate"} <= asked
    for x in d["checks"]:
        assert x["what"] and x["how"] and c.answers.get(x["question"], "dont_know") == "dont_know"


def test_group_cases_are_worded_for_the_group(rb):
    solo = consult({**BASE, "people_affected": "one", "peers_perform": "most", "environment_checked": "yes"}, rb)
    group = consult({"concern": "shortfall", **SCREEN, "gap_defined": "yes", "worth_closing": "yes",
                     "people_affected": "team", "peers_perform": "most", "environment_checked": "yes"}, rb)
    assert solo.next_question.id == group.next_question.id == "expectations_clear"
    assert "the person" in solo.next_question.text
    assert "the person" not in group.next_question.text and "people concerned" in group.next_question.text
    assert "personal_circumstances" not in group.answers  # a group is not asked about one person's life


def test_old_answers_without_a_concern_are_read_as_before(kb, rb):
    old = {"gap_defined": "yes", "worth_closing": "yes", "aim": "current_gap", **SCREEN,
           "poor_performance_rewarded": "no", "leader_can_coach": "yes"}
    read, note = read_legacy(old)
    assert read["concern"] == "shortfall" and "aim" not in read
    assert read["shortfall_noticed"] == "yes" and read["coach_time"] == "yes"
    assert note["concern"] == "shortfall"
    c = consult(old, rb)
    assert c.to_dict(rb)["concern_read_from_old_answers"]["concern"] == "shortfall"
    for cs in kb.cases:  # every worked case gives the same result without its concern (as saved before)
        if cs.answers.get("concern") in ("shortfall", "development"):
            without = {k: v for k, v in cs.answers.items() if k != "concern"}
            if cs.answers["concern"] == "development":
                without["aim"] = "future_development"
            a, b = consult(cs.answers, rb), consult(without, rb)
            assert (a.status, a.primary, a.gate) == (b.status, b.primary, b.gate), cs.id


def test_stale_answers_are_ignored(rb):
    future = {"concern": "development", **SCREEN, "people_affected": "one", "role_transition": "no",
              "broad_long_term": "yes", "role_model_available": "yes",
              "self_initiated": "yes", "horizon": "years", "goal_specific": "no"}
    clean = consult(future, rb)
    stale = consult({**future, "targets_conflict": "conflicting", "can_do_it": "no", "gap_defined": "no"}, rb)
    assert stale.primary == clean.primary == "mentoring"
    assert {"targets_conflict", "can_do_it", "gap_defined"} <= set(stale.ignored)
    assert stale.fired == clean.fired


def test_dont_know_costs_confidence_only_where_it_could_change_the_result(kb, rb):
    answers = case(kb, "presentation-skills").answers
    sure = consult(answers, rb)
    # unclear expectations would make it a work-system fix: a "don't know" there costs confidence
    unsure = consult({**answers, "expectations_clear": "dont_know"}, rb)
    assert unsure.status == "complete" and unsure.primary == sure.primary
    assert unsure.confidence < sure.confidence
    assert [o.cost.question for o in unsure.overturns] == ["expectations_clear"]
    assert [a for a, _ in unsure.overturns[0].alternatives] == ["no"]
    # a sudden drop would change nothing here (the skill gap is long-standing): no cost
    moot = consult({**answers, "sudden_decline": "dont_know"}, rb)
    assert moot.primary == sure.primary and moot.confidence == sure.confidence and not moot.overturns


@pytest.mark.parametrize(
    "answers, needle",
    [
        ({"no_such_question": "yes"}, "unknown question id 'no_such_question'"),
        ({"gap_defined": "perhaps"}, "gap_defined: 'perhaps' is not one of"),
        ({"gap_defined": 3}, "gap_defined: answer must be text"),
        ({"gap_defined": ["yes"]}, "answer must be text"),
        ({"concern": "gossip"}, "concern: 'gossip' is not one of"),
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
    c = consult({"concern": "Don't know", "risk_of_harm": " No ", "distress_signs": False, "aim": "Don't know"}, rb)
    assert c.answers == {"concern": "dont_know", "risk_of_harm": "no", "distress_signs": "no", "aim": "dont_know"}


def test_same_answers_same_result(kb, rb):
    case_ = kb.cases[0]
    assert consult(case_.answers, rb).to_dict(rb) == consult(dict(reversed(list(case_.answers.items()))), rb).to_dict(rb)


def test_high_confidence_only_when_no_unknown_answer_could_overturn_it(kb, rb):
    answers = case(kb, "presentation-skills").answers
    sure = consult(answers, rb)
    assert sure.confidence >= rb.settlement.confidence_bands.high and sure.confidence_band(rb) == "high"
    unsure = consult({**answers, "expectations_clear": "dont_know"}, rb)
    assert unsure.overturns and unsure.confidence >= rb.settlement.confidence_bands.high
    assert unsure.to_dict(rb)["primary"]["confidence_band"] == "moderate"


def test_check_first_with_no_lean_says_so(kb, rb):
    c = consult(case(kb, "too-little-known").answers, rb)
    d = c.to_dict(rb)["cannot_recommend"]
    assert d["reason"] == "check_first" and d["lean"] is None
    assert d["advice"] == rb.gates["check_first"].advice_no_lean.strip() and "lean one way" not in d["advice"]
    assert d["checks"]


def test_what_other_answers_lead_to_is_the_same_remembered_or_not(kb, rb):
    """other_answers() remembers what it found per set of answers (the explanation asks again what the
    confidence check asked): the same with the memory emptied, and a caller changing what it got changes
    nothing for the next caller."""
    comp = compiled(rb)
    tried = 0
    for case in kb.cases:
        c = consult(case.answers, rb)
        if c.status == "needs_answer":
            continue
        questions = list(c.answers)
        warm = other_answers(rb, c.answers, questions, c.settled.outcome)
        comp.clear_caches()
        cold = other_answers(rb, c.answers, questions, c.settled.outcome)
        assert warm == cold, case.id
        for alts, opens in cold.values():
            alts.clear()
            opens.clear()
        assert other_answers(rb, c.answers, questions, c.settled.outcome) == warm, case.id
        tried += bool(warm)
    assert tried >= 10
