"""Settling a result from fired rules: certainty factors, precedence, secondary, confidence.

Evidence for or against an intervention is a certainty factor (cf) in -1..1, combined as in EMYCIN
(Buchanan & Shortliffe 1984): the evidence for is accumulated into a measure of belief
MB = a + b(1 - a) over the positive cfs, the evidence against into a measure of disbelief MD the same
way over the negative ones, and cf = (MB - MD) / (1 - min(MB, MD)). Unlike pairwise combining of
mixed signs, this does not depend on the order in which the rules fired (the exhaustive check of the
question tree, rules.tree, relies on that). The primary is the best-supported intervention that no
rule ruled out or barred from leading, ties broken by the precedence in ``vocabulary.yaml``.
Scores are compared with the thresholds rounded to 9 decimals, so float noise cannot decide.
Confidence = cf(primary) x (1 - rival_weight x cf(strongest rival)) x product of (1 - cost) over the
vague and "don't know" answers on the path. Every step is kept so it can be shown as arithmetic.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from knowledge.schema import INTERVENTION_IDS

from .model import RuleBase


def accumulate(measure: float, cf: float) -> float:
    """Add one piece of evidence (|cf|) to a measure of belief or disbelief: m + |cf|(1 - m)."""
    return measure + abs(cf) * (1 - measure)


def net_cf(mb: float, md: float) -> float:
    """The certainty factor from a measure of belief and one of disbelief (EMYCIN)."""
    denom = 1 - min(mb, md)
    return 0.0 if denom == 0 else (mb - md) / denom


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
    gate: str | None
    primary: str | None
    confidence: float | None
    secondary: list[str]
    scores: dict[str, float]
    evidence: dict[str, list[EvidenceStep]]
    exclusions: list[Exclusion]
    rival: str | None = None
    rival_cf: float = 0.0
    costs: list[CostStep] = field(default_factory=list)

    def excluded(self, iv: str) -> list[Exclusion]:
        return [e for e in self.exclusions if e.intervention == iv]


def settle(rb: RuleBase, fired: list[str], answers: Mapping[str, str]) -> Settled:
    """Turn the fired rules into a result (without the adaptive status, see rules.consult)."""
    s = rb.settlement
    scores = {iv: 0.0 for iv in INTERVENTION_IDS}
    belief = {iv: [0.0, 0.0] for iv in INTERVENTION_IDS}  # MB, MD
    evidence: dict[str, list[EvidenceStep]] = {iv: [] for iv in INTERVENTION_IDS}
    exclusions: list[Exclusion] = []
    gate = None
    for rid in fired:
        t = rb.by_id[rid].then
        if t.gate and gate is None:
            gate = t.gate
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

    costs = []
    for qid, value in answers.items():
        c = rb.knowledge.question(qid).cost_of(value)
        if c > 0:
            costs.append(CostStep(qid, value, c))

    if gate:
        return Settled("cannot_recommend", gate, None, None, [], scores, evidence, exclusions, costs=costs)

    out = {e.intervention for e in exclusions if e.scope == "excluded"}
    barred = out | {e.intervention for e in exclusions}
    order = {iv: i for i, iv in enumerate(s.precedence)}
    ranked = sorted(INTERVENTION_IDS, key=lambda iv: (-round(scores[iv], 9), order[iv]))
    candidates = [iv for iv in ranked if iv not in barred and round(scores[iv], 9) >= s.primary_threshold]
    if not candidates:
        return Settled(
            "cannot_recommend", "insufficient_evidence", None, None, [], scores, evidence, exclusions, costs=costs
        )
    primary = candidates[0]
    rivals = [iv for iv in candidates[1:] if scores[iv] > 0]
    rival = rivals[0] if rivals else None
    rival_cf = scores[rival] if rival else 0.0
    conf = scores[primary] * (1 - s.rival_weight * rival_cf)
    for c in costs:
        conf *= 1 - c.cost
    secondary = [
        iv for iv in ranked if iv != primary and iv not in out and round(scores[iv], 9) >= s.secondary_threshold
    ][: s.max_secondary]
    return Settled(
        "complete", None, primary, round(conf, 3), secondary, scores, evidence, exclusions, rival, rival_cf, costs
    )
