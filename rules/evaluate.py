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
from dataclasses import dataclass

from knowledge.schema import Condition

from .model import RuleBase


def accumulate(measure: float, cf: float) -> float:
    """Add one piece of evidence (|cf|) to a measure of belief or disbelief: m + |cf|(1 - m)."""
    return measure + abs(cf) * (1 - measure)


def net_cf(mb: float, md: float) -> float:
    """The certainty factor from a measure of belief and one of disbelief (EMYCIN)."""
    denom = 1 - min(mb, md)
    return 0.0 if denom == 0 else (mb - md) / denom


SETTLED_CACHE_SIZE = 50_000  # remembered settled checks (a few MB at most)

CondFn = tuple  # (answers: tuple[(qid, frozenset)], need, bar, any_kinds, no_kinds)
"""A condition compiled to frozensets; see :func:`holds`."""


def compile_condition(cond: Condition) -> CondFn:
    """A condition as frozensets (see :func:`holds`); the tree enumeration compiles the same way."""
    return (
        tuple((q, frozenset(v)) for q, v in cond.answers.items()),
        frozenset(cond.findings),
        frozenset(cond.absent),
        frozenset(cond.any_finding_kinds),
        frozenset(cond.no_finding_kinds),
    )


def holds(c: CondFn, answers: Mapping[str, str], findings, kinds) -> bool:
    ans, need, bar, anyk, nok = c
    for q, allowed in ans:
        if answers.get(q) not in allowed:
            return False
    if need and not need <= findings:
        return False
    if bar and not bar.isdisjoint(findings):
        return False
    if anyk and anyk.isdisjoint(kinds):
        return False
    if nok and not nok.isdisjoint(kinds):
        return False
    return True


def could_hold(c: CondFn, answers: Mapping[str, str], findings, possible, possible_kinds) -> bool:
    """Whether ``c`` can still hold on some completion of this path: no answer it tests was given
    otherwise, the findings it needs can still appear (``possible``), none it forbids is present yet, and
    a kind it needs can still appear."""
    ans, need, bar, anyk, nok = c
    for q, allowed in ans:
        if q in answers and answers[q] not in allowed:
            return False
    if need and not need <= possible:
        return False
    if bar and not bar.isdisjoint(findings):
        return False
    if anyk and anyk.isdisjoint(possible_kinds):
        return False
    return True


def holds_for_good(c: CondFn, answers: Mapping[str, str], findings, kinds, possible, possible_kinds) -> bool:
    """Whether ``c`` holds now and on every completion of this path: it holds, and nothing it forbids can
    still appear (answers, findings and kinds only accumulate along a path)."""
    _ans, _need, bar, _anyk, nok = c
    return (holds(c, answers, findings, kinds) and (not bar or bar.isdisjoint(possible))
            and (not nok or nok.isdisjoint(possible_kinds)))


def closed(c: CondFn, answers: Mapping[str, str], findings, kinds) -> bool:
    """Whether ``c`` can never hold further down this path: an answer it tests was given otherwise, or
    a finding or kind it forbids is present (answers, findings and kinds only accumulate on a path)."""
    ans, _need, bar, _anyk, nok = c
    for q, allowed in ans:
        if q in answers and answers[q] not in allowed:
            return True
    return bool(bar and not bar.isdisjoint(findings)) or bool(nok and not nok.isdisjoint(kinds))


@dataclass(frozen=True)
class WalkResult:
    accepted: dict[str, str]
    path: list[str]
    next_question: str | None
    stopped_by: str | None


