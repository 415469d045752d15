"""Settling a result from fired rules: certainty factors, precedence, secondary, confidence.

Evidence for or against an intervention is a certainty factor (cf) in -1..1, combined as in EMYCIN
(Buchanan & Shortliffe 1984): the evidence for is accumulated into a measure of belief
MB = a + b(1 - a) over the positive cfs, the evidence against into a measure of disbelief MD the same
way over the negative ones, and cf = (MB - MD) / (1 - min(MB, MD)). Unlike pairwise combining of
mixed signs, this does not depend on the order in which the rules fired (the exhaustive check of the
question tree, rules.tree, relies on that). The primary is the best-supported intervention that no
rule ruled out or barred from leading, ties broken by the precedence in ``vocabulary.yaml``.
Scores are compared with the thresholds rounded to 9 decimals, so float noise cannot decide.

The best-supported intervention becomes a recommendation only if the evidence it needs is established
(``rules/evidence.yaml``); otherwise the result is "check first" with a ranked differential: the
interventions with support, reordered by the field's base rates for cases like this one
(``rules/base_rates.yaml``); its first is the lean, and the requirements the lean misses are what to
check. A gate (gap undefined, not worth it, a conduct matter) ends the analysis,
except that a wellbeing red flag sets the gap gates aside (``overridden_by`` in the vocabulary).

Confidence = cf(primary) x (1 - rival_weight x cf(strongest rival)) x product of (1 - cost) over the
vague and "don't know" answers that could change the result (:func:`rules.consult.consult` finds
them by trying the other answers). Every step is kept so it can be shown as arithmetic.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from knowledge.schema import INTERVENTION_IDS

from .conditions import accumulate, net_cf
from .evaluate import compiled
from .model import Requirement, RuleBase


@dataclass(frozen=True)
class EvidenceStep:
    rule: str
    cf: float
    total: float  # the combined cf after this step


@dataclass(frozen=True)
class Exclusion:
    intervention: str
    rule: str
    scope: str  # "excluded" (must not be used) or "not_primary" (may support, must not lead)


@dataclass(frozen=True)
class CostStep:
    question: str
    answer: str
    cost: float


@dataclass
class Settled:
    status: str  # complete | cannot_recommend
    gate: str | None  # gap_undefined | not_worth | conduct_matter | check_first
    primary: str | None
    confidence: float | None
    secondary: list[str]
    scores: dict[str, float]
    evidence: dict[str, list[EvidenceStep]]
    exclusions: list[Exclusion]
    rival: str | None = None
    rival_cf: float = 0.0
    costs: list[CostStep] = field(default_factory=list)  # the costs taken off the confidence
    lean: str | None = None  # check first: the intervention the answers point to, if any
    missing: list[Requirement] = field(default_factory=list)  # check first: requirements not met
    overridden_gate: str | None = None  # a gap gate set aside by a wellbeing red flag
    # check first: the interventions the case may turn out to need, most likely first (the first is the
    # lean), each with the base-rate row that put it there (None: ranked by support alone)
    differential: list[tuple[str, str | None]] = field(default_factory=list)
    one_support: bool = False  # one piece of evidence carries most of the primary's certainty

    def excluded(self, iv: str) -> list[Exclusion]:
        return [e for e in self.exclusions if e.intervention == iv]

    @property
    def outcome(self) -> tuple:
        """What a different answer would have to change for the result to count as changed."""
        return (self.status, self.gate, self.primary, self.lean)


def missing_requirements(rb: RuleBase, iv: str, answers: Mapping[str, str], findings, kinds) -> list[Requirement]:
    """The requirements of ``iv`` that apply and are not met on these answers and findings."""
    return compiled(rb).missing_requirements(iv, answers, findings, kinds)


def differential(rb: RuleBase, scores: Mapping[str, float], barred: set[str], answers: Mapping[str, str],
                 findings, kinds) -> list[tuple[str, str | None]]:
    """The ranked interventions of a "check first" case (see :meth:`rules.outcome.Outcomes.differential`)."""
    return compiled(rb).differential(scores, barred, answers, findings, kinds)


def check_first(rb: RuleBase, scores: Mapping[str, float], barred: set[str], answers: Mapping[str, str],
                findings, kinds, leader: str | None) -> tuple[str | None, list[Requirement], list]:
    """(lean, the requirements to check, differential) of a "check first" result.

    ``leader`` is the best-supported intervention that may lead (None when none reaches the threshold).
    The requirements are the lean's that are not met, else the leader's.
    """
    diff = differential(rb, scores, barred, answers, findings, kinds)
    lean = diff[0][0] if diff else None
    missing = missing_requirements(rb, lean, answers, findings, kinds) if lean else []
    if not missing and leader:
        missing = missing_requirements(rb, leader, answers, findings, kinds)
    return lean, missing, diff


def outcome(rb: RuleBase, fired: list[str], answers: Mapping[str, str]) -> tuple:
    """``settle(...).outcome`` without the rest of the result: (status, gate, primary, lean)
    (see :meth:`rules.outcome.Outcomes.outcome`)."""
    return compiled(rb).outcome(fired, answers)


def open_gate(rb: RuleBase, gates: list[str], findings: set[str]) -> tuple[str | None, str | None]:
    """(the first gate that ends the analysis, the first gate a wellbeing red flag set aside)."""
    return compiled(rb).open_gate(gates, findings)


def ranking(rb: RuleBase, scores: Mapping[str, float]) -> list[str]:
    """The six interventions by certainty, ties broken by the precedence (scores rounded to 9 places)."""
    return compiled(rb).ranking(scores)


def leaders(rb: RuleBase, ranked: list[str], scores: Mapping[str, float], barred: set[str]) -> list[str]:
    """The interventions that may lead, best first: not barred, and at least the primary threshold."""
    return compiled(rb).leaders(ranked, scores, barred)


def answer_costs(rb: RuleBase, answers: Mapping[str, str]) -> list[CostStep]:
    """Every vague or "don't know" answer with the confidence it may cost."""
    out = []
    for qid, value in answers.items():
        c = rb.knowledge.question(qid).cost_of(value)
        if c > 0:
            out.append(CostStep(qid, value, c))
    return out


def settle(rb: RuleBase, fired: list[str], answers: Mapping[str, str],
           costs: list[CostStep] | None = None) -> Settled:
    """Turn the fired rules into a result (without the adaptive status, see rules.consult).

    ``costs``: the answers whose cost is taken off the confidence; None takes every vague or "don't
    know" answer (consult passes only those that could change the result).
    """
    s = rb.settlement
    scores = {iv: 0.0 for iv in INTERVENTION_IDS}
    belief = {iv: [0.0, 0.0] for iv in INTERVENTION_IDS}  # MB, MD
    evidence: dict[str, list[EvidenceStep]] = {iv: [] for iv in INTERVENTION_IDS}
    exclusions: list[Exclusion] = []
    findings: set[str] = set()
    gates: list[str] = []
    for rid in fired:
        t = rb.by_id[rid].then
        if t.finding:
            findings.add(t.finding)
        elif t.gate:
            gates.append(t.gate)
        elif t.support:
            iv = t.support.intervention
            m = belief[iv]
            m[t.support.cf < 0] = accumulate(m[t.support.cf < 0], t.support.cf)
            scores[iv] = net_cf(*m)
            evidence[iv].append(EvidenceStep(rid, t.support.cf, scores[iv]))
        elif t.rule_out:
            exclusions.append(Exclusion(t.rule_out, rid, "excluded"))
        elif t.not_primary:
            exclusions += [Exclusion(iv, rid, "not_primary") for iv in t.not_primary]
    if costs is None:
        costs = answer_costs(rb, answers)

    gate, overridden = open_gate(rb, gates, findings)
    if gate:
        return Settled("cannot_recommend", gate, None, None, [], scores, evidence, exclusions,
                       overridden_gate=overridden)

    out = {e.intervention for e in exclusions if e.scope == "excluded"}
    barred = out | {e.intervention for e in exclusions}
    ranked = ranking(rb, scores)
    candidates = leaders(rb, ranked, scores, barred)
    kinds = {rb.finding_kind[f] for f in findings}
    primary = candidates[0] if candidates else None
    if primary is None or missing_requirements(rb, primary, answers, findings, kinds):
        lean, missing, diff = check_first(rb, scores, barred, answers, findings, kinds, primary)
        return Settled("cannot_recommend", "check_first", None, None, [], scores, evidence, exclusions,
                       lean=lean, missing=missing, overridden_gate=overridden, differential=diff)
    rivals = [iv for iv in candidates[1:] if scores[iv] > 0]
    rival = rivals[0] if rivals else None
    rival_cf = scores[rival] if rival else 0.0
    conf = scores[primary] * (1 - s.rival_weight * rival_cf)
    for c in costs:
        conf *= 1 - c.cost
    secondary = [
        iv for iv in ranked if iv != primary and iv not in out and round(scores[iv], 9) >= s.secondary_threshold
    ][: s.max_secondary]
    return Settled("complete", None, primary, round(conf, 3), secondary, scores, evidence, exclusions, rival,
                   rival_cf, list(costs), overridden_gate=overridden,
                   one_support=rests_on_one(rb, evidence[primary]))


def rests_on_one(rb: RuleBase, steps: list[EvidenceStep]) -> bool:
    """Whether one piece of evidence carries most of the certainty: without the strongest supporting
    rule, what is left would not reach the "moderate" band."""
    pos = sorted((st.cf for st in steps if st.cf > 0), reverse=True)
    neg = [st.cf for st in steps if st.cf < 0]
    mb = md = 0.0
    for cf in pos[1:]:
        mb = accumulate(mb, cf)
    for cf in neg:
        md = accumulate(md, cf)
    return round(net_cf(mb, md), 9) < rb.settlement.confidence_bands.moderate
