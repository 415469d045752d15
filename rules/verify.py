"""Verification of the rule base, computed from the data (``triage verify``).

Reports, as errors or warnings:
- dangling ids: a rule or question condition naming an unknown question, option, finding, kind,
  gate, intervention or source;
- rules without a rationale (error) or without a source (warning);
- rules that can never fire: contradictory conditions, a finding no rule concludes, or (found by
  enumerating the question tree) a rule that fires on no complete answer path;
- questions never asked (on no path) and questions no rule uses;
- gaps: complete answer paths without any "don't know" that reach neither a recommendation nor a
  "cannot recommend" gate;
- conflicts: paths where the rules bar every intervention that has support (no precedence can
  settle it), and rules with the same conditions that support and oppose the same intervention;
- coverage: which rules no worked case exercises, and worked cases whose result differs from the
  expected one.

The adaptive question tree is finite. It is enumerated whole by :mod:`rules.tree`: options that no
condition tells apart are merged into classes, and nodes whose futures cannot differ (same open
questions, same undecided rules, same findings and kinds those still test, same barred interventions,
evidence that settles alike) are expanded once. Only when a rule base is too large for the state budget does the check fall back
to the states it could expand plus random complete paths, and it says so in a warning.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from knowledge.loader import Knowledge, KnowledgeError, load_knowledge
from knowledge.schema import DONT_KNOW, INTERVENTION_IDS
from rules.consult import consult

from .evaluate import Compiled, compiled, holds
from .model import (
    BASE_RATES_FILE,
    EVIDENCE_FILE,
    HERE,
    RESULTS_FILE,
    RULE_FILES,
    RuleBase,
    load_rulebase_from,
)
from .settle import settle
from .tree import MAX_EXAMPLES, TreeEnumerator

# the files of a rule folder that hold no rules (read by name, beside the rule files)
NOT_RULE_FILES = frozenset({"vocabulary.yaml", EVIDENCE_FILE, BASE_RATES_FILE, RESULTS_FILE})


@dataclass
class Report:
    errors: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    coverage: dict[str, Any] = field(default_factory=dict)
    tree: dict[str, Any] = field(default_factory=dict)

    def error(self, check: str, message: str, **detail: Any) -> None:
        self.errors.append({"check": check, "message": message, **detail})

    def warn(self, check: str, message: str, **detail: Any) -> None:
        self.warnings.append({"check": check, "message": message, **detail})

    def as_dict(self) -> dict[str, Any]:
        return {"errors": self.errors, "warnings": self.warnings, "coverage": self.coverage, "tree": self.tree}


# --------------------------------------------------------------------------- loading, leniently


def _load(folder: Path, kb: Knowledge, files: tuple[str, ...], report: Report) -> RuleBase | None:
    """Load the rule base, reporting each bad row instead of stopping at the first."""
    problems: list[tuple[str, str, dict]] = []
    rb = load_rulebase_from(folder, kb, files, problems)
    for check, message, detail in problems:
        report.error(check, message, **detail)
    return rb


# --------------------------------------------------------------------------- static checks


def _static(rb: RuleBase, report: Report) -> None:
    produced = {r.then.finding for r in rb.rules if r.then.finding}
    for r in rb.rules:
        if not r.rationale.strip():
            report.error("rationale", f"{r.id}: no rationale (explanations would be empty)", rule=r.id)
        if not r.sources:
            report.warn("sources", f"{r.id}: no source cited", rule=r.id)
        both = set(r.when.findings) & set(r.when.absent)
        if both:
            report.error("never_fires", f"{r.id}: tests {sorted(both)} both present and absent", rule=r.id)
        missing = [f for f in r.when.findings if f not in produced]
        if missing:
            report.error("never_fires", f"{r.id}: needs finding(s) {missing} that no rule concludes", rule=r.id)
        kinds_both = set(r.when.any_finding_kinds) & set(r.when.no_finding_kinds)
        if kinds_both:
            report.error("never_fires", f"{r.id}: requires and forbids kind(s) {sorted(kinds_both)}", rule=r.id)
    for q in rb.knowledge.questions:
        missing = [f for f in q.ask_when.findings if f not in produced]
        if missing:
            report.error("never_asked", f"question {q.id}: asked only when {missing} is found, which no rule concludes", question=q.id)
        if not any(q.id in r.when.answers for r in rb.rules):
            report.warn("unused_question", f"question {q.id}: no rule uses its answer", question=q.id)
    # same conditions, opposite conclusions about the same intervention
    by_cond: dict[str, list] = {}
    for r in rb.rules:
        by_cond.setdefault(r.when.model_dump_json(), []).append(r)
    for group in by_cond.values():
        for i, a in enumerate(group):
            for b in group[i + 1 :]:
                sa, sb = a.then.support, b.then.support
                if sa and sb and sa.intervention == sb.intervention and (sa.cf > 0) != (sb.cf > 0):
                    report.error(
                        "conflict",
                        f"{a.id} and {b.id} have the same conditions but one supports and one opposes "
                        f"{sa.intervention}; no precedence settles that",
                        rules=[a.id, b.id],
                    )
                elif a.then == b.then:
                    report.warn("duplicate", f"{a.id} and {b.id} have the same conditions and conclusion", rules=[a.id, b.id])


# --------------------------------------------------------------------------- the question tree


def option_classes(rb: RuleBase) -> dict[str, list[tuple[str, bool]]]:
    """Per question: one representative option per class of options that no condition tells apart
    (the classes of :attr:`rules.evaluate.Compiled.option_classes`), with a flag saying whether that
    class holds only "don't know"."""
    out: dict[str, list[tuple[str, bool]]] = {}
    for qid, groups in compiled(rb).option_classes.items():
        reps = []
        for values in groups:
            known = [v for v in values if v != DONT_KNOW]
            reps.append((known[0], False) if known else (DONT_KNOW, True))
        out[qid] = reps
    return out


class _Reach:
    """What can still happen below a node of the question tree (a conservative over-estimate).

    An unanswered question may still get any answer; a finding may still appear if a rule that
    concludes it may still fire. Pruning on these over-estimates never hides a gap, a conflict or a
    firing: it only skips subtrees where the thing searched for cannot happen.
    """

    def __init__(self, rb: RuleBase, comp: Compiled):
        self.rb = rb
        self.comp = comp
        self.producers: dict[str, list] = {}
        for r in rb.rules:
            if r.then.finding:
                self.producers.setdefault(r.then.finding, []).append(r)
        self.kind_members: dict[str, list[str]] = {}
        for f, d in rb.findings.items():
            self.kind_members.setdefault(d.kind, []).append(f)

    def cond_possible(self, cond, accepted: dict, findings: set, memo: dict) -> bool:
        for q, allowed in cond.answers.items():
            if q in accepted and accepted[q] not in allowed:
                return False
        if any(f in findings for f in cond.absent):
            return False
        kinds_now = {self.rb.finding_kind[f] for f in findings}
        if cond.no_finding_kinds and any(k in kinds_now for k in cond.no_finding_kinds):
            return False
        if not all(self.finding_possible(f, accepted, findings, memo) for f in cond.findings):
            return False
        if cond.any_finding_kinds and not any(
            self.finding_possible(f, accepted, findings, memo)
            for k in cond.any_finding_kinds
            for f in self.kind_members.get(k, [])
        ):
            return False
        return True

    def finding_possible(self, f: str, accepted: dict, findings: set, memo: dict) -> bool:
        if f in findings:
            return True
        if f not in memo:
            memo[f] = False  # layered rules: no cycles, this only guards re-entry
            memo[f] = any(self.cond_possible(r.when, accepted, findings, memo) for r in self.producers.get(f, []))
        return memo[f]


@dataclass
class _Node:
    accepted: dict
    fired: list
    findings: set
    next_question: str | None


class _Tree:
    """Depth-first search over the adaptive question tree with options merged into classes."""

    def __init__(self, rb: RuleBase):
        self.rb = rb
        self.comp = Compiled(rb)
        self.classes = option_classes(rb)
        self.reach = _Reach(rb, self.comp)
        self.nodes = 0

    def node(self, accepted: dict) -> _Node:
        self.nodes += 1
        comp = self.comp
        fired, findings = comp.fire(accepted)
        kinds = {comp.kind_of[f] for f in findings}
        gate = any(self.rb.by_id[r].then.gate for r in fired)
        nxt = None
        if not gate and not (findings & comp.stop_findings):
            for qid, cond in comp.questions:
                if qid not in accepted and holds(cond, accepted, findings, kinds):
                    nxt = qid
                    break
        return _Node(accepted, fired, findings, nxt)

    def children(self, n: _Node, prefer: frozenset = frozenset()):
        opts = sorted(self.classes[n.next_question], key=lambda o: o[0] not in prefer)
        for value, dk_only in opts:
            yield value, dk_only, {**n.accepted, n.next_question: value}

    # ---- random paths (the fallback when the tree is too large to enumerate) -----------------

    def check_leaf(self, n: _Node, path: list, dk: bool, gaps: list, conflicts: list) -> None:
        rb, s = self.rb, self.rb.settlement
        st = settle(rb, n.fired, n.accepted)
        supported = [iv for iv in INTERVENTION_IDS if round(st.scores[iv], 9) >= s.primary_threshold]
        if st.gate != "check_first" or not set(supported) <= {e.intervention for e in st.exclusions}:
            return  # something may lead: not a gap nor a conflict
        if supported and len(conflicts) < MAX_EXAMPLES:
            conflicts.append({"path": list(path), "barred": supported})
        elif not supported and not dk and len(gaps) < MAX_EXAMPLES:
            gaps.append(list(path))

    def sample(self, n_paths: int, gaps: list, conflicts: list, seed: int = 7) -> tuple[set, set]:
        """Random complete paths (half of them without "don't know"): rules fired, questions asked,
        and any gap or conflict met on the way."""
        rnd = random.Random(seed)
        fired_all: set[str] = set()
        asked: set[str] = set()
        for i in range(n_paths):
            avoid_dk = i % 2 == 0
            accepted: dict[str, str] = {}
            path: list = []
            dk = False
            while True:
                n = self.node(accepted)
                if n.next_question is None:
                    fired_all.update(n.fired)
                    self.check_leaf(n, path, dk, gaps, conflicts)
                    break
                opts = [o for o in self.classes[n.next_question] if not (avoid_dk and o[1])] or self.classes[n.next_question]
                value, dk_only = rnd.choice(opts)
                asked.add(n.next_question)
                dk = dk or dk_only
                path.append((n.next_question, value))
                accepted = {**accepted, n.next_question: value}
        return fired_all, asked

    # ---- witnesses ----------------------------------------------------------------------------

    def _witness(self, reached, dead, cond) -> dict | None:
        """Depth-first search for a path whose node satisfies ``reached(node)``; a subtree is skipped
        when ``dead(node)`` or when ``cond`` can no longer hold below it. Options that ``cond``
        allows are tried first."""
        prefer = frozenset(v for vals in cond.answers.values() for v in vals)
        seen: set = set()

        def dfs(accepted: dict) -> dict | None:
            n = self.node(accepted)
            if reached(n):
                return accepted
            if n.next_question is None or dead(n):
                return None
            key = (frozenset(n.findings), frozenset(accepted))
            if key in seen or not self.reach.cond_possible(cond, accepted, n.findings, {}):
                return None
            seen.add(key)
            for _, _, child in self.children(n, prefer):
                found = dfs(child)
                if found is not None:
                    return found
            return None

        return dfs({})

    def witness_rule(self, rule) -> dict | None:
        """A path on which ``rule`` fires (completed to its end when the rule tests an absence)."""
        monotone = not (rule.when.absent or rule.when.no_finding_kinds)
        return self._witness(
            lambda n: rule.id in n.fired and (monotone or n.next_question is None),
            lambda n: False,
            rule.when,
        )

    def witness_question(self, qid: str) -> dict | None:
        """A path on which question ``qid`` is asked."""
        return self._witness(
            lambda n: n.next_question == qid,
            lambda n: qid in n.accepted,
            self.rb.knowledge.question(qid).ask_when,
        )


# --------------------------------------------------------------------------- coverage by worked cases


def _coverage(rb: RuleBase, report: Report) -> None:
    kb = rb.knowledge
    exercised: dict[str, list[str]] = {r.id: [] for r in rb.rules}
    mismatches = []
    for case in kb.cases:
        try:
            c = consult(case.answers, rb)
        except ValueError as exc:
            report.error("worked_case", f"case {case.id}: {exc}", case=case.id)
            continue
        for rid in c.fired:
            exercised[rid].append(case.id)
        e = case.expected
        if c.status != e.status or c.primary != e.primary:
            mismatches.append(case.id)
            report.error(
                "worked_case",
                f"case {case.id}: expected {e.status}/{e.primary}, the rule base gives {c.status}/{c.primary}",
                case=case.id,
            )
    not_exercised = [rid for rid, cases in exercised.items() if not cases]
    for rid in not_exercised:
        report.warn("coverage", f"{rid}: no worked case exercises this rule", rule=rid)
    report.coverage = {
        "rules": len(rb.rules),
        "rules_exercised": len(rb.rules) - len(not_exercised),
        "not_exercised": not_exercised,
        "cases": len(kb.cases),
        "cases_matching_expected": len(kb.cases) - len(mismatches),
        "by_rule": exercised,
    }


# --------------------------------------------------------------------------- entry point


def verify(
    folder: Path | None = None,
    kb: Knowledge | None = None,
    files: tuple[str, ...] | None = None,
    max_states: int = 300_000,
    samples: int = 3_000,
) -> dict[str, Any]:
    """Verify a rule base: the shipped one by default, or the one in ``folder`` (its ``vocabulary.yaml``,
    its rule files, and its ``evidence.yaml`` and ``base_rates.yaml`` where present; the rule files are
    every other ``*.yaml`` unless ``files`` names them). Returns {errors, warnings, coverage, tree}."""
    report = Report()
    try:
        kb = kb or load_knowledge()
    except KnowledgeError as exc:
        report.error("knowledge", str(exc))
        return report.as_dict()
    folder = folder or HERE
    if files is None:
        files = RULE_FILES if folder == HERE else tuple(
            sorted(p.name for p in folder.glob("*.yaml") if p.name not in NOT_RULE_FILES)
        )
    rb = _load(folder, kb, files, report)
    if rb is None:
        return report.as_dict()
    _static(rb, report)
    tree = _Tree(rb)
    found = TreeEnumerator(rb, tree.classes).run(max_states)
    gaps, conflicts = found.gaps, found.conflicts
    if found.complete:
        fired, asked = found.fired, found.asked  # exact: every state of the tree was expanded
    else:
        more_fired, more_asked = tree.sample(samples, gaps, conflicts)
        fired, asked = found.fired | more_fired, found.asked | more_asked
    reported = {e.get("rule") for e in report.errors if e["check"] == "never_fires"}
    witnesses: dict[str, dict] = {}
    for r in rb.rules:
        if r.id in fired or r.id in reported:
            continue
        w = None if found.complete else tree.witness_rule(r)
        if w is None:
            report.error("never_fires", f"{r.id}: fires on no complete answer path", rule=r.id)
        else:
            witnesses[r.id] = w
    for q in rb.knowledge.questions:
        if q.id in asked or any(e.get("question") == q.id for e in report.errors):
            continue
        if found.complete or tree.witness_question(q.id) is None:
            report.error("never_asked", f"question {q.id}: asked on no path", question=q.id)
    for g in gaps[:MAX_EXAMPLES]:
        report.error("gap", "a complete path without \"don't know\" reaches no recommendation and no gate",
                     path=dict(g))
    for c in conflicts[:MAX_EXAMPLES]:
        answers = dict(c["path"])
        st = settle(rb, tree.comp.fire(answers)[0], answers)
        by = sorted({e.rule for e in st.exclusions if e.intervention in c["barred"]})
        report.error("conflict", f"rules {by} bar every supported intervention {c['barred']}",
                     path=answers, rules=by)
    if found.complete:
        if found.unscreened_paths:
            report.error("safety", f"{found.unscreened_paths:,} complete paths never ask the risk-of-harm question",
                         examples=[dict(p) for p in found.unsafe])
        if found.risk_not_referred_paths:
            report.error("safety", f"{found.risk_not_referred_paths:,} paths with a risk of harm do not end in an "
                         "urgent referral", examples=[dict(p) for p in found.unsafe])
        for value, counts in found.routes.items():
            if not counts["complete_paths"]:
                report.error("route", f"the answer {value!r} to the first question leads to no recommendation "
                             "on any path", route=value)
    if not found.complete:
        report.warn(
            "tree",
            f"the question tree is too large to enumerate whole within {max_states} states: gaps and "
            f"conflicts were checked on the states expanded and on {samples} random complete paths",
        )
    report.tree = {"exhaustive": found.complete, "states": found.states, "leaves": found.leaves,
                   "paths": found.paths if found.complete else None,
                   "gap_paths": found.gap_paths if found.complete else None,
                   "conflict_paths": found.conflict_paths if found.complete else None,
                   "complete_paths": found.complete_paths if found.complete else None,
                   "check_first_paths": found.check_first_paths if found.complete else None,
                   "unscreened_paths": found.unscreened_paths if found.complete else None,
                   "risk_not_referred_paths": found.risk_not_referred_paths if found.complete else None,
                   "routes": found.routes if found.complete else None,
                   "random_paths": 0 if found.complete else samples,
                   "rules_found_by_targeted_search": sorted(witnesses)}
    _coverage(rb, report)
    return report.as_dict()


def format_report(report: dict[str, Any]) -> str:
    lines = []
    cov = report.get("coverage") or {}
    tree = report.get("tree") or {}
    if tree:
        how = f"enumerated whole: {tree['paths']:,} complete paths" if tree["exhaustive"] else (
            f"NOT whole: stopped at the state budget, plus {tree['random_paths']} random paths")
        lines.append(f"Question tree: {tree['states']:,} distinct states, {tree['leaves']:,} leaves ({how})")
        if tree.get("complete_paths") is not None:
            lines.append(f"  {tree['complete_paths']:,} end in a recommendation, {tree['check_first_paths']:,} in "
                         f"\"check first\"; {tree['unscreened_paths']:,} skip the safety question; "
                         f"{tree['risk_not_referred_paths']:,} with a risk of harm are not referred")
            for value, counts in (tree.get("routes") or {}).items():
                lines.append(f"  route {value}: {counts['paths']:,} paths, {counts['complete_paths']:,} "
                             f"recommendations, {counts['check_first_paths']:,} check first")
    if cov:
        lines.append(f"Coverage: {cov['rules_exercised']}/{cov['rules']} rules exercised by "
                     f"{cov['cases']} worked cases ({cov['cases_matching_expected']} give their expected result)")
    lines.append(f"{len(report['errors'])} error(s), {len(report['warnings'])} warning(s)")
    for e in report["errors"]:
        lines.append(f"ERROR   [{e['check']}] {e['message']}" + (f" path={e['path']}" if e.get("path") else ""))
    for w in report["warnings"]:
        lines.append(f"warning [{w['check']}] {w['message']}")
    return "\n".join(lines)
