"""The adaptive path through the questions, and when it stops.

:class:`Walking` is a part of :class:`rules.evaluate.Compiled`: it replays answers in the order the
questions would be asked (each question's ``ask_when``), concluding findings as it goes, and stops at
a gate, at a stop finding, or once nothing left to ask can change the outcome (see :meth:`Walking.settled`).
In a stage that asks its most telling question first, the question asked is chosen as :mod:`rules.telling` says.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .conditions import accumulate, could_hold, holds, holds_for_good, net_cf, standing

SETTLED_CACHE_SIZE = 50_000  # remembered settled checks (a few MB at most)
BELOW_CACHE_SIZE = 200_000  # remembered outcomes below a state (tens of MB at most)
OTHER_CACHE_SIZE = 20_000  # remembered other-answer checks (rules.consult.other_answers; a few MB)
SEARCH_BUDGET = 400  # states the exhaustive part of the stopping check may visit per question


def most_telling(first: tuple, stage_order: list[tuple], rank: dict, answered, answers, findings, kinds) -> tuple:
    """Of the questions of ``first``'s stage allowed now, the one asked (see :mod:`rules.telling`): the
    most telling, ties in file order. ``first`` is the first question allowed, in file order, as
    (id, compiled condition); ``stage_order`` its stage's questions, most telling first; a question is
    allowed when it is not in ``answered`` and its condition holds. The walk and the enumeration behind
    ``triage verify`` (:mod:`rules.tree`) both choose through this function."""
    top = rank[first[0]]
    for q in stage_order:
        if rank[q[0]] >= top:
            break
        if q[0] not in answered and holds(q[1], answers, findings, kinds):
            return q  # allowed now (a question closed for good does not hold)
    return first


class _OverBudget(Exception):
    """The stopping check's search ran out of its budget."""


_UNDECIDED = object()  # remembered: the search for this state ran out of its budget
_MISSING = object()  # not remembered


def _store(memo: dict, bound: int, key, value):
    """Remember ``value`` under ``key`` in a memory of at most ``bound`` entries (emptied when full)."""
    if len(memo) >= bound:
        memo.clear()
    memo[key] = value
    return value


def _remembered(memo: dict, bound: int, key, make):
    """What ``memo`` holds under ``key``, else ``make()`` remembered (:func:`_store`). One read: another
    thread may empty the memory between a check and a second read."""
    found = memo.get(key, _MISSING)
    return _store(memo, bound, key, make()) if found is _MISSING else found


@dataclass(frozen=True)
class WalkResult:
    accepted: dict[str, str]
    path: list[str]
    next_question: str | None
    stopped_by: str | None


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
    def start(cls, comp: Walking) -> _WalkState:
        return cls({}, [], set(), set(), set(), list(comp.questions))

    def copy(self) -> _WalkState:
        return _WalkState(dict(self.accepted), list(self.path), set(self.findings), set(self.kinds),
                          set(self.done), list(self.pending))


