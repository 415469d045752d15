"""The plain-Python evaluator fires exactly the rules the experta engine fires."""

from __future__ import annotations

import random

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
