"""Consultations running at once in threads give the same results as one by one."""

from __future__ import annotations

import random
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from path_util import dialogue_path

from rules.consult import consult
from rules.evaluate import compiled


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


def test_stopping_searches_in_threads_at_once_match_sequential(kb, rb):
    """The stopping check's searches run side by side in threads, from an empty memory and switching
    threads often, and walk where the one-by-one walks went. (The test above finds the memory full, so
    its threads mostly read it.) Each search counts down its own budget and reads the shared memory
    once per look-up; this test rarely meets a search near its budget, so it guards the memory more
    than the budget."""
    comp = compiled(rb)
    rnd = random.Random(9)
    paths = [dialogue_path(lambda q, values: rnd.choice(values), rb=rb) for _ in range(20)]
    inputs = [dict(list(p.items())[:n]) for p in paths for n in range(2, len(p) + 1, 2)]
    comp.clear_caches()
    expected = [comp.walk(a) for a in inputs]
    switch = sys.getswitchinterval()
    try:
        sys.setswitchinterval(1e-4)
        comp.clear_caches()
        with ThreadPoolExecutor(max_workers=8) as pool:
            assert list(pool.map(comp.walk, inputs)) == expected
    finally:
        sys.setswitchinterval(switch)


def test_engines_serve_one_run_at_a_time_and_are_reused_on_other_threads(kb):
    """The experta engines are built once and reused by later runs on any thread (Streamlit runs every
    click in a new thread), but never by two runs at once; a run that fails keeps none."""
    from rules import engine
    from rules.model import HERE, load_rulebase_from

    rb = load_rulebase_from(HERE, kb)  # a rule base of its own: no other test's engines in its pool
    answers = kb.cases[0].answers
    expected = engine.run_engine(rb, answers)
    for _ in range(3):  # one after another, each on a new thread
        done = []
        t = threading.Thread(target=lambda done=done: done.append(engine.run_engine(rb, answers)))
        t.start()
        t.join()
        assert done == [expected]
    assert len(engine._pools[id(rb)][1]) == 1  # one set, built once
    one, two = engine._take_engines(rb), engine._take_engines(rb)  # two runs at once
    assert one is not two and not set(map(id, one)) & set(map(id, two))
    engine._give_back(rb, one)
    engine._give_back(rb, two)
    assert len(engine._pools[id(rb)][1]) == 2
    class Unreadable(dict):
        def items(self):
            raise RuntimeError("the answers cannot be read")

    with pytest.raises(RuntimeError):
        engine.run_engine(rb, Unreadable(answers))
    assert len(engine._pools[id(rb)][1]) == 1  # the failed run's engines are not given back
    assert engine.run_engine(rb, answers) == expected
