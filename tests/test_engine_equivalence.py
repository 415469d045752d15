"""The plain-Python evaluator fires exactly the rules the experta engine fires."""

from __future__ import annotations

import random

from rules.conditions import closed, compile_condition, holds, standing
from rules.engine import run_engine
from rules.evaluate import fire


def test_equal_on_worked_cases(kb, rb):
    for case in kb.cases:
        assert fire(rb, case.answers) == run_engine(rb, case.answers), case.id


def test_equal_on_random_answer_sets(kb, rb):
    rnd = random.Random(20261127)
    opts = {q.id: q.option_values() for q in kb.questions}
    for _ in range(600):
        answers = {q: rnd.choice(v) for q, v in opts.items() if rnd.random() < 0.7}
        assert fire(rb, answers) == run_engine(rb, answers), answers


def test_a_resumed_walk_fires_what_a_fresh_walk_fires(rb):
    """The confidence checks walk on from the state before a question (Compiled.resume) and take the
    fired rules from the walk (Compiled.fired_by): both must equal a fresh walk and fire()."""
    import random

    from rules.evaluate import compiled

    comp = compiled(rb)
    rnd = random.Random(11)
    opts = {q.id: q.option_values() for q in rb.knowledge.questions}
    for _ in range(300):
        answers: dict[str, str] = {}
        while (w := comp.walk(answers)).next_question:
            answers[w.next_question] = rnd.choice(opts[w.next_question])
        walked, end, before = comp.walk_states(answers)
        assert walked.accepted == comp.walk(answers).accepted
        assert comp.fired_by(end) == comp.fire(walked.accepted)[0]
        n = rnd.randrange(len(walked.path))
        qid = walked.path[n]
        changed = {**walked.accepted, qid: rnd.choice(opts[qid])}
        w2, st2 = comp.resume(before[n], changed, fill="dont_know")
        fresh = comp.walk(changed, fill="dont_know")
        assert w2.accepted == fresh.accepted and w2.path == fresh.path
        assert comp.fired_by(st2) == comp.fire(fresh.accepted)[0]


def test_standing_is_holds_and_closed_in_one(rb):
    """The walk looks at each open question once (conditions.standing): 1 where holds() is true, -1
    where closed() is, 0 otherwise, for every compiled condition of the rule base on random states."""
    conds = [compile_condition(c) for c in [r.when for r in rb.rules] + [q.ask_when for q in rb.knowledge.questions]]
    rnd = random.Random(7)
    opts = {q.id: q.option_values() for q in rb.knowledge.questions}
    findings_all = sorted({f for r in rb.rules for f in r.when.findings + r.when.absent})
    kinds_all = sorted({k for r in rb.rules for k in r.when.any_finding_kinds + r.when.no_finding_kinds})
    seen = set()
    for _ in range(400):
        answers = {q: rnd.choice(v) for q, v in opts.items() if rnd.random() < 0.5}
        findings = {f for f in findings_all if rnd.random() < 0.3}
        kinds = {k for k in kinds_all if rnd.random() < 0.3}
        for c in conds:
            want = 1 if holds(c, answers, findings, kinds) else -1 if closed(c, answers, findings, kinds) else 0
            assert standing(c, answers, findings, kinds) == want, (c, answers, findings, kinds)
            seen.add(want)
    assert seen == {1, 0, -1}