class Compiled:
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
            c for req in rb.requirements for c in (req.applies, *req.any_of)]
        self.option_classes: dict[str, list[list[str]]] = {}
        for q in rb.knowledge.questions:
            tests = [c.answers[q.id] for c in conds if q.id in c.answers]
            groups: dict[tuple, list[str]] = {}
            for v in q.option_values():
                groups.setdefault(tuple(v in allowed for allowed in tests), []).append(v)
            self.option_classes[q.id] = list(groups.values())
        # the decision rules with what they conclude, for the settled check: (condition, support, bars)
        self.decisions = [(cond, self.conclusions[rid][2], self.conclusions[rid][3])
                          for rid, cond in self.decision_rules]
        self.gate_rules = [(i, cond, g) for i, (_rid, cond, _f, g) in enumerate(self.finding_rules) if g]
        # cause-analysis rules that conclude a finding: (finding, answer tests, findings needed); they
        # have no absent or kind tests (see rules.model.compute_layers)
        self.producers = [(f, cond[0], cond[1]) for _rid, cond, f, _g in self.finding_rules if f]
        self._settled_cache: dict[frozenset, str | None] = {}
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

    def settled(self, st: _WalkState) -> str | None:
        """The intervention every completion of this path recommends, if the result is already settled.

        Sound, not complete: it over-approximates what can still happen below the state (every finding
        whose rule no given answer contradicts may still appear) and says "settled" only when one
        intervention leads whatever comes: no gate can still end the analysis; it can never be barred;
        its certainty at its lowest (only the support that holds for good, every possible evidence
        against) reaches the threshold and stays above every other intervention's highest, or the other
        is barred for good; and every requirement of the evidence standard that may apply to it is met
        for good. The safety screen is always asked first.
        """
        acc, findings, kinds = st.accepted, st.findings, st.kinds
        if "risk_of_harm" not in acc or "distress_signs" not in acc:
            return None
        # quick exit, from what holds now: a leader's lowest certainty is at most its certainty now, a
        # rival's highest at least its certainty now, and what is barred for good is barred now; so some
        # intervention must reach the threshold now, not be barred now, and lead every rival not barred now
        t = round(self.rb.settlement.primary_threshold, 9)
        cur: dict[str, list[float]] = {}
        cur_barred: set[str] = set()
        for cond, support, bars in self.decisions:
            if not cond[1] <= findings or not holds(cond, acc, findings, kinds):
                continue
            if support:
                m = cur.setdefault(support[0], [0.0, 0.0])
                m[support[1] < 0] = accumulate(m[support[1] < 0], support[1])
            else:
                cur_barred |= bars
        now = {iv: round(net_cf(*m), 9) for iv, m in cur.items()}
        if not any(cf >= t and iv not in cur_barred
                   and all(other == iv or other in cur_barred or ocf < cf for other, ocf in now.items())
                   for iv, cf in now.items()):
            return None
        possible = set(findings)
        todo = [(f, ans, need) for f, ans, need in self.producers if f not in possible]
        grow = True
        while grow:  # the findings that may still appear: a fixpoint over the rules that conclude them
            grow = False
            left = []
            for f, ans, need in todo:
                if f in possible:
                    continue
                if (not need or need <= possible) and all(q not in acc or acc[q] in allowed for q, allowed in ans):
                    possible.add(f)
                    grow = True
                else:
                    left.append((f, ans, need))
            todo = left
        pkinds = {self.kind_of[f] for f in possible}
        gates = self.rb.gates
        for i, cond, g in self.gate_rules:
            if i not in st.done and could_hold(cond, acc, findings, possible, pkinds) \
                    and findings.isdisjoint(gates[g].overridden_by):
                return None
        lo: dict[str, list[float]] = {}  # per intervention: [MB firm, MD possible]
        hi: dict[str, list[float]] = {}  # per intervention: [MB possible, MD firm]
        maybe_barred: set[str] = set()
        barred: set[str] = set()
        for cond, support, bars in self.decisions:
            if not could_hold(cond, acc, findings, possible, pkinds):
                continue
            firm = holds_for_good(cond, acc, findings, kinds, possible, pkinds)
            if support:
                iv, cf = support
                low, high = lo.setdefault(iv, [0.0, 0.0]), hi.setdefault(iv, [0.0, 0.0])
                if cf > 0:
                    high[0] = accumulate(high[0], cf)
                    if firm:
                        low[0] = accumulate(low[0], cf)
                else:
                    low[1] = accumulate(low[1], cf)
                    if firm:
                        high[1] = accumulate(high[1], cf)
            else:
                maybe_barred |= bars
                if firm:
                    barred |= bars
        low_score = {iv: round(net_cf(*m), 9) for iv, m in lo.items()}
        high_score = {iv: round(net_cf(*m), 9) for iv, m in hi.items()}
        for iv, low_cf in low_score.items():
            if low_cf < t or iv in maybe_barred:
                continue
            if any(other != iv and other not in barred and high_score[other] >= low_cf for other in high_score):
                continue
            if all(self._met_for_good(app, any_of, acc, findings, kinds, possible, pkinds)
                   for _req, app, any_of in self.requirements.get(iv, ())):
                return iv
        return None

    def _settled_memo(self, st: _WalkState) -> str | None:
        """:meth:`settled`, remembered per set of accepted answers (the walk is deterministic, so they fix
        the findings too). Replays of the same answers (each step of the app and of the interactive CLI
        walks from the first question; the decisive-answer and confidence searches share prefixes) then
        cost a look-up. Bounded: emptied when full."""
        key = frozenset(st.accepted.items())
        memo = self._settled_cache
        if key not in memo:
            if len(memo) >= SETTLED_CACHE_SIZE:
                memo.clear()
            memo[key] = self.settled(st)
        return memo[key]

    @staticmethod
    def _met_for_good(applies, any_of, acc, findings, kinds, possible, pkinds) -> bool:
        if not could_hold(applies, acc, findings, possible, pkinds):
            return True  # the requirement can never apply on this path
        return any(holds_for_good(c, acc, findings, kinds, possible, pkinds) for c in any_of)

    def walk(self, answers: Mapping[str, str], fill: str | None = None, settle_stop: bool = True) -> WalkResult:
        """The adaptive path: replay ``answers`` in the order the questions would be asked.

        With ``fill``, a question reached without an answer is answered ``fill`` (the counterfactual
        checks answer newly opened questions "don't know") and the walk goes on to the end.

        Cause-analysis rules only test answers and findings positively, so along a path (where
        answers only accumulate) findings only accumulate too. They are updated incrementally: a
        new answer re-checks only the rules that test that question, and a new finding only the
        rules that test that finding.
        """
        return self._walk(_WalkState.start(self), answers, fill, settle_stop=settle_stop)[0]

    def walk_states(self, answers: Mapping[str, str]) -> tuple[WalkResult, _WalkState, list[_WalkState]]:
        """The walk, its final state and the state before each question of the path was answered
        (for :meth:`resume`)."""
        snapshots: list[_WalkState] = []
        result, state = self._walk(_WalkState.start(self), answers, None, snapshots)
        return result, state, snapshots

    def resume(self, state: _WalkState, answers: Mapping[str, str], fill: str | None = None,
               settle_stop: bool = True) -> tuple[WalkResult, _WalkState]:
        """Go on walking from a saved state (a copy of it is used) with these answers."""
        return self._walk(state.copy(), answers, fill, settle_stop=settle_stop)

    def fired_by(self, state: _WalkState, ordered: bool = True) -> list[str]:
        """The rules a finished walk fires, as :meth:`fire` gives them on its accepted answers: the
        cause-analysis rules the walk concluded and the decision rules on its findings (in firing
        order unless ``ordered`` is False: settling does not depend on the order)."""
        rules = self.finding_rules
        fired = [rules[i][0] for i in state.done]
        accepted, findings, kinds = state.accepted, state.findings, state.kinds
        fired += [rid for rid, cond in self.decision_rules if holds(cond, accepted, findings, kinds)]
        return sorted(fired, key=self.rule_order.__getitem__) if ordered else fired

    def _walk(self, st: _WalkState, answers: Mapping[str, str], fill: str | None,
              snapshots: list | None = None, settle_stop: bool = True) -> tuple[WalkResult, _WalkState]:
        accepted, path, findings, kinds, done = st.accepted, st.path, st.findings, st.kinds, st.done
        rules = self.finding_rules
        pending = st.pending  # in question order; answered and closed questions are taken out
        checked: tuple | None = None  # (findings, stage) at the last settled check
        while True:
            item = None
            dead = []
            for q in pending:
                if holds(q[1], accepted, findings, kinds):
                    item = q
                    break
                if closed(q[1], accepted, findings, kinds):
                    dead.append(q)
            for q in dead:
                pending.remove(q)
            if item is None:
                return WalkResult(accepted, path, None, None), st
            nxt = item[0]
            # the settled check runs when a finding has appeared or a new stage begins (cheaper than at
            # every question; a stage's questions seldom settle a result one by one)
            if settle_stop and (len(findings), self.stage_of[nxt]) != checked:
                if self._settled_memo(st):
                    return WalkResult(accepted, path, None, "settled"), st
                checked = (len(findings), self.stage_of[nxt])
            if nxt not in answers:
                if fill is None:
                    return WalkResult(accepted, path, nxt, None), st
                value = fill
            else:
                value = answers[nxt]
            if snapshots is not None:
                snapshots.append(st.copy())
            pending.remove(item)
            accepted[nxt] = value
            path.append(nxt)
            work = list(self.by_question.get(nxt, ()))
            gate = None
            while work:
                i = work.pop()
                if i in done:
                    continue
                _rid, cond, finding, g = rules[i]
                if holds(cond, accepted, findings, kinds):
                    done.add(i)
                    if g:
                        gate = gate or g
                    elif finding not in findings:
                        findings.add(finding)
                        kinds.add(self.kind_of[finding])
                        work.extend(self.by_finding.get(finding, ()))
            stop = gate or next(iter(sorted(findings & self.stop_findings)), None)
            if stop:
                return WalkResult(accepted, path, None, stop), st


@dataclass
class _WalkState:
    """Where a walk stands: answers accepted, path, findings and kinds, cause-analysis rules decided,
    and the questions still open."""

    accepted: dict
    path: list
    findings: set
    kinds: set
    done: set
    pending: list

    @classmethod
    def start(cls, comp: Compiled) -> _WalkState:
        return cls({}, [], set(), set(), set(), list(comp.questions))

    def copy(self) -> _WalkState:
        return _WalkState(dict(self.accepted), list(self.path), set(self.findings), set(self.kinds),
                          set(self.done), list(self.pending))


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