class Walking:
    """Walk methods of the compiled rule base (needs the compiled questions, rules and conclusions set by
    :class:`rules.evaluate.Compiled`)."""

    def settled(self, st: _WalkState) -> tuple | None:
        """The :meth:`stop_outcome` every completion of this path reaches, if it is already settled as a
        recommendation (None when this check cannot tell).

        Sound, not complete: it over-approximates what can still happen below the state (every finding
        whose rule no given answer contradicts may still appear) and says "settled" only when one
        intervention leads whatever comes: no gate can still end the analysis; it can never be barred;
        its certainty at its lowest (only the support that holds for good, every possible evidence
        against) reaches the threshold and stays above every other intervention's highest, or the other
        is barred for good; every requirement of the evidence standard that may apply to it is met
        for good; and each other intervention is a secondary on every completion or on none (at most
        one is). The safety screen is always asked first.
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
        possible, askable = self._may_come(st)
        pkinds = {self.kind_of[f] for f in possible}
        gates = self.rb.gates
        for i, cond, g in self.gate_rules:
            if i not in st.done and could_hold(cond, acc, findings, possible, pkinds, askable) \
                    and findings.isdisjoint(gates[g].overridden_by):
                return None
        lo: dict[str, list[float]] = {}  # per intervention: [MB firm, MD possible]
        hi: dict[str, list[float]] = {}  # per intervention: [MB possible, MD firm]
        maybe_barred: set[str] = set()
        barred: set[str] = set()
        for cond, support, bars in self.decisions:
            if not could_hold(cond, acc, findings, possible, pkinds, askable):
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
            if all(self._met_for_good(app, any_of, acc, findings, kinds, possible, pkinds, askable)
                   for _req, app, any_of in self.requirements.get(iv, ())):
                return self._settled_secondary(iv, st, low_score, high_score, possible, pkinds, askable)
        return None

    def _settled_secondary(self, iv: str, st: _WalkState, low_score, high_score, possible, pkinds,
                           askable) -> tuple | None:
        """The settled recommendation of ``iv`` with its secondary, when no completion can change which
        interventions are secondary (each is one on every completion or on none; at most one is)."""
        if iv in self.rb.settlement.stop_without_secondary:
            return ("complete", None, iv, None, ())
        acc, findings, kinds = st.accepted, st.findings, st.kinds
        maybe_out: set[str] = set()
        out: set[str] = set()
        for cond, other in self.rule_outs:
            if could_hold(cond, acc, findings, possible, pkinds, askable):
                maybe_out.add(other)
                if holds_for_good(cond, acc, findings, kinds, possible, pkinds):
                    out.add(other)
        t = round(self.rb.settlement.secondary_threshold, 9)
        sure = []
        for other in self.order:
            if other == iv or other in out or high_score.get(other, 0.0) < t:
                continue  # never a secondary
            if other in maybe_out or low_score.get(other, 0.0) < t:
                return None  # a secondary on some completions only
            sure.append(other)
        if len(sure) > 1:
            return None  # their order could still change
        return ("complete", None, iv, None, tuple(sure))

    def _settled_memo(self, st: _WalkState) -> tuple | None:
        """:meth:`settled`, remembered per set of accepted answers (the walk is deterministic, so they fix
        the findings too). Replays of the same answers (each step of the app and of the interactive CLI
        walks from the first question; the decisive-answer and confidence searches share prefixes) then
        cost a look-up. Bounded: emptied when full."""
        return _remembered(self._settled_cache, SETTLED_CACHE_SIZE, frozenset(st.accepted.items()),
                           lambda: self.settled(st))

    def below(self, st: _WalkState, nxt: str) -> tuple | None:
        """The one outcome (status, gate, primary, lean) every completion of this path reaches, with
        ``nxt`` the question asked next; None when two completions reach different outcomes, or when
        that could not be decided within ``SEARCH_BUDGET`` states (then the questions go on: a
        consultation never ends while an answer could still change its outcome).

        A depth-first search over one answer of each class of every question still to come (answers
        of one class are alike to every condition, so they reach the same outcome). It first follows
        one path down from each answer (the rest answered by the first, then by the last class of
        each question), which finds two different outcomes at once on most paths; then it searches
        the whole subtree, ending at the first completion whose outcome differs. A subtree
        :meth:`settled` proves settled is not searched, and what each state leads to is remembered
        per set of accepted answers (the walk is deterministic).
        """
        key = frozenset(st.accepted.items())
        found = self._below_cache.get(key, _MISSING)  # one read (see _remembered)
        if found is not _MISSING:
            return None if found is _UNDECIDED else found
        own = None
        for pick in (0, -1):
            for cls in self.option_classes[nxt]:
                o = self._probe(st, nxt, cls[0], pick)
                if own is not None and o != own:
                    return self._remember(key, None)
                own = o
        try:  # the budget is this search's own (a list it counts down): threads search side by side
            found = self._below(st, nxt, own, [SEARCH_BUDGET])
        except _OverBudget:
            self._remember(key, _UNDECIDED)
            return None
        return found

    def _remember(self, key: frozenset, found):
        return _store(self._below_cache, BELOW_CACHE_SIZE, key, found)

    def _below(self, st: _WalkState, nxt: str, target: tuple, budget: list[int]) -> tuple | None:
        """:meth:`below` searched to the end: the one outcome below, or None as soon as a completion
        reaches an outcome other than ``target``."""
        key = frozenset(st.accepted.items())
        found = self._below_cache.get(key, _MISSING)
        if found is not _MISSING and found is not _UNDECIDED:
            return found if found == target else None
        budget[0] -= 1
        if budget[0] < 0:
            raise _OverBudget
        found = self._settled_memo(st)
        if found is None:
            for cls in self.option_classes[nxt]:
                w, after = self._walk(st.copy(), {nxt: cls[0]}, None, settle_stop=False)
                if w.next_question is None:
                    o = self.stop_outcome(self.fired_by(after), after.accepted)
                else:
                    o = self._below(after, w.next_question, target, budget)
                if o != target:
                    return None  # not remembered: the subtree was not searched to the end
            found = target
        self._remember(key, found)
        return found if found == target else None

    def clear_caches(self) -> None:
        """Forget what the stopping checks remembered (the benches start each run cold)."""
        self._settled_cache.clear()
        self._below_cache.clear()
        self._other_cache.clear()

    def remembered_other(self, key: tuple, make):
        """``make()`` remembered under ``key`` (what :func:`rules.consult.other_answers` found for one
        question of one set of answers: the confidence check and the decisive answers of the explanation
        ask it of the same questions). Bounded: emptied when full."""
        return _remembered(self._other_cache, OTHER_CACHE_SIZE, key, make)

    def _probe(self, st: _WalkState, nxt: str, value: str, pick: int) -> tuple:
        """The outcome of one completion: ``nxt`` answered ``value``, every later question by the
        ``pick``-th class of its answers."""
        w, st = self._walk(st.copy(), {nxt: value}, None, settle_stop=False)
        while w.next_question is not None:
            q = w.next_question
            w, st = self._walk(st, {q: self.option_classes[q][pick][0]}, None, settle_stop=False)
        return self.stop_outcome(self.fired_by(st), st.accepted)

    def settled_here(self, st: _WalkState, nxt: str) -> bool:
        """Whether the questions can end here: every completion of the path reaches one outcome, and
        the answers so far reach it too (so the result shown is the one any further answers would give)."""
        o = self.below(st, nxt)
        return o is not None and o == self.stop_outcome(self.fired_by(st), st.accepted)

    def _may_come(self, st: _WalkState) -> tuple[set[str], set[str]]:
        """(the findings that may still appear, the questions that may still be asked) below this state:
        a fixpoint, since a question may open once a finding appears and a finding needs answers."""
        acc, findings = st.accepted, st.findings
        possible = set(findings)
        askable: set[str] = set()
        todo = [(f, ans, need) for f, ans, need in self.producers if f not in possible]
        grow = True
        while grow:
            grow = False
            pkinds = {self.kind_of[f] for f in possible}
            for q, cond in st.pending:
                if q not in askable and q not in acc and could_hold(cond, acc, findings, possible, pkinds):
                    askable.add(q)
                    grow = True
            left = []
            for f, ans, need in todo:
                if f in possible:
                    continue
                if (not need or need <= possible) and all(
                        acc[q] in allowed if q in acc else q in askable for q, allowed in ans):
                    possible.add(f)
                    grow = True
                else:
                    left.append((f, ans, need))
            todo = left
        return possible, askable

    @staticmethod
    def _met_for_good(applies, any_of, acc, findings, kinds, possible, pkinds, askable) -> bool:
        if not could_hold(applies, acc, findings, possible, pkinds, askable):
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
        maybe = list(self.decisions_needing_none)  # a rule whose indexed finding is absent cannot hold
        for f in findings:
            maybe += self.decisions_by_finding.get(f, ())
        decisions = self.decision_rules
        fired += [decisions[i][0] for i in sorted(maybe) if holds(decisions[i][1], accepted, findings, kinds)]
        return sorted(fired, key=self.rule_order.__getitem__) if ordered else fired

    def _walk(self, st: _WalkState, answers: Mapping[str, str], fill: str | None,
              snapshots: list | None = None, settle_stop: bool = True) -> tuple[WalkResult, _WalkState]:
        accepted, path, findings, kinds, done = st.accepted, st.path, st.findings, st.kinds, st.done
        rules = self.finding_rules
        pending = st.pending  # in file order; answered and closed questions are taken out
        while True:
            item = None
            dead = []
            for q in pending:
                now = standing(q[1], accepted, findings, kinds)
                if now == 1:
                    item = q
                    break
                if now < 0:
                    dead.append(q)
            for q in dead:
                pending.remove(q)
            if item is None:
                return WalkResult(accepted, path, None, None), st
            if self.stage_of[item[0]] in self.telling_stages:
                item = most_telling(item, self.telling_order[self.stage_of[item[0]]], self.telling_rank,
                                    accepted, accepted, findings, kinds)
            nxt = item[0]
            if settle_stop and self.settled_here(st, nxt):
                return WalkResult(accepted, path, None, "settled"), st
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
