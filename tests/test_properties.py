"""Property tests over random answer sets (hypothesis)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from path_util import dialogue_path

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
    answers = dialogue_path(draw_option, answers)
    return answers, consult(answers)


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
        assert c.gate in ("gap_undefined", "not_worth", "conduct_matter", "check_first")
        if c.gate == "check_first":
            assert c.checks(), "check first always names something to check"


@SETTINGS
@given(st.data())
def test_conflicting_targets_never_give_coaching(data):
    answers, c = complete_path(
        lambda qid, opts: "conflicting" if qid == "targets_conflict" else data.draw(st.sampled_from(opts), label=qid),
        {"concern": "shortfall", "gap_defined": "yes", "worth_closing": "yes"},
    )
    if c.answers.get("targets_conflict") == "conflicting":  # asked unless the work was not looked at
        assert c.primary != "coaching"
        assert "coaching" not in c.secondary


@SETTINGS
@given(st.data())
def test_risk_of_harm_always_gives_counselling_referral(data):
    _, c = complete_path(
        lambda qid, opts: "yes" if qid == "risk_of_harm" else data.draw(st.sampled_from(opts), label=qid),
        {"gap_defined": data.draw(st.sampled_from(["yes", "partly", "no", "dont_know"])),
         "worth_closing": data.draw(st.sampled_from(["yes", "not_worth", "dont_know"]))},
    )
    assert c.primary == "counselling_referral"
    assert c.to_dict()["safety_alert"]


@SETTINGS
@given(answer_sets)
def test_a_risk_of_harm_answer_is_never_ignored(answers):
    """Whatever else was answered (on the path or not, finished or not), "yes" to the risk question
    raises the alert with the emergency guidance."""
    c = consult({**answers, "risk_of_harm": "yes"})
    d = c.to_dict()
    assert d["safety_alert"] is True and d["safety"]["level"] == "emergency"
    assert any("emergency services" in g for g in d["safety"]["guidance"])
    if c.status != "needs_answer":
        assert c.status == "complete" and c.primary == "counselling_referral"


@SETTINGS
@given(answer_sets)
def test_unknown_risk_with_a_red_flag_says_check_now(answers):
    c = consult({**answers, "risk_of_harm": "dont_know",
                 "distress_signs": "yes" if len(answers) % 2 else "substance"})
    d = c.to_dict()
    assert d["safety_alert"] is True and d["safety"]["level"] == "check_now"


ENVIRONMENT = [q.id for q in KB.questions if q.stage == "environment"]


def environment_unknown_path(data):
    """A path on a route with a shortfall, every work-environment question answered "don't know"."""
    concern = data.draw(st.sampled_from(["shortfall", "organisation", "dont_know"]), label="concern")
    return complete_path(
        lambda qid, opts: "dont_know" if qid in ENVIRONMENT else data.draw(st.sampled_from(opts), label=qid),
        {"concern": concern},
    )[1]


@SETTINGS
@given(st.data())
def test_coaching_never_complete_while_the_whole_environment_is_unknown(data):
    c = environment_unknown_path(data)
    on_shortfall = any(q in c.answers for q in ENVIRONMENT)
    if on_shortfall:
        assert all(c.answers.get(q) == "dont_know" for q in ENVIRONMENT if q in c.answers)
        assert not (c.status == "complete" and c.primary == "coaching"), c.answers


@SETTINGS
@given(st.data())
def test_training_never_complete_without_an_established_skill_deficiency(data):
    _, c = complete_path(lambda qid, opts: data.draw(st.sampled_from(opts), label=qid))
    if c.status == "complete" and c.primary == "training":
        assert (c.answers.get("can_do_it") == "no" or c.answers.get("task_new") in ("yes", "new_to_everyone")
                or c.answers.get("concern") == "change"), c.answers


def _finish(answers):
    """Consult to the end, answering every newly opened question "don't know"."""
    return consult(dialogue_path(lambda qid, opts: "dont_know", answers))


@SETTINGS
@given(st.data())
def test_every_confidence_cost_is_for_an_answer_that_could_change_the_result(data):
    _, c = complete_path(lambda qid, opts: data.draw(st.sampled_from(opts), label=qid))
    if c.status != "complete":
        return
    base = (c.status, c.primary)
    costs = [(st.question, st.answer) for st in c.settled.costs]
    for qid, value in costs:
        others = [v for v in KB.question(qid).option_values() if v != value]
        changed = [v for v in others if (lambda r: (r.status, r.primary))(_finish({**c.answers, qid: v})) != base]
        assert changed, f"{qid}={value} costs confidence but no other answer changes {base}"
    # and every unknown answer that is not charged really could not change the result
    for qid, value in c.answers.items():
        if KB.question(qid).cost_of(value) > 0 and (qid, value) not in costs:
            for v in KB.question(qid).option_values():
                r = _finish({**c.answers, qid: v})
                assert (r.status, r.primary, r.gate, r.lean) == (c.status, c.primary, None, None), (qid, v)


@SETTINGS
@given(answer_sets)
def test_same_answers_same_result_and_stale_answers_change_nothing(answers):
    a = consult(answers)
    b = consult(dict(answers))
    assert a.to_dict() == b.to_dict()
    only_path = consult(a.answers)
    assert only_path.status == a.status and only_path.primary == a.primary
    assert only_path.fired == a.fired and only_path.confidence == a.confidence


@SETTINGS
@given(st.data())
def test_the_quick_outcome_equals_the_full_settlement(data):
    """The confidence checks use rules.settle.outcome; it must say what settle() says."""
    from rules.evaluate import compiled
    from rules.model import load_rulebase
    from rules.settle import outcome, settle

    rb = load_rulebase()
    answers, c = complete_path(lambda qid, opts: data.draw(st.sampled_from(opts), label=qid))
    fired = compiled(rb).fire(c.answers)[0]
    assert outcome(rb, fired, c.answers) == settle(rb, fired, c.answers).outcome


# ---- the judgement under partial knowledge (base rates, delivery apart from diagnosis, confidence)

def _rb():
    from rules.model import load_rulebase  # loaded once per process (lru_cache)

    return load_rulebase()


def _half_known(data, dk_share=0.5):
    """A path answered at random, about half of the answers "don't know" (a thin case)."""
    def draw(qid, opts):
        if "dont_know" in opts and data.draw(st.floats(0, 1), label=f"{qid}?") < dk_share:
            return "dont_know"
        return data.draw(st.sampled_from(opts), label=qid)
    return complete_path(draw)[1]


@SETTINGS
@given(st.data())
def test_a_check_first_with_any_support_has_a_lean(data):
    c = _half_known(data)
    if c.gate == "check_first":
        barred = {e.intervention for e in c.settled.exclusions}
        supported = [iv for iv, v in c.settled.scores.items() if round(v, 9) > 0 and iv not in barred]
        if supported:
            assert c.lean is not None, c.answers
        d = c.to_dict()["cannot_recommend"]
        assert (d["differential"][0]["intervention"] if d["differential"] else None) == d["lean"]
        assert all(x["because"] for x in d["differential"])
        assert sum(x["start_here"] for x in d["checks"]) >= 1


@SETTINGS
@given(st.data())
def test_training_never_complete_with_the_work_environment_unknown_unless_new_to_everyone(data):
    c = environment_unknown_path(data)
    if c.status == "complete" and c.primary == "training" and any(q in c.answers for q in ENVIRONMENT):
        assert "new_to_everyone" in c.findings, c.answers


DELIVERY_QUESTIONS = {"leader_can_coach", "coach_time", "role_model_available", "inhouse_expertise"}


def test_no_requirement_of_the_evidence_standard_is_about_delivery():
    rb = _rb()
    for req in rb.requirements:
        assert not set(req.checks) <= DELIVERY_QUESTIONS, req.id
    assert {q for dl in rb.delivery for q in dl.checks} >= DELIVERY_QUESTIONS


@SETTINGS
@given(st.data())
def test_no_delivery_answer_holds_a_recommendation_back(data):
    """Answering the delivery questions "no" never turns a recommendation into "check first"."""
    _, c = complete_path(lambda qid, opts: data.draw(st.sampled_from(opts), label=qid))
    if c.status != "complete":
        return
    asked = {q: "no" for q in DELIVERY_QUESTIONS if q in c.answers}
    if asked:
        other = consult({**c.answers, **asked})
        assert other.gate != "check_first" or other.settled.missing and not all(
            set(r.checks) <= DELIVERY_QUESTIONS for r in other.settled.missing), c.answers


@SETTINGS
@given(st.data())
def test_nothing_seen_costs_no_confidence(data):
    c = _half_known(data)
    for stp in c.settled.costs:
        assert not (stp.question in ("risk_of_harm", "distress_signs") and stp.answer == "no")
    if c.answers.get("risk_of_harm") != "yes" and c.answers.get("distress_signs") not in ("yes", "substance", "both"):
        assert c.safety is None and not c.safety_alert


@SETTINGS
@given(st.data())
def test_no_high_band_rests_on_one_answer(data):
    c = _half_known(data, dk_share=0.2)
    if c.status == "complete" and c.confidence_band() == "high":
        rb = _rb()
        steps = sorted((x.cf for x in c.settled.evidence[c.primary] if x.cf > 0), reverse=True)
        rest = 0.0
        for cf in steps[1:]:
            rest = rest + cf * (1 - rest)
        assert rest >= rb.settlement.confidence_bands.moderate, (c.answers, steps)


@SETTINGS
@given(st.data())
def test_rules_resting_on_one_fact_never_fire_together(data):
    c = _half_known(data, dk_share=0.2)
    rb = _rb()
    seen: dict[tuple, str] = {}
    for rid in c.fired:
        r = rb.by_id[rid]
        if r.shares:
            key = (r.shares, r.then.support.intervention)
            assert key not in seen, f"{rid} and {seen.get(key)} both count {r.shares}"
            seen[key] = rid


@SETTINGS
@given(st.data())
def test_a_consultation_ends_early_only_when_nothing_left_could_change_it(data):
    """Stopped as settled: every way of answering the questions it did not ask gives the same outcome."""
    from rules.evaluate import compiled
    from rules.settle import outcome

    c = _half_known(data, dk_share=0.3)
    if c.stopped_by != "settled":
        return
    rb = _rb()
    comp = compiled(rb)
    for _ in range(8):
        answers = dict(c.answers)
        while True:
            w = comp.walk(answers, settle_stop=False)
            if w.next_question is None:
                break
            opts = KB.question(w.next_question).option_values()
            answers[w.next_question] = data.draw(st.sampled_from(opts), label=w.next_question)
        fired = comp.fire(w.accepted)[0]
        assert outcome(rb, fired, w.accepted) == c.settled.outcome, (c.answers, w.accepted)
