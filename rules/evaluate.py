"""A plain-Python evaluator of the rule data: the same rules as the experta engine, fired in layer order.

It is derived from the same rows as :mod:`rules.engine` and is checked equal to it on every worked
case and on thousands of random answer sets (``tests/test_engine_equivalence.py``). The adaptive
question path, the decisive-answer search, verification and batch triage use it because it is
about a hundred times faster; :func:`rules.consult.consult` reports the experta engine's own firing.

Conditions are compiled once into tuples of frozensets (:class:`Compiled`), so a test is a few set
operations rather than attribute look-ups on pydantic models.
"""

from __future__ import annotations

from collections.abc import Mapping

from .conditions import (  # noqa: F401 - re-exported: the evaluator's primitives, imported from here too
    CondFn,
    accumulate,
    closed,
    compile_condition,
    could_hold,
    holds,
    holds_for_good,
    net_cf,
)
from .model import RuleBase
from .outcome import Outcomes
from .telling import telling_rank, telling_stages
from .walk import Walking, WalkResult, _WalkState  # noqa: F401 - re-exported


class Compiled(Outcomes, Walking):
    """The rule base compiled for fast evaluation in plain Python."""

    def __init__(self, rb: RuleBase):
        self.rb = rb
        kind_of = rb.finding_kind
        # (rule id, condition, finding concluded or None, gate concluded or None)
        self.rules = [
            (r.id, compile_condition(r.when), r.then.finding, r.then.gate) for r in rb.rules
        ]
        self.finding_rules = [x for x in self.rules if x[2] or x[3]]
        self.decision_rules = [(rid, cond) for rid, cond, f, g in self.rules if not (f or g)]
        self.rule_order = {rid: i for i, (rid, *_rest) in enumerate(self.rules)}
        # which cause-analysis rules to re-check when a question is answered or a finding appears
        self.by_question: dict[str, list[int]] = {}
        self.by_finding: dict[str, list[int]] = {}
        for i, (_rid, cond, _f, _g) in enumerate(self.finding_rules):
            for q, _allowed in cond[0]:
                self.by_question.setdefault(q, []).append(i)
            for f in cond[1]:
                self.by_finding.setdefault(f, []).append(i)
        self.kind_of = kind_of
        self.stop_findings = frozenset(f for f, d in rb.findings.items() if d.stop)
        self.questions = [(q.id, compile_condition(q.ask_when)) for q in rb.knowledge.questions]
        self.stage_of = {q.id: q.stage for q in rb.knowledge.questions}
        # what each rule concludes, for outcome(): (finding, gate, (intervention, cf) | None, bars)
        self.conclusions = {
            r.id: (r.then.finding, r.then.gate,
                   (r.then.support.intervention, r.then.support.cf) if r.then.support else None,
                   frozenset([r.then.rule_out] if r.then.rule_out else (r.then.not_primary or ())))
            for r in rb.rules
        }
        self.order = {iv: i for i, iv in enumerate(rb.settlement.precedence)}
        # per question, its options in classes that no condition tells apart (every rule, question
        # and evidence-standard condition that tests the question sees them alike): another answer
        # of the same class cannot change anything, so the confidence checks try one of each class
        conds = [r.when for r in rb.rules] + [q.ask_when for q in rb.knowledge.questions] + [
            c for req in rb.requirements for c in (req.applies, *req.any_of)] + [br.when for br in rb.base_rates]
        self.option_classes: dict[str, list[list[str]]] = {}
        for q in rb.knowledge.questions:
            tests = [c.answers[q.id] for c in conds if q.id in c.answers]
            groups: dict[tuple, list[str]] = {}
            for v in q.option_values():
                groups.setdefault(tuple(v in allowed for allowed in tests), []).append(v)
            self.option_classes[q.id] = list(groups.values())
        # the stages that ask their most telling question first, and each question's place in them
        self.telling_stages = telling_stages(rb)
        self.telling_rank = telling_rank(rb, self.option_classes)
        self.telling_order: dict[str, list[tuple]] = {}  # per stage, its compiled questions by rank
        for q in sorted(self.questions, key=lambda q: self.telling_rank[q[0]]):
            self.telling_order.setdefault(self.stage_of[q[0]], []).append(q)
        # the decision rules with what they conclude, for the settled check: (condition, support, bars)
        self.decisions = [(cond, self.conclusions[rid][2], self.conclusions[rid][3])
                          for rid, cond in self.decision_rules]
        # the decision rules that rule an intervention out (it may then not even be a secondary)
        self.rule_outs = [(compile_condition(r.when), r.then.rule_out) for r in rb.rules if r.then.rule_out]
        self.rule_out_ids = frozenset(r.id for r in rb.rules if r.then.rule_out)
        # the decision rules by one finding each needs (the one fewest of them need), so that a finished
        # walk tests only the rules whose finding it has (fired_by); those that need none, always
        need_count: dict[str, int] = {}
        for _rid, cond in self.decision_rules:
            for f in cond[1]:
                need_count[f] = need_count.get(f, 0) + 1
        self.decisions_by_finding: dict[str, list[int]] = {}
        self.decisions_needing_none: list[int] = []
        for i, (_rid, cond) in enumerate(self.decision_rules):
            if cond[1]:
                key = min(cond[1], key=lambda f: (need_count[f], f))
                self.decisions_by_finding.setdefault(key, []).append(i)
            else:
                self.decisions_needing_none.append(i)
        self.gate_rules = [(i, cond, g) for i, (_rid, cond, _f, g) in enumerate(self.finding_rules) if g]
        # cause-analysis rules that conclude a finding: (finding, answer tests, findings needed); they
        # have no absent or kind tests (see rules.model.compute_layers)
        self.producers = [(f, cond[0], cond[1]) for _rid, cond, f, _g in self.finding_rules if f]
        self._settled_cache: dict[frozenset, str | None] = {}
        self._below_cache: dict[frozenset, tuple | None] = {}
        # what other answers to a question lead to (rules.consult.other_answers), per set of answers
        self._other_cache: dict[tuple, tuple | None] = {}
        # how each intervention is delivered: [(row, [established ...])]
        self.delivery = [(dl, [compile_condition(c) for c in dl.established]) for dl in rb.delivery]
        # the base rates that order a "check first" differential: [(row, condition)]
        self.base_rates = [(br, compile_condition(br.when)) for br in rb.base_rates]
        # the evidence standard: intervention -> [(requirement, applies, [any_of ...])]
        self.requirements: dict[str, list] = {}
        for req in rb.requirements:
            self.requirements.setdefault(req.intervention, []).append(
                (req, compile_condition(req.applies), [compile_condition(c) for c in req.any_of]))

    def fire(self, answers: Mapping[str, str]) -> tuple[list[str], set[str]]:
        findings: set[str] = set()
        kinds: set[str] = set()
        fired: list[str] = []
        for rid, cond, finding, _gate in self.rules:
            if holds(cond, answers, findings, kinds):
                fired.append(rid)
                if finding and finding not in findings:
                    findings.add(finding)
                    kinds.add(self.kind_of[finding])
        return fired, findings


_compiled: dict[int, Compiled] = {}


def compiled(rb: RuleBase) -> Compiled:
    """The compiled form of ``rb`` (built once per rule base object)."""
    c = _compiled.get(id(rb))
    if c is None or c.rb is not rb:
        c = _compiled[id(rb)] = Compiled(rb)
    return c


def fire(rb: RuleBase, answers: Mapping[str, str]) -> tuple[list[str], set[str]]:
    """Fire the rule base on ``answers``: (ids of fired rules in order, findings concluded)."""
    return compiled(rb).fire(answers)
