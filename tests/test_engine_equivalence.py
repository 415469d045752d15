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
