"""experta installs and imports (frozendict override), and the features the engine relies on behave."""

from __future__ import annotations

import threading


def test_experta_imports_with_frozendict_2():
    import experta
    import frozendict

    assert experta.__version__ == "1.9.4"
    assert int(frozendict.__version__.split(".")[0]) >= 2


def test_wide_fact_predicate_fields_declare_retract_and_dynamic_rules():
    from experta import Fact, KnowledgeEngine, P, Rule

    class Case(Fact):
        pass

    hits: list[str] = []

    def make(name, allowed):
        def action(self):
            hits.append(name)

        return Rule(Case(q=P(lambda v: v in allowed), findings=P(lambda fs: "f" in fs)))(action)

    Engine = type("E", (KnowledgeEngine,), {"r1": make("r1", {"a", "b"}), "r2": make("r2", {"c"})})
    e = Engine()
    e.reset()
    fact = e.declare(Case(q="b", findings=frozenset({"f"})))
    e.run()
    assert hits == ["r1"]
    e.retract(fact)
    hits.clear()
    fact = e.declare(Case(q="c", findings=frozenset()))
    e.run()
    assert hits == []  # r2 needs the finding
    e.retract(fact)
    e.declare(Case(q="c", findings=frozenset({"f"})))
    e.run()
    assert hits == ["r2"]


def test_a_missing_field_does_not_match():
    from experta import Fact, KnowledgeEngine, P, Rule

    class Case(Fact):
        pass

    fired = []

    class E(KnowledgeEngine):
        @Rule(Case(q=P(lambda v: True)))
        def r(self):
            fired.append(1)

    e = E()
    e.reset()
    e.declare(Case(other="x"))
    e.run()
    assert fired == []


def test_separate_engines_in_threads_do_not_interfere():
    from experta import Fact, KnowledgeEngine, P, Rule

    class Case(Fact):
        pass

    class E(KnowledgeEngine):
        @Rule(Case(n=P(lambda v: v % 2 == 0)))
        def even(self):
            self.out.append("even")

    results = {}

    def work(i):
        e = E()
        e.out = []
        e.reset()
        for _ in range(50):
            f = e.declare(Case(n=i))
            e.run()
            e.retract(f)
        results[i] = e.out

    ts = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert all(results[i] == (["even"] * 50 if i % 2 == 0 else []) for i in range(6))
