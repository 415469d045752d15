"""Explanations computed from the rule data: why this question, how, why not, confidence arithmetic,
decisive answers and what-if comparison.

Nothing here is written per rule: every sentence is assembled from the rule rows (their conditions,
rationale and sources), the question texts and the findings vocabulary.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from knowledge.schema import INTERVENTION_IDS

from .consult import SEVERAL, Consultation, alternative, consult, normalise_answers, other_answers
from .evaluate import compiled
from .model import Rule, RuleBase, load_rulebase
from .settle import settle
from .summary import why_not  # noqa: F401 - the structured "why not" of a result, part of the explanation
from .telling import asked_ahead
from .words import condition_parts, failed_parts, result_words, scoped  # noqa: F401 - re-exported

# --------------------------------------------------------------------------- helpers


def _name(rb: RuleBase, iv: str) -> str:
    return rb.knowledge.interventions[iv].name


def _sources(rb: RuleBase, keys: list[str]) -> list[dict[str, str]]:
    kb = rb.knowledge
    return [{"key": k, "short": kb.sources[k].short, "full": kb.sources[k].full} for k in keys]


def conclusion_text(rb: RuleBase, rule: Rule) -> str:
    """The conclusion of a rule in plain words."""
    t = rule.then
    if t.finding:
        return f"finding: {rb.findings[t.finding].label}"
    if t.gate:
        return f"cannot recommend yet: {rb.gates[t.gate].label}"
    if t.support:
        verb = "supports" if t.support.cf >= 0 else "counts against"
        return f"{verb} {_name(rb, t.support.intervention)} (certainty {t.support.cf:+.2f})"
    if t.rule_out:
        return f"rules out {_name(rb, t.rule_out)}"
    return "may support but not lead: " + ", ".join(_name(rb, i) for i in t.not_primary or [])


# --------------------------------------------------------------------------- why this question


def _downstream(rb: RuleBase, qid: str) -> tuple[list[str], set[str]]:
    """Rules that test ``qid`` (directly, or through the findings it can lead to) and the
    interventions they can move."""
    rules = [r for r in rb.rules if qid in r.when.answers]
    seen = {r.id for r in rules}
    frontier = [r.then.finding for r in rules if r.then.finding]
    while frontier:
        f = frontier.pop()
        for r in rb.rules:
            if r.id not in seen and (f in r.when.findings or f in r.when.absent or r.when.any_finding_kinds
                                     and rb.finding_kind[f] in r.when.any_finding_kinds):
                seen.add(r.id)
                rules.append(r)
                if r.then.finding:
                    frontier.append(r.then.finding)
    ivs = {iv for r in rules for iv in r.interventions()}
    return [r.id for r in rules], ivs


def why_question(rb: RuleBase, c: Consultation) -> dict[str, Any] | None:
    q = c.next_question
    if q is None:
        return None
    rule_ids, ivs = _downstream(rb, q.id)
    waiting = [rid for rid in rule_ids if rid not in c.fired]
    ruled = {e.intervention for e in c.settled.exclusions if e.scope == "excluded"}
    movable = [iv for iv in INTERVENTION_IDS if iv in ivs and iv not in ruled]
    direct = [r.id for r in rb.rules if q.id in r.when.answers]
    comp = compiled(rb)
    return {
        # the questions of its stage allowed now that it comes before, being more telling (rules.telling)
        "asked_ahead_of": asked_ahead(comp, dict(c.answers), q.id),
        "gateway": comp.telling_rank[q.id][0] < 0,
        "question": q.id,
        "why": q.why.strip(),
        "rules_waiting": waiting,
        "rules_using_answer": direct,
        "can_still_move": movable,
        "sources": _sources(rb, q.sources),
    }


# --------------------------------------------------------------------------- how


def how(rb: RuleBase, c: Consultation) -> list[dict[str, Any]]:
    kb = rb.knowledge
    out = []
    for firing in c.trace:
        rule = rb.by_id[firing.rule]
        out.append(
            {
                "rule": rule.id,
                "layer": rb.layer[rule.id],
                "conclusion": conclusion_text(rb, rule),
                "rationale": rule.rationale.strip(),
                "answers": {
                    q: {"value": v, "label": kb.question(q).label_of(v), "question": kb.question(q).text}
                    for q, v in firing.answers.items()
                },
                "findings": [rb.findings[f].label for f in firing.findings],
                "sources": _sources(rb, rule.sources),
            }
        )
    return out


# --------------------------------------------------------------------------- confidence


def confidence(rb: RuleBase, c: Consultation) -> dict[str, Any] | None:
    s = c.settled
    if c.primary is None:
        return None
    steps = []
    for st in s.evidence[c.primary]:
        steps.append({"rule": st.rule, "cf": st.cf, "combined": round(st.total, 3)})
    lines = [f"certainty of {_name(rb, c.primary)}: " + " then ".join(
        f"{st['rule']} {st['cf']:+.2f} -> {st['combined']:.3f}" for st in steps)]
    value = s.scores[c.primary]
    factors = [f"{value:.3f}"]
    rival = None
    if s.rival:
        w = rb.settlement.rival_weight
        factor = 1 - w * s.rival_cf
        rival = {"intervention": s.rival, "certainty": round(s.rival_cf, 3), "factor": round(factor, 3)}
        factors.append(f"(1 - {w} x {s.rival_cf:.3f} for {_name(rb, s.rival)})")
    costs = []
    for cs in s.costs:
        q = rb.knowledge.question(cs.question)
        costs.append({"question": cs.question, "answer": cs.answer, "cost": cs.cost, "factor": round(1 - cs.cost, 3)})
        factors.append(f'(1 - {cs.cost} for "{q.label_of(cs.answer)}" to {cs.question})')
    lines.append("confidence = " + " x ".join(factors) + f" = {c.confidence:.3f}")
    band = c.confidence_band(rb)
    lines.append(
        f"{band} confidence: how firmly the answers support {_name(rb, c.primary)}, not a probability; a "
        "\"don't know\" or vague answer is charged only when another answer to it would change the result")
    overturn = [
        {"question": o.cost.question, "answer": o.cost.answer,
         "would_change_to": [{"answer": a, "status": out[0], "gate": out[1], "primary": out[2], "lean": out[3]}
                             for a, out in o.alternatives]}
        for o in c.overturns
    ]
    return {"evidence": steps, "rival": rival, "answer_costs": costs, "value": c.confidence, "band": band,
            "certainty": round(value, 3), "meaning": " ".join(result_words().confidence.meaning.split()),
            "could_overturn": overturn, "arithmetic": lines}


# --------------------------------------------------------------------------- decisive answers


def decisive(rb: RuleBase, c: Consultation) -> list[dict[str, Any]]:
    """Each answered question some other answer to which changes the outcome (status, gate, primary or
    lean), with every such answer: ``alternatives`` [{alternative, alternative_label, new_primary,
    new_status, gate, result, opens, text}] — the same computation and words as ``could_change_result``
    (:func:`rules.consult.other_answers`, :func:`rules.consult.alternative`): an answer that opens
    further questions says so, and where they lead while unknown."""
    if c.status == "needs_answer":
        return []
    kb = rb.knowledge
    base = settle(rb, c.fired, c.answers, costs=[]).outcome
    changes = other_answers(rb, c.answers, list(c.answers), base)
    out = []
    for qid, (alts, opens) in changes.items():
        q = kb.question(qid)
        listed = []
        for alt, out_ in alts:
            status, gate, primary, _lean = out_
            words = alternative(rb, c, alt, out_, opens.get(alt, ()))
            listed.append({"alternative": alt, "alternative_label": q.label_of(alt), "new_primary": primary,
                           "new_status": status, "gate": gate, "result": words["result"],
                           "opens": words["opens"], "text": words["text"]})
        first = listed[0]
        out.append({"question": qid, "question_text": c.worded(q).text, "answer": c.answers[qid],
                    **{k: first[k] for k in ("alternative", "alternative_label", "new_primary", "new_status", "gate")},
                    "alternatives": listed})
    out.sort(key=lambda d: (d["new_primary"] is None, kb.questions.index(kb.question(d["question"]))))
    return out


# --------------------------------------------------------------------------- all together


def explain(c: Consultation, rb: RuleBase | None = None) -> dict[str, Any]:
    """The full explanation of a consultation, as plain data."""
    rb = rb or load_rulebase()
    e = {
        "why_question": why_question(rb, c),
        "how": how(rb, c),
        "why_not": why_not(rb, c),
        "confidence": confidence(rb, c),
        "decisive": decisive(rb, c),
    }
    return scoped(e, SEVERAL in c.findings)


def consult_explained(answers: Mapping[str, Any], rb: RuleBase | None = None) -> Consultation:
    """:func:`consult` with ``explanation`` filled in."""
    rb = rb or load_rulebase()
    c = consult(answers, rb)
    c.explanation = explain(c, rb)
    return c


def compare(answers_a: Mapping[str, Any], answers_b: Mapping[str, Any], rb: RuleBase | None = None) -> dict[str, Any]:
    """What-if: what changed between two sets of answers, and which rules made the difference."""
    rb = rb or load_rulebase()
    a = consult(normalise_answers(answers_a, rb), rb)
    b = consult(normalise_answers(answers_b, rb), rb)
    ra = {d["intervention"]: d["reason"] for d in a.ruled_out(rb)}
    rb_ = {d["intervention"]: d["reason"] for d in b.ruled_out(rb)}
    changed_answers = {
        q: {"before": a.answers.get(q), "after": b.answers.get(q)}
        for q in dict.fromkeys([*a.answers, *b.answers])
        if a.answers.get(q) != b.answers.get(q)
    }
    newly = [r for r in b.fired if r not in a.fired]
    gone = [r for r in a.fired if r not in b.fired]
    return {
        "status": {"before": a.status, "after": b.status, "changed": a.status != b.status},
        "primary": {"before": a.primary, "after": b.primary, "changed": a.primary != b.primary},
        "confidence": {"before": a.confidence, "after": b.confidence},
        "secondary": {"before": a.secondary, "after": b.secondary,
                      "added": [i for i in b.secondary if i not in a.secondary],
                      "removed": [i for i in a.secondary if i not in b.secondary]},
        "ruled_out": {"added": {i: r for i, r in rb_.items() if i not in ra},
                      "removed": {i: r for i, r in ra.items() if i not in rb_}},
        "answers_changed": changed_answers,
        "rules_now_firing": [{"rule": r, "rationale": rb.by_id[r].rationale.strip()} for r in newly],
        "rules_no_longer_firing": [{"rule": r, "rationale": rb.by_id[r].rationale.strip()} for r in gone],
        "next_question": {"before": a.next_question.id if a.next_question else None,
                          "after": b.next_question.id if b.next_question else None},
    }
