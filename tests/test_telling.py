"""The most telling question first (issue 18): within a stage that says so, the question asked next is,
of those allowed now, the one whose answers split the possible outcomes most; ties keep the file order,
and the stages keep theirs (safety first, the route, the environment before the person)."""

from __future__ import annotations

import pytest
from page_util import APP
from streamlit.testing.v1 import AppTest

from rules.consult import consult
from rules.evaluate import compiled
from rules.model import load_rulebase
from rules.telling import telling_scores
from rules.tree import TreeEnumerator
from rules.verify import option_classes
from rules.walk import most_telling

RB = load_rulebase()
COMP = compiled(RB)
RETENTION = {"concern": "retention", "risk_of_harm": "no", "distress_signs": "no", "people_affected": "team"}
SHORTFALL = {"concern": "shortfall", "risk_of_harm": "no", "distress_signs": "no", "gap_defined": "yes",
             "worth_closing": "yes", "people_affected": "one", "personal_circumstances": "no", "sudden_decline": "no",
             "coaching_stalled": "not_tried"}


def next_in_every_mode(answers: dict) -> str | None:
    """The next question, the same whether the walk stops early, walks the whole tree or fills in."""
    seen = {COMP.walk(answers).next_question, COMP.walk(answers, settle_stop=False).next_question,
            COMP.walk(answers, fill="dont_know").path[len(answers)] if COMP.walk(answers).next_question else None}
    seen.discard(None)
    assert len(seen) <= 1, seen
    return seen.pop() if seen else None


def test_the_order_and_its_rationale_are_data():
    order = RB.knowledge.question_order
    assert order is not None and order.rationale.strip()
    stages = [s.id for s in RB.knowledge.stages]
    assert set(order.most_telling_first) <= set(stages)
    # safety first and the route keep their file order
    assert "wellbeing" not in order.most_telling_first and "concern" not in order.most_telling_first
    assert COMP.telling_stages == frozenset(order.most_telling_first)


def test_a_question_whose_answers_split_the_outcomes_comes_before_one_whose_answers_do_not():
    scores, _gateways = telling_scores(RB, COMP.option_classes)
    # on the retention route both gap questions are allowed; the first in the file leads nowhere different
    assert scores["leavers_new"] == 1 and scores["leaving_reasons"] > 1
    assert [q for q, _ in COMP.questions].index("leavers_new") < [q for q, _ in COMP.questions].index("leaving_reasons")
    assert next_in_every_mode(RETENTION) == "leaving_reasons"
    assert next_in_every_mode({**RETENTION, "leaving_reasons": "pay"}) in (None, "leavers_new")


def test_a_gateway_comes_first_and_ties_keep_the_file_order():
    # whether the work system was looked at closes its other questions: it comes first though it is
    # second in the file; then the three questions that split the outcomes three ways, in file order
    asked = []
    answers = dict(SHORTFALL)
    good = {"environment_checked": "yes", "peers_perform": "most", "expectations_clear": "yes",
            "targets_conflict": "compatible"}
    for _ in good:
        q = next_in_every_mode(answers)
        asked.append(q)
        answers[q] = good[q]
    assert asked == ["environment_checked", "peers_perform", "expectations_clear", "targets_conflict"]
    rank = COMP.telling_rank
    assert rank["peers_perform"][:2] == rank["expectations_clear"][:2] == rank["targets_conflict"][:2]


def test_stages_outside_the_list_keep_the_file_order():
    scores, _ = telling_scores(RB, COMP.option_classes)
    assert scores["distress_signs"] > scores["risk_of_harm"]  # would come first if the stage chose
    assert next_in_every_mode({"concern": "shortfall"}) == "risk_of_harm"


def test_most_telling_keeps_to_the_stage_of_the_first_question_allowed():
    always = ((), frozenset(), frozenset(), frozenset(), frozenset())  # a condition that holds
    a, b, c = ("a", always), ("b", always), ("c", always)
    stage_of = {"a": "x", "b": "y", "c": "x"}
    rank = {"a": (0, -1, 0), "b": (-1, -9, 1), "c": (0, -2, 2)}

    def stage_order(stage: str) -> list[tuple]:
        return sorted((q for q in (a, b, c) if stage_of[q[0]] == stage), key=lambda q: rank[q[0]])

    def pick() -> str:
        return most_telling(a, stage_order(stage_of["a"]), rank, set(), {}, set(), set())[0]

    assert pick() == "c"  # b is of another stage
    rank["c"] = (0, -1, 2)
    assert pick() == "a"  # a tie: file order
    rank["c"] = (0, -2, 2)
    assert most_telling(a, stage_order("x"), rank, {"c"}, {}, set(), set())[0] == "a"  # c answered already


@pytest.mark.parametrize("answers", [dict(c.answers) for c in RB.knowledge.cases[::7]], ids=lambda a: a["concern"])
def test_the_enumeration_asks_what_the_walk_asks(answers):
    """The tree behind ``triage verify`` picks the walk's question at every state along a worked case's path."""
    tree = TreeEnumerator(RB, option_classes(RB))
    path = COMP.walk(answers, settle_stop=False).path
    for i in range(len(path) + 1):
        prefix = {q: answers[q] for q in path[:i]}
        walked = COMP.walk(prefix, settle_stop=False).next_question
        st = _tree_state(tree, prefix)
        asked = None if st.gate or st.stop else tree._next_question(st)  # a gate or a stop ends a path
        assert asked == walked, (prefix, walked)


def _tree_state(tree: TreeEnumerator, answers: dict):
    """The enumeration's state after these answers (as its search builds it, without the state key)."""
    from rules.tree import _State

    st = _State(frozenset(), {}, set(), set(), set(range(len(tree.rules))), {}, set(), None, False, False,
                req=[tree._req_step(i, (frozenset(), frozenset()), None, None) for i in range(len(tree.req_conds))])
    tree._apply(st, set(), list(tree.rules))
    for q, v in answers.items():
        st.answered = st.answered | {q}
        st.vals = {**st.vals, q: v}
        tree._apply(st, set(), list(tree.by_question.get(q, ())))
    return st


def test_the_diagnose_page_says_why_a_question_comes_ahead_of_others():
    """Why are we asking? names the questions allowed at the same point that this one is asked before,
    in the wording the page uses for the case (a team here), and only when it really jumps ahead."""
    def why_text(answers: dict) -> str:
        at = AppTest.from_file(APP, default_timeout=30)
        at.query_params.update(answers)
        at.run()
        assert not at.exception, at.exception
        return " ".join(str(m.value) for m in at.markdown)

    c = consult(RETENTION)
    assert c.next_question.id == "leaving_reasons"
    leavers = c.worded(RB.knowledge.question("leavers_new")).text
    assert "the person" not in leavers
    text = why_text(RETENTION)
    assert f"Asked before “{leavers}”: its answers separate the possible results most." in text
    # the next in file order jumps ahead of nothing, and the page says nothing of it
    assert "Asked before" not in why_text({"concern": "shortfall"})
