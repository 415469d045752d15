"""The experta engine compiled from the rule data, with a traced run.

Each rule row becomes one experta rule with a single pattern over ONE wide ``Case`` fact: the
answers the layer tests, each finding of the earlier layers as a field ``f_<id>=True`` (one test per
finding, shared by every rule that needs it), the set of findings (so "absent" is a plain test rather
than a NOT node) and the set of their kinds. Equal answer tests share one predicate object, so the
alpha network shares them too. The rule base is layered (a rule only tests findings of earlier
layers, see :func:`rules.model.compute_layers`), so it runs as one small engine per layer: the
findings a layer concludes go into the next layer's ``Case``. Rules only record that they fired;
the ranking is done in Python afterwards (:mod:`rules.settle`). Measured on this rule base: one fact
per finding with joins took 12.6 ms a consultation, this layout about 4.6 ms (``bench/consult.py``).
No ``@DefFacts`` (they race across threads), no OR of field constraints; multi-value tests are
``P(lambda v: v in allowed)``.

A set of engines is used by one run at a time: :func:`run_engine` takes one from a pool (or builds one,
about 0.1 s) and gives it back when the run is over, so threads that run at once each have their own and
a new thread or app session reuses one built before. Each run declares its ``Case`` fact and resets the
engine afterwards (measured on the 162-rule base, ``reset()`` is about 12 % cheaper than retracting the
fact, which propagates the removal through the network; the rules match only ``Case`` facts, so a reset
engine is the same as one whose fact was retracted).
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass

from experta import Fact, KnowledgeEngine, P
from experta import Rule as XRule

from .model import Rule, RuleBase

# experta's "watchers" log every fact (the answers: personal data) at INFO level whenever the root
# logger lets INFO through; they are for debugging the engine (``experta.watch()``), so keep them quiet.
logging.getLogger("experta.watchers").setLevel(logging.WARNING)


class Case(Fact):
    """Everything one layer may test, in ONE wide fact: each accepted answer (question id -> value),
    ``findings`` (the set of findings of the earlier layers) and ``kinds`` (the set of their kinds)."""


@dataclass(frozen=True)
class Firing:
    """One fired rule and the facts it used."""

    rule: str
    answers: dict[str, str]
    findings: tuple[str, ...]


@functools.cache
def _allowed_set(allowed: frozenset):
    # one predicate object per distinct set of values, so that experta's alpha network can share
    # the test between the rules that make it
    return P(lambda v: v in allowed)


def _allowed(values: list[str]):
    return _allowed_set(frozenset(values))


def _any_kind(kinds: list[str]):
    wanted = frozenset(kinds)
    return P(lambda ks: not wanted.isdisjoint(ks))


def _no_kind(kinds: list[str]):
    unwanted = frozenset(kinds)
    return P(lambda ks: unwanted.isdisjoint(ks))


def _findings_test(present: list[str], absent: list[str]):
    need, bar = frozenset(present), frozenset(absent)
    return P(lambda fs: need <= fs and bar.isdisjoint(fs))


def _pattern(rule: Rule) -> Case:
    w = rule.when
    fields: dict = {q: _allowed(vals) for q, vals in w.answers.items()}
    # a present finding is a field of its own (f_<id>=True): one shared test per finding
    fields.update({f"f_{f}": True for f in w.findings})
    if w.absent:
        fields["findings"] = _findings_test([], w.absent)
    if w.any_finding_kinds and w.no_finding_kinds:
        both_any, both_no = _any_kind(w.any_finding_kinds), _no_kind(w.no_finding_kinds)
        fields["kinds"] = P(lambda ks: both_any.match(ks) and both_no.match(ks))
    elif w.any_finding_kinds:
        fields["kinds"] = _any_kind(w.any_finding_kinds)
    elif w.no_finding_kinds:
        fields["kinds"] = _no_kind(w.no_finding_kinds)
    return Case(**fields)


def _action(rule_id: str):
    def action(self):  # noqa: ANN001 - experta passes the engine
        self.fired.append(rule_id)

    action.__name__ = "rule_" + rule_id.replace("-", "_")
    return action


def build_engine_classes(rb: RuleBase) -> list[type[KnowledgeEngine]]:
    """Compile the rule rows of ``rb`` into one KnowledgeEngine subclass per layer."""
    classes = []
    for layer in sorted(set(rb.layer.values())):
        attrs: dict = {}
        for i, rule in enumerate(rb.rules):
            if rb.layer[rule.id] == layer:
                attrs[f"r{i:03d}"] = XRule(_pattern(rule))(_action(rule.id))

        cls = type(f"TriageLayer{layer}", (KnowledgeEngine,), attrs)
        # the answers this layer's rules test: only these go into its Case fact (a narrower fact is
        # cheaper to propagate and compare)
        cls.tested_answers = frozenset(
            q for r in rb.rules if rb.layer[r.id] == layer for q in r.when.answers
        )
        classes.append(cls)
    return classes


_classes: dict[int, tuple[RuleBase, list[type[KnowledgeEngine]]]] = {}
_classes_lock = threading.Lock()
_pools: dict[int, tuple[RuleBase, list[list[KnowledgeEngine]]]] = {}  # sets of engines not in use, per rule base
_pools_lock = threading.Lock()


def _engine_classes(rb: RuleBase) -> list[type[KnowledgeEngine]]:
    with _classes_lock:
        hit = _classes.get(id(rb))
        if hit is None or hit[0] is not rb:
            hit = _classes[id(rb)] = (rb, build_engine_classes(rb))
        return hit[1]


def _pool(rb: RuleBase) -> list[list[KnowledgeEngine]]:
    """The sets of engines for ``rb`` not in use (call with ``_pools_lock`` held)."""
    hit = _pools.get(id(rb))
    if hit is None or hit[0] is not rb:
        hit = _pools[id(rb)] = (rb, [])
    return hit[1]


def _take_engines(rb: RuleBase) -> list[KnowledgeEngine]:
    """A set of engines for ``rb`` no other run is using: one given back earlier, else a new one."""
    with _pools_lock:
        pool = _pool(rb)
        if pool:
            return pool.pop()
    engines = [cls() for cls in _engine_classes(rb)]
    for eng in engines:
        eng.reset()  # once: afterwards each run declares its Case fact and resets again
        eng.fired = []
    return engines


def _give_back(rb: RuleBase, engines: list[KnowledgeEngine]) -> None:
    with _pools_lock:
        _pool(rb).append(engines)


def run_engine(rb: RuleBase, answers: Mapping[str, str]) -> tuple[list[str], set[str]]:
    """Run the experta engines, layer by layer, on ``answers``: (fired rule ids in order, findings).

    The engines are this run's alone (:func:`_take_engines`); each layer declares its fact and resets
    its engine after. A run that fails does not give its engines back.
    """
    engines = _take_engines(rb)
    findings: set[str] = set()
    fired: list[str] = []
    order = {r.id: i for i, r in enumerate(rb.rules)}
    for eng in engines:
        eng.fired = []
        case = Case(
            **{q: v for q, v in answers.items() if q in eng.tested_answers},
            **{f"f_{f}": True for f in findings},
            findings=frozenset(findings),
            kinds=frozenset(rb.finding_kind[f] for f in findings),
        )
        eng.declare(case)
        try:
            eng.run()
        finally:
            eng.reset()
        layer_fired = sorted(eng.fired, key=order.__getitem__)
        fired += layer_fired
        for rid in layer_fired:
            f = rb.by_id[rid].then.finding
            if f:
                findings.add(f)
    _give_back(rb, engines)  # not reached when a layer raised
    return fired, findings


def trace(rb: RuleBase, fired: list[str], answers: Mapping[str, str]) -> list[Firing]:
    """The facts each fired rule used: the answers it tested, with their values, and its findings."""
    out = []
    for rid in fired:
        w = rb.by_id[rid].when
        out.append(
            Firing(
                rule=rid,
                answers={q: answers[q] for q in w.answers if q in answers},
                findings=tuple(w.findings),
            )
        )
    return out
