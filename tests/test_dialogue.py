"""The stopping rule (issue 18): a consultation ends once nothing left to ask can change its outcome
(status, gate, primary, lean, and the secondary of a recommendation), and asks no question that cannot
change it.

Checked against an enumeration written here, independent of the engine's search (no sound shortcut, no
shared memory): every completion of a path is walked, one answer of each class of every question still
to come, and its outcome computed from the fired rules. Where a subtree is too large to walk in a test
(a stop proven early, with many questions left), random completions are checked instead, and the test
says how many were checked each way.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from path_util import dialogue_path

import rules.walk as walk_module
from rules.consult import consult
from rules.evaluate import compiled
from rules.model import load_rulebase
from rules.walk import _WalkState

RB = load_rulebase()
COMP = compiled(RB)
CAP = 3_000  # completions the independent enumeration walks before it falls back to sampling
BEFORE = json.loads((Path(__file__).resolve().parents[1] / "bench" / "data" / "questions_before.json").read_text())


def leaf_outcome(answers: dict) -> tuple:
    w = COMP.walk(answers, settle_stop=False)
    assert w.next_question is None
    return COMP.stop_outcome(COMP.fire(w.accepted)[0], w.accepted)


def stop_outcome(c) -> tuple:
    """The outcome the questions wait for, read from a consultation: status, gate, primary, lean and the
    secondary of a recommendation (not waited for after a primary in ``stop_without_secondary``)."""
    wait = c.status == "complete" and c.primary not in RB.settlement.stop_without_secondary
    return (*c.settled.outcome, tuple(c.secondary) if wait else ())


def outcomes_below(answers: dict, cap: int = CAP) -> set | None:
    """Every outcome the completions of this path reach (None when there are more than ``cap``).

    Each completion goes on from its parent's place in the plain walk (``resume`` with no stopping
    check: the walk from scratch replays the same answers in the same order, without the search)."""
    seen: set = set()
    count = 0

    def go(state: _WalkState, ans: dict) -> bool:
        nonlocal count
        w, here = COMP.resume(state, ans, settle_stop=False)
        if w.next_question is None:
            count += 1
            seen.add(COMP.stop_outcome(COMP.fire(w.accepted)[0], w.accepted))
            return count <= cap
        return all(go(here, {**ans, w.next_question: cls[0]}) for cls in COMP.option_classes[w.next_question])

    return seen if go(_WalkState.start(COMP), dict(answers)) else None


def sampled_outcomes(answers: dict, rng: random.Random, n: int = 24, enough: int | None = None) -> set:
    """The outcomes of ``n`` random completions (fewer once ``enough`` different ones are found)."""
    out = set()
    start = COMP.resume(_WalkState.start(COMP), answers, settle_stop=False)
    for _ in range(n):
        if enough is not None and len(out) >= enough:
            break
        ans = dict(answers)
        w, here = start
        while w.next_question is not None:
            ans[w.next_question] = rng.choice(COMP.option_classes[w.next_question])[0]
            w, here = COMP.resume(here, ans, settle_stop=False)
        out.add(leaf_outcome(ans))
    return out


def differ_somewhere(answers: dict, rng: random.Random) -> bool | None:
    """Whether two completions reach different outcomes (None: not found by sampling, too many to walk)."""
    if len(sampled_outcomes(answers, rng, enough=2)) > 1:
        return True
    found = outcomes_below(answers)
    return None if found is None else len(found) > 1


def half_known_paths(n: int, seed: int) -> list[dict]:
    """Random paths on every route, about a third of the answers "don't know", each answered to the end."""
    rng = random.Random(seed)
    routes = [v for v in RB.knowledge.question("concern").option_values()]
    paths = []
    for i in range(n):
        paths.append(dialogue_path(
            lambda qid, opts: "dont_know" if rng.random() < 0.33 and "dont_know" in opts else rng.choice(opts),
            {"concern": routes[i % len(routes)]}, RB))
    return paths


PATHS = [dict(c.answers) for c in RB.knowledge.cases] + half_known_paths(40, seed=18)


@pytest.mark.slow  # more than 5 s on a quiet machine
def test_a_consultation_ends_only_when_nothing_left_could_change_it():
    rng = random.Random(1)
    exact = sampled = 0
    for answers in PATHS:
        w = COMP.walk(answers)
        if w.stopped_by != "settled":
            continue
        c = consult(answers, RB)
        assert c.stopped_by == "settled"
        found = outcomes_below(w.accepted)
        if found is None:
            sampled += 1
            found = sampled_outcomes(w.accepted, rng, 48)
        else:
            exact += 1
        assert found == {stop_outcome(c)}, (w.accepted, found, c.settled.outcome)
    assert exact >= 20, (exact, sampled)  # most stops are checked by walking every completion


@pytest.mark.slow  # more than 5 s on a quiet machine
def test_no_question_is_asked_whose_answers_all_lead_to_one_outcome():
    """At every question asked on the worked cases and the random paths, two completions reach different
    outcomes; the only exception allowed is a state whose search ran out of its budget (then asking is
    the safe side), and those must be rare."""
    rng = random.Random(2)
    asked = over_budget = 0
    for answers in PATHS:
        path = COMP.walk(answers).path
        for i in range(len(path)):
            prefix = {q: answers[q] for q in path[:i]}
            w, st = COMP._walk(_WalkState.start(COMP), prefix, None)
            assert w.next_question == path[i]  # the consultation asked it
            asked += 1
            if COMP._below_cache.get(frozenset(st.accepted.items())) is walk_module._UNDECIDED:
                over_budget += 1
                continue
            assert differ_somewhere(prefix, rng) is not False, (prefix, path[i])
    assert asked > 1000
    assert over_budget <= asked * 0.02, (over_budget, asked)


def test_worked_cases_keep_their_results_with_no_more_questions_than_before():
    for case in RB.knowledge.cases:
        c = consult(dict(case.answers), RB)
        e = case.expected
        assert (c.status, c.primary, c.gate, c.lean) == (e.status, e.primary, e.reason, e.lean), case.id
        if case.id in BEFORE["asked"]:
            assert len(c.answers) <= BEFORE["asked"][case.id], case.id


@pytest.mark.parametrize("answers", PATHS[:66:6])
def test_the_search_agrees_with_the_enumeration_where_both_finish(answers):
    """Below each state of the path, the engine's search and the enumeration here find the same thing:
    one outcome, or more than one."""
    path = COMP.walk(answers, settle_stop=False).path
    for i in range(len(path)):
        prefix = {q: answers[q] for q in path[:i]}
        w, st = COMP._walk(_WalkState.start(COMP), prefix, None, settle_stop=False)
        found = outcomes_below(prefix, cap=600)
        if found is None:
            continue
        mine = COMP.below(st, w.next_question)
        if COMP._below_cache.get(frozenset(st.accepted.items())) is walk_module._UNDECIDED:
            continue
        assert (mine is None) == (len(found) > 1), (prefix, found, mine)
        if mine is not None:
            assert found == {mine}
