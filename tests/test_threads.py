"""Consultations running at once in threads give the same results as one by one."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor

from rules.consult import consult


def test_eight_threads_match_sequential(kb):
    rnd = random.Random(8)
    opts = {q.id: q.option_values() for q in kb.questions}
    inputs = [c.answers for c in kb.cases] + [
        {q: rnd.choice(v) for q, v in opts.items() if rnd.random() < 0.8} for _ in range(60)
    ]
    expected = [consult(a).to_dict() for a in inputs]
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(lambda a: consult(a).to_dict(), inputs * 2))
    assert got == expected * 2
