"""Exhaustive enumeration of the adaptive question tree, for ``triage verify``.

The tree has a branch for every class of answers to every question the walk asks (options no
condition tells apart are merged, see :func:`rules.verify.option_classes`), so it has far too many
paths to walk one by one. But what can still happen below a node depends on much less than the path
that led there:

- the questions still open (not answered, and not ruled out for good by their ``ask_when``);
- the answers, findings and finding kinds that some rule or question still undecided tests;
- the rules still undecided;
- what the decided decision rules concluded: belief and disbelief per intervention (order does not
  matter, see :mod:`rules.settle`), and which interventions are barred from leading.

A rule is decided once it fired for good (it tests only the presence of answers, findings and kinds,
all of which only accumulate along a path) or can no longer fire (an answer it needs was answered
otherwise, a finding it needs can no longer appear, a finding or kind it forbids is present). Nodes
with the same state have the same subtree, so each state is expanded once: the walk over states is a
depth-first search of a graph with far fewer nodes than the tree has paths, and it visits every state
the tree can reach. Every leaf state is settled as :func:`rules.settle.settle` would settle it and
counted: gaps, conflicts, recommendations, "check first" results (and that each recommendation meets
the evidence standard of its intervention), paths that never asked the risk-of-harm question, and
paths with a risk of harm that did not end in an urgent referral.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from operator import add

from knowledge.schema import DONT_KNOW, INTERVENTION_IDS

from .evaluate import compile_condition, compiled, holds
from .model import RuleBase
from .settle import accumulate, net_cf
from .walk import most_telling

MAX_EXAMPLES = 5
SAFETY_QUESTION = "risk_of_harm"  # asked on every route; its "yes" must always end in a referral
SAFETY_FINDING = "risk_of_harm"
# the counts kept per subtree: paths, gaps, conflicts, recommendations, "check first" results (a
# leaning intervention without the evidence it needs, or nothing supported), paths that never asked
# the safety question, paths with a risk of harm that did not end in a referral
COUNTS = ("paths", "gap_paths", "conflict_paths", "complete_paths", "check_first_paths",
          "unscreened_paths", "risk_not_referred_paths")
DIGITS = 12  # belief values are rounded in the state so that equal sums merge


@dataclass(frozen=True)
class _Rule:
    index: int
    id: str
    cond: tuple  # compiled as in rules.evaluate: (answers, need, bar, any_kinds, no_kinds)
    finding: str | None
    gate: str | None
    support: tuple[str, float] | None
    bars: frozenset  # interventions ruled out or barred from leading
    monotone: bool  # once it holds it holds for good (no absence or missing-kind test)

    @property
    def decision(self) -> bool:
        return not (self.finding or self.gate)


@dataclass
class Enumeration:
    """What the enumeration found."""

    complete: bool = True  # False when it stopped at the state budget
    states: int = 0  # distinct states expanded
    leaves: int = 0  # leaves settled (complete paths, counted once per distinct parent state)
    paths: int = 0  # complete paths of the tree (one per class of answers), when complete
    gap_paths: int = 0
    conflict_paths: int = 0
    complete_paths: int = 0
    check_first_paths: int = 0
    unscreened_paths: int = 0  # must be 0: every path asks the risk-of-harm question
    risk_not_referred_paths: int = 0  # must be 0: a risk of harm always ends in an urgent referral
    gaps: list[list[tuple[str, str]]] = field(default_factory=list)
    conflicts: list[dict] = field(default_factory=list)
    unsafe: list[list[tuple[str, str]]] = field(default_factory=list)  # examples of the last two
    fired: set[str] = field(default_factory=set)
    asked: set[str] = field(default_factory=set)
    routes: dict[str, dict[str, int]] = field(default_factory=dict)  # first question's answer -> counts

    def set_counts(self, counts: tuple) -> None:
        for name, n in zip(COUNTS, counts, strict=True):
            setattr(self, name, n)


class _State:
    __slots__ = ("answered", "vals", "findings", "kinds", "pending", "belief", "barred", "gate", "stop", "dk",
                 "screened", "req")

    def __init__(self, answered, vals, findings, kinds, pending, belief, barred, gate, stop, dk, screened=False,
                 req=None):
        self.answered = answered  # frozenset: questions answered or closed for good
        self.vals = vals  # dict question -> value (only those still tested)
        self.findings = findings  # set
        self.kinds = kinds  # set
        self.pending = pending  # set of rule indices still undecided
        self.belief = belief  # dict intervention -> (MB, MD)
        self.barred = barred  # set of interventions that must not lead
        self.gate = gate
        self.stop = stop
        self.dk = dk
        self.screened = screened  # the safety question was answered on the path
        self.req = req  # list: per requirement condition, True/False or (findings seen, kinds seen)


class TreeEnumerator:
    """Enumerates the distinct states of the adaptive question tree of a rule base."""

    def __init__(self, rb: RuleBase, classes: dict[str, list[tuple[str, bool]]]):
        self.rb = rb
        self.classes = classes
        self.kind_of = rb.finding_kind
        self.stop_findings = frozenset(f for f, d in rb.findings.items() if d.stop)
        self.rules: list[_Rule] = []
        for i, r in enumerate(rb.rules):
            t = r.then
            c = compile_condition(r.when)
            self.rules.append(_Rule(
                i, r.id, c, t.finding, t.gate,
                (t.support.intervention, t.support.cf) if t.support else None,
                frozenset([t.rule_out] if t.rule_out else (t.not_primary or [])),
                not (c[2] or c[4]),
            ))
        self.questions = [(q.id, compile_condition(q.ask_when)) for q in rb.knowledge.questions]
        comp = compiled(rb)  # the walk's choice among the questions allowed next (rules.telling)
        self.stage_of, self.telling_stages, self.telling_rank = comp.stage_of, comp.telling_stages, comp.telling_rank
        self.telling_order = comp.telling_order
        self.by_question: dict[str, list[_Rule]] = {}
        self.by_finding: dict[str, list[_Rule]] = {}
        self.by_absent: dict[str, list[_Rule]] = {}
        self.by_kind: dict[str, list[_Rule]] = {}
        self.by_no_kind: dict[str, list[_Rule]] = {}
        for r in self.rules:
            ans, need, bar, anyk, nok = r.cond
            for q, _ in ans:
                self.by_question.setdefault(q, []).append(r)
            for f in need:
                self.by_finding.setdefault(f, []).append(r)
            for f in bar:
                self.by_absent.setdefault(f, []).append(r)
            for k in anyk:
                self.by_kind.setdefault(k, []).append(r)
            for k in nok:
                self.by_no_kind.setdefault(k, []).append(r)
        self.threshold = rb.settlement.primary_threshold
        self.order = {iv: i for i, iv in enumerate(rb.settlement.precedence)}
        # The evidence standard: each condition of a requirement is followed along the path by what it
        # has seen of its own findings and kinds (they only accumulate), or by True/False once decided;
        # the answers it tests and the findings the safety check and the gates test stay in the state.
        conds: dict[str, tuple] = {}
        for req in rb.requirements:
            for c in (req.applies, *req.any_of):
                conds.setdefault(c.model_dump_json(), compile_condition(c))
        self.req_index = {key: i for i, key in enumerate(conds)}
        self.req_conds = list(conds.values())
        self.req_of: dict[str, list[tuple[int, list[int]]]] = {}
        for req in rb.requirements:
            self.req_of.setdefault(req.intervention, []).append((
                self.req_index[req.applies.model_dump_json()],
                [self.req_index[c.model_dump_json()] for c in req.any_of]))
        self.req_by_f: dict[str, list[int]] = {}
        self.req_by_k: dict[str, list[int]] = {}
        for i, (_ans, need, bar, anyk, nok) in enumerate(self.req_conds):
            for f in need | bar:
                self.req_by_f.setdefault(f, []).append(i)
            for k in anyk | nok:
                self.req_by_k.setdefault(k, []).append(i)
        self.always_q = frozenset(q for c in self.req_conds for q, _ in c[0])
        self.always_f = frozenset({SAFETY_FINDING} | {f for g in rb.gates.values() for f in g.overridden_by})
        self.all_questions = frozenset(q for q, _ in self.questions)
        self.ask_when = dict(self.questions)
        self.rule_needs = [r.cond[1] for r in self.rules]
        self.rule_asks = [frozenset(q for q, _ in r.cond[0]) for r in self.rules]
        self._memo_sig: dict[tuple, tuple[bool, ...]] = {}
        self._memo_cfs: dict[frozenset, tuple] = {}
        self._memo_possible: dict[tuple, frozenset] = {}
        self._memo_tested: dict[tuple, tuple] = {}
        self._memo_req: dict[tuple, tuple] = {}

    # ---- one step ------------------------------------------------------------------------------

    def _apply(self, st: _State, fired: set[str], work: list[_Rule]) -> None:
        """Decide the rules in ``work`` (and those that depend on what they conclude)."""
        while work:
            r = work.pop()
            if r.index not in st.pending:
                continue
            ans, need, bar, anyk, nok = r.cond
            if any(q in st.answered and st.vals.get(q) not in allowed for q, allowed in ans) or (
                bar and not bar.isdisjoint(st.findings)) or (nok and not nok.isdisjoint(st.kinds)):
                st.pending.discard(r.index)  # can no longer fire
                continue
            if not r.monotone or not holds(r.cond, st.vals, st.findings, st.kinds):
                continue
            st.pending.discard(r.index)
            fired.add(r.id)
            if r.gate:
                st.gate = st.gate or r.gate
            elif r.finding:
                f = r.finding
                if f in st.findings:
                    continue
                st.findings.add(f)
                k = self.kind_of[f]
                for i in {*self.req_by_f.get(f, ()), *self.req_by_k.get(k, ())}:
                    st.req[i] = self._req_step(i, st.req[i], f, k)
                if f in self.stop_findings:
                    st.stop = True
                work.extend(self.by_finding.get(f, ()))
                work.extend(self.by_absent.get(f, ()))
                k = self.kind_of[f]
                if k not in st.kinds:
                    st.kinds.add(k)
                    work.extend(self.by_kind.get(k, ()))
                    work.extend(self.by_no_kind.get(k, ()))
            else:
                self._conclude(st.belief, st.barred, r)

    def _req_step(self, i: int, status, f: str | None, k: str | None):
        """A requirement condition's status after finding ``f`` (of kind ``k``) is concluded: True or
        False once decided for good, else (its findings seen, its kinds seen)."""
        if status is True or status is False:
            return status
        _ans, need, bar, anyk, nok = self.req_conds[i]
        have_f, have_k = status
        if f is not None and (f in need or f in bar):
            have_f = have_f | {f}
        if k is not None and (k in anyk or k in nok):
            have_k = have_k | {k}
        if have_f & bar or have_k & nok:
            return False
        if need <= have_f and (not anyk or have_k & anyk) and not bar and not nok and not _ans:
            return True
        return (have_f, have_k)

    def _req_holds(self, st: _State, i: int) -> bool:
        status = st.req[i]
        if status is True or status is False:
            return status
        ans, need, _bar, anyk, _nok = self.req_conds[i]
        have_f, have_k = status
        return (need <= have_f and (not anyk or bool(have_k & anyk))
                and all(st.vals.get(q) in allowed for q, allowed in ans))

    def _req_signature(self, st: _State) -> tuple:
        """Per intervention that may still lead: its evidence standard already met, already missed,
        or the statuses of the conditions still undecided (what the leaves below will test).
        Remembered per (statuses, barred): many states share them."""
        key = (tuple(st.req), frozenset(st.barred))
        got = self._memo_req.get(key)
        if got is None:
            got = self._memo_req[key] = self._req_signature_of(st)
        return got

    def _req_signature_of(self, st: _State) -> tuple:
        sig = []
        for iv in INTERVENTION_IDS:
            if iv in st.barred or iv not in self.req_of:
                sig.append(None)
                continue
            parts, missed = [], False
            for applies, any_of in self.req_of[iv]:
                alts = [st.req[c] for c in any_of]
                a = st.req[applies]
                if a is False or any(x is True for x in alts):
                    continue  # met for good
                if a is True and all(x is False for x in alts):
                    missed = True
                    break
                parts.append((a, tuple(x for x in alts if x is not False)))
            sig.append("missed" if missed else tuple(parts))
        return tuple(sig)

    def _missing(self, st: _State, iv: str) -> bool:
        """Whether ``iv`` misses a requirement of the evidence standard at this leaf."""
        return any(self._req_holds(st, applies) and not any(self._req_holds(st, c) for c in any_of)
                   for applies, any_of in self.req_of.get(iv, ()))

    @staticmethod
    def _conclude(belief: dict, barred: set, r: _Rule) -> None:
        if r.support:
            iv, cf = r.support
            mb, md = belief.get(iv, (0.0, 0.0))
            if cf >= 0:
                mb = round(accumulate(mb, cf), DIGITS)
            else:
                md = round(accumulate(md, cf), DIGITS)
            belief[iv] = (mb, md)
        barred |= r.bars

    def _next_question(self, st: _State) -> str | None:
        """The question the walk asks next (:meth:`rules.walk.Walking._walk`): the first allowed in file
        order, or in a stage that asks its most telling question first, the most telling allowed now."""
        for item in self.questions:
            qid, cond = item
            if qid not in st.answered and holds(cond, st.vals, st.findings, st.kinds):
                stage = self.stage_of[qid]
                if stage not in self.telling_stages:
                    return qid
                return most_telling(item, self.telling_order[stage], self.telling_rank,
                                    st.answered, st.vals, st.findings, st.kinds)[0]
        return None

    # ---- the state key -------------------------------------------------------------------------

    def _possible_findings(self, findings: frozenset, pending: frozenset) -> frozenset:
        """Findings present or still concludable by an undecided rule (an over-estimate)."""
        key = (findings, pending)
        got = self._memo_possible.get(key)
        if got is None:
            possible = set(findings)
            producers = [self.rules[i] for i in pending if self.rules[i].finding]
            changed = True
            while changed:
                changed = False
                for r in producers:
                    if r.finding not in possible and r.cond[1] <= possible:
                        possible.add(r.finding)
                        changed = True
            got = self._memo_possible[key] = frozenset(possible)
        return got

    def _tested(self, open_q: frozenset, pending: frozenset) -> tuple[frozenset, frozenset, frozenset]:
        """The questions, findings and kinds that the undecided rules and open questions test."""
        key = (open_q, pending)
        got = self._memo_tested.get(key)
        if got is None:
            tested_q: set[str] = set()
            tested_f: set[str] = set()
            tested_k: set[str] = set()
            conds = [self.rules[i].cond for i in pending] + [self.ask_when[qid] for qid in open_q]
            for ans, need, bar, anyk, nok in conds:
                tested_q.update(q for q, _ in ans)
                tested_f |= need | bar
                tested_k |= anyk | nok
            got = self._memo_tested[key] = (frozenset(tested_q) | self.always_q, frozenset(tested_f) | self.always_f,
                                            frozenset(tested_k))
        return got

    def _settle_open(self, st: _State) -> tuple:
        """Drop what no undecided rule or open question tests; return the key of the state."""
        possible = self._possible_findings(frozenset(st.findings), frozenset(st.pending))
        answered, vals, findings, kinds = st.answered, st.vals, st.findings, st.kinds
        open_q = []
        conds = self.ask_when
        for qid in self.all_questions - answered:
            ans, need, bar, _anyk, nok = conds[qid]
            for q, allowed in ans:  # (a loop, not any(): this runs for every question of every state)
                if q in answered and vals.get(q) not in allowed:
                    break  # answered otherwise
            else:
                if need <= possible and bar.isdisjoint(findings) and nok.isdisjoint(kinds):
                    open_q.append(qid)
        open_set = frozenset(open_q)
        reach = answered | open_set
        needs, asks = self.rule_needs, self.rule_asks
        # a rule that needs a finding or an answer that can no longer come is decided: it will not fire
        st.pending.difference_update([i for i in st.pending if not (needs[i] <= possible and asks[i] <= reach)])
        pending = frozenset(st.pending)
        tested_q, tested_f, tested_k = self._tested(open_set, pending)
        st.vals = {q: v for q, v in vals.items() if q in tested_q}
        st.findings &= tested_f
        st.kinds &= tested_k
        st.answered = self.all_questions - open_set
        # The answers kept in ``st.vals`` are not part of the key: each passed the tests of the
        # undecided rules and open questions that name it (otherwise those would be decided or
        # closed), so two states with the same undecided rules and open questions behave alike.
        return (
            open_set,
            frozenset(st.findings),
            frozenset(st.kinds),
            pending,
            self._belief_signature(st.belief, pending),
            frozenset(st.barred),
            st.dk,
            st.screened,
            self._req_signature(st),
        )

    def _belief_signature(self, belief: dict, pending: frozenset) -> tuple:
        """Per intervention, whether it reaches the threshold under each combination of the support
        rules still undecided: states with equal signatures settle alike whatever comes next."""
        cfs_by_iv = self._memo_cfs.get(pending)
        if cfs_by_iv is None:
            cfs_by_iv = self._memo_cfs[pending] = tuple(
                tuple(sorted(self.rules[i].support[1] for i in pending
                             if self.rules[i].support and self.rules[i].support[0] == iv))
                for iv in INTERVENTION_IDS
            )
        sig = []
        for iv, cfs in zip(INTERVENTION_IDS, cfs_by_iv, strict=True):
            mb, md = belief.get(iv, (0.0, 0.0))
            key = (mb, md, cfs)
            v = self._memo_sig.get(key)
            if v is None:
                v = self._memo_sig[key] = self._outcomes(mb, md, cfs)
            sig.append(v)
        return tuple(sig)

    def _outcomes(self, mb: float, md: float, cfs: tuple[float, ...]) -> tuple[bool, ...]:
        factors = {(1.0, 1.0)}  # what each subset of the pending evidence leaves of (1 - MB, 1 - MD)
        for cf in cfs:
            factors |= {(round(fp * (1 - cf), DIGITS), fn) if cf >= 0 else (fp, round(fn * (1 + cf), DIGITS))
                        for fp, fn in factors}
        return tuple(
            round(net_cf(1 - (1 - mb) * fp, 1 - (1 - md) * fn), 9) >= self.threshold for fp, fn in sorted(factors)
        )

    # ---- leaves --------------------------------------------------------------------------------

    def _leaf(self, st: _State, path: list, out: Enumeration) -> tuple[int, ...]:
        """Settle a complete path; its counts in the order of ``COUNTS``."""
        out.leaves += 1
        belief = dict(st.belief)
        barred = set(st.barred)
        for i in st.pending:
            r = self.rules[i]
            if r.decision and holds(r.cond, st.vals, st.findings, st.kinds):
                out.fired.add(r.id)
                self._conclude(belief, barred, r)
        unscreened = 0 if st.screened else 1
        risk = SAFETY_FINDING in st.findings
        if st.gate and st.findings.isdisjoint(self.rb.gates[st.gate].overridden_by):
            return self._unsafe(path, out, (1, 0, 0, 0, 0, unscreened, int(risk)))
        scores = {iv: round(net_cf(*belief.get(iv, (0.0, 0.0))), 9) for iv in INTERVENTION_IDS}
        supported = [iv for iv in INTERVENTION_IDS if scores[iv] >= self.threshold]
        candidates = sorted((iv for iv in supported if iv not in barred), key=lambda iv: (-scores[iv], self.order[iv]))
        gap = conflict = 0
        if supported and not candidates:
            conflict = 1
            if len(out.conflicts) < MAX_EXAMPLES:
                out.conflicts.append({"path": list(path), "barred": supported})
        elif not supported and not st.dk:
            gap = 1
            if len(out.gaps) < MAX_EXAMPLES:
                out.gaps.append(list(path))
        if not candidates:
            return self._unsafe(path, out, (1, gap, conflict, 0, 1, unscreened, int(risk)))
        primary = candidates[0]
        if self._missing(st, primary):
            return self._unsafe(path, out, (1, 0, 0, 0, 1, unscreened, int(risk)))
        return self._unsafe(path, out, (1, 0, 0, 1, 0, unscreened, int(risk and primary != "counselling_referral")))

    @staticmethod
    def _unsafe(path: list, out: Enumeration, counts: tuple) -> tuple:
        if (counts[5] or counts[6]) and len(out.unsafe) < MAX_EXAMPLES:
            out.unsafe.append(list(path))
        return counts

    # ---- the search ----------------------------------------------------------------------------

    def run(self, max_states: int = 500_000, given: dict[str, str] | None = None) -> Enumeration:
        """Expand every distinct state once (depth first) and count the complete paths below each.
        ``given``: answers fixed in advance (question id -> option); the enumeration is then of the
        branch they select: where the walk asks one of them, only that answer is followed. A question
        or an answer the rule base does not know raises ``ValueError`` naming it."""
        given = given or {}
        for qid, value in given.items():
            if qid not in self.classes:
                raise ValueError(f"given: no question {qid!r} in this rule base's questions")
            options = self.rb.knowledge.question(qid).option_values()
            if value not in options:
                raise ValueError(f"given: {value!r} is not an answer to {qid!r} (its answers: {', '.join(options)})")
        out = Enumeration()
        root = _State(frozenset(), {}, set(), set(), set(range(len(self.rules))), {}, set(), None, False, False,
                      req=[self._req_step(i, (frozenset(), frozenset()), None, None) for i in range(len(self.req_conds))])
        self._apply(root, out.fired, list(self.rules))
        memo: dict[tuple, tuple[int, ...]] = {}
        zero = (0,) * len(COUNTS)

        def expand(st: _State, path: list) -> tuple[int, ...]:
            if st.gate or st.stop:
                return self._leaf(st, path, out)
            qid = self._next_question(st)
            if qid is None:
                return self._leaf(st, path, out)
            key = self._settle_open(st)
            got = memo.get(key)
            if got is not None:
                return got
            if len(memo) >= max_states:
                out.complete = False
                return zero
            memo[key] = zero  # the tree has no cycles; this only reserves the budget
            out.asked.add(qid)
            total = zero
            options = [(given[qid], given[qid] == DONT_KNOW)] if qid in given else self.classes[qid]
            for value, dk_only in options:
                child = _State(
                    st.answered | {qid}, {**st.vals, qid: value}, set(st.findings), set(st.kinds),
                    set(st.pending), dict(st.belief), set(st.barred), None, False, st.dk or dk_only,
                    st.screened or qid == SAFETY_QUESTION, list(st.req),
                )
                self._apply(child, out.fired, list(self.by_question.get(qid, ())))
                got = expand(child, [*path, (qid, value)])
                if not path:  # the first question routes the case: keep what each answer leads to
                    out.routes[value] = dict(zip(COUNTS, got, strict=True))
                total = tuple(map(add, total, got))
            memo[key] = total
            return total

        out.set_counts(expand(root, []))
        out.states = len(memo)
        return out
