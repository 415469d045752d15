"""Property tests over random answer sets (hypothesis)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from knowledge.loader import load_knowledge
from knowledge.schema import INTERVENTION_IDS
from rules.consult import consult

KB = load_knowledge()
QUESTIONS = {q.id: q.option_values() for q in KB.questions}

answer_sets = st.dictionaries(
    st.sampled_from(sorted(QUESTIONS)), st.just(None), max_size=len(QUESTIONS)
).flatmap(lambda d: st.fixed_dictionaries({k: st.sampled_from(QUESTIONS[k]) for k in d}))


def complete_path(draw_option, answers=None):
    """Answer the adaptive questions until the end, choosing with ``draw_option``."""
    answers = dict(answers or {})
    while True:
        c = consult(answers)
        if c.status != "needs_answer":
            return answers, c
        q = c.next_question
        answers[q.id] = draw_option(q.id, q.option_values())


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(answer_sets)
def test_never_an_exception_and_a_well_formed_result(answers):
    c = consult(answers)
    assert c.status in ("complete", "needs_answer", "cannot_recommend")
    if c.status == "complete":
        assert c.primary in INTERVENTION_IDS
        assert 0 < c.confidence <= 1
        assert c.primary not in c.secondary
        assert c.primary not in {d["intervention"] for d in c.ruled_out()}
    else:
        assert c.primary is None
    if c.status == "needs_answer":
        assert c.next_question is not None and c.next_question.id not in c.answers


@SETTINGS
@given(st.data())
def test_complete_paths_end_in_one_primary_or_a_reason(data):
    _, c = complete_path(lambda qid, opts: data.draw(st.sampled_from(opts), label=qid))
    assert c.status in ("complete", "cannot_recommend")
    if c.status == "complete":
        assert c.primary in INTERVENTION_IDS
    else:
        assert c.gate in ("gap_undefined", "not_worth", "insufficient_evidence")


@SETTINGS
@given(st.data())
def test_conflicting_targets_never_give_coaching(data):
    answers, c = complete_path(
        lambda qid, opts: "conflicting" if qid == "targets_conflict" else data.draw(st.sampled_from(opts), label=qid),
        {"gap_defined": "yes", "worth_closing": "yes", "aim": "current_gap"},
    )
    assert c.primary != "coaching"
    if c.answers.get("targets_conflict") == "conflicting":
        assert "coaching" not in c.secondary


@SETTINGS
@given(st.data())
def test_risk_of_harm_always_gives_counselling_referral(data):
    _, c = complete_path(
        lambda qid, opts: "yes" if qid == "risk_of_harm" else data.draw(st.sampled_from(opts), label=qid),
        {"gap_defined": data.draw(st.sampled_from(["yes", "partly", "dont_know"])), "worth_closing": "yes"},
    )
    assert c.primary == "counselling_referral"
    assert c.to_dict()["safety_alert"]


@SETTINGS
@given(answer_sets)
def test_same_answers_same_result_and_stale_answers_change_nothing(answers):
    a = consult(answers)
    b = consult(dict(answers))
    assert a.to_dict() == b.to_dict()
    only_path = consult(a.answers)
    assert only_path.status == a.status and only_path.primary == a.primary
    assert only_path.fired == a.fired and only_path.confidence == a.confidence
