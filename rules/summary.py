"""The result model and its plain summary: primary, secondary with their roles, ruled out, cannot lead,
a structured "why not" for every other intervention, confidence in words, and the summary a team
leader reads first (what to do, the strongest reasons, the first step, whether it is a close call).

Everything is computed from the settled numbers and the rule rows; the wording lives in
``results.yaml`` beside this module (roles, verdicts, summary templates) and the thresholds in
``vocabulary.yaml`` (settlement). The text of a "why not" is rendered from its structured verdict, so
"less than" is only ever said of a smaller number.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from knowledge.schema import INTERVENTION_IDS

from .evaluate import compile_condition, holds
from .model import RuleBase
from .words import (  # noqa: F401 - re-exported: the wording model is imported from here too
    VERDICTS,
    FirstStep,
    ResultWords,
    RoleRow,
    SummaryWords,
    Verdict,
    condition_parts,
    failed_parts,
    result_words,
)

if TYPE_CHECKING:
    from .consult import Consultation

@functools.cache
def _first_step_rows() -> list[tuple[FirstStep, tuple]]:
    """The rows of ``first_steps`` with their conditions compiled once."""
    return [(row, compile_condition(row.when)) for row in result_words().first_steps]


def first_step(rb: RuleBase, c: Consultation) -> str:
    """The first step for the primary, chosen from the route, the safety level and the answers (the
    first row of ``first_steps`` in results.yaml whose condition holds), so that it never asks for what
    was already answered."""
    findings = set(c.findings)
    kinds = {rb.finding_kind[f] for f in findings}
    for row, cond in _first_step_rows():
        if row.intervention == c.primary and holds(cond, c.answers, findings, kinds):
            found = [rb.findings[f].label for f in sorted(findings)
                     if rb.findings[f].kind in ("environment", "partial_environment")]
            return " ".join(row.text.replace("{barriers}", "; ".join(found)).split())
    raise AssertionError("unreachable: the last row of each intervention always holds")


# --------------------------------------------------------------------------- small pieces


def _name(rb: RuleBase, iv: str) -> str:
    return rb.knowledge.interventions[iv].name


def _r(x: float) -> float:
    return round(x, 9)


def confidence_band(rb: RuleBase, value: float | None, could_change: bool = False,
                    one_support: bool = False) -> str | None:
    """"high", "moderate" or "low" for a confidence (thresholds in vocabulary.yaml, settlement; at most
    moderate when an unknown answer could change the result or one piece of evidence carries it)."""
    return rb.settlement.band(None if value is None else _r(value), could_change, one_support)


def confidence_text(rb: RuleBase, value: float | None, could_change: bool = False,
                    one_support: bool = False) -> str:
    """Confidence in words with the number, e.g. "moderate (52%)"; empty without a value."""
    band = confidence_band(rb, value, could_change, one_support)
    if band is None:
        return ""
    cw = result_words().confidence
    why = ""
    if band != confidence_band(rb, value):  # held below its number's band: say why
        why = "; " + (cw.capped_could_change if could_change else cw.capped_one_support)
    return f"{cw.words[band]} ({value:.0%}{why})"


@functools.cache
def _role_rows() -> list[tuple[RoleRow, tuple]]:
    return [(row, compile_condition(row.when)) for row in result_words().roles]


def role_of(primary: str, secondary: str, c: Consultation | None = None, rb: RuleBase | None = None) -> str:
    """The role of ``secondary`` beside ``primary``: the first row of results.yaml whose pair matches and
    whose condition holds on the consultation's answers and findings (without ``c``, the first row
    without a condition)."""
    findings = set(c.findings) if c is not None else set()
    kinds = {rb.finding_kind[f] for f in findings} if c is not None and rb is not None else set()
    for row, cond in _role_rows():
        if row.primary in ("any", primary) and row.secondary in ("any", secondary):
            if row.when.is_empty() or (c is not None and holds(cond, c.answers, findings, kinds)):
                return row.role
    raise AssertionError("unreachable: the last role row matches any pair")


def first_sentence(text: str) -> str:
    """The first sentence of a text (up to the first full stop followed by a capital)."""
    text = " ".join(text.split())
    parts = re.split(r"(?<=[.!?])\s+(?=[A-Z\"'(])", text, maxsplit=1)
    return parts[0] if parts else text


def _barred(c: Consultation) -> set[str]:
    return {e.intervention for e in c.settled.exclusions}


def could_lead(rb: RuleBase, c: Consultation) -> list[str]:
    """Interventions no rule bars whose support reaches the primary threshold, best first."""
    s = c.settled
    order = {iv: i for i, iv in enumerate(rb.settlement.precedence)}
    barred = _barred(c)
    ok = [iv for iv in INTERVENTION_IDS if iv not in barred and _r(s.scores[iv]) >= rb.settlement.primary_threshold]
    return sorted(ok, key=lambda iv: (-_r(s.scores[iv]), order[iv]))


# --------------------------------------------------------------------------- the result model


def primary_part(rb: RuleBase, c: Consultation) -> dict[str, Any] | None:
    if c.primary is None:
        return None
    return {
        "intervention": c.primary,
        "label": _name(rb, c.primary),
        "confidence": c.confidence,
        "confidence_band": c.confidence_band(rb),
        "certainty": round(c.settled.scores[c.primary], 3),
    }


def secondary_part(rb: RuleBase, c: Consultation) -> list[dict[str, Any]]:
    return [
        {
            "intervention": iv,
            "label": _name(rb, iv),
            "certainty": round(c.settled.scores[iv], 3),
            "role": role_of(c.primary, iv, c, rb),
        }
        for iv in c.secondary
    ]


def _bars(rb: RuleBase, c: Consultation, scope: str, skip: set[str]) -> list[dict[str, str]]:
    out, seen = [], set(skip)
    for e in c.settled.exclusions:
        if e.scope != scope or e.intervention in seen:
            continue
        seen.add(e.intervention)
        out.append({"intervention": e.intervention, "reason": rb.by_id[e.rule].reason_for(e.intervention),
                    "rule": e.rule})
    return out


def ruled_out(rb: RuleBase, c: Consultation) -> list[dict[str, str]]:
    """Interventions excluded outright (must not be used): one entry each, with the first rule's reason
    worded for that intervention. Never the primary or a secondary (settlement keeps them apart)."""
    return _bars(rb, c, "excluded", {iv for iv in (c.primary, *c.secondary) if iv})


def cannot_lead(rb: RuleBase, c: Consultation) -> list[dict[str, str]]:
    """Interventions that may support but must not lead (and are not excluded outright or primary)."""
    excluded = {e.intervention for e in c.settled.exclusions if e.scope == "excluded"}
    return _bars(rb, c, "not_primary", excluded | ({c.primary} if c.primary else set()))


# --------------------------------------------------------------------------- why not


def _would_gain(rb: RuleBase, c: Consultation, iv: str, limit: int) -> list[dict[str, Any]]:
    """The unfired rules that would support ``iv``, fewest failed conditions first."""
    findings = set(c.findings)
    missing = []
    for rule in rb.rules:
        sup = rule.then.support
        if sup and sup.intervention == iv and sup.cf > 0 and rule.id not in c.fired:
            failed = failed_parts(rb, rule.when, c.answers, findings)
            if failed:
                missing.append((len(failed), -sup.cf, rule.id, failed))
    return [
        {"rule": rid, "cf": -neg, "if": failed}
        for _, neg, rid, failed in sorted(missing, key=lambda m: (m[0], m[1]))[:limit]
    ]


def why_not(rb: RuleBase, c: Consultation, max_missing: int = 3) -> dict[str, dict[str, Any]]:
    """For each intervention that is not primary: ``{verdict, certainty, rules, reasons, would_change,
    text}``. The verdict is "excluded" (a rule rules it out), "cannot_lead" (a rule bars it from leading),
    "less_support" (some support, less than the primary's or not enough to recommend) or "no_support"
    (no net support); ``text`` is rendered from the rest by :func:`why_not_text`."""
    s = c.settled
    out: dict[str, dict[str, Any]] = {}
    for iv in INTERVENTION_IDS:
        if iv == c.primary:
            continue
        excl = [e.rule for e in s.excluded(iv) if e.scope == "excluded"]
        bars = [e.rule for e in s.excluded(iv) if e.scope == "not_primary"]
        against = [st.rule for st in s.evidence[iv] if st.cf < 0]
        cf = round(s.scores[iv], 3)
        verdict: Verdict = (
            "excluded" if excl else "cannot_lead" if bars else "less_support" if _r(s.scores[iv]) > 0 else "no_support"
        )
        rules = list(dict.fromkeys([*excl, *bars, *against]))
        would = []
        if verdict in ("excluded", "cannot_lead"):
            for rid in excl or bars:
                would.append({"rule": rid, "cf": None, "holds_while": condition_parts(rb, rb.by_id[rid].when)})
        if verdict != "excluded":
            would += _would_gain(rb, c, iv, max_missing)
        entry = {
            "verdict": verdict,
            "certainty": cf,
            "rules": rules,
            "reasons": [rb.by_id[r].reason_for(iv) for r in rules],
            "would_change": would,
        }
        entry["text"] = why_not_text(rb, c, iv, entry)
        entry["short"] = why_not_short(entry)
        if c.status == "cannot_recommend" and iv == c.lean:  # the lean of a "check first": say so first
            because = next((x["because"] for x in c.differential(rb) if x["intervention"] == iv), "")
            lean = result_words().summary.why_not_lean.format(
                name=_name(rb, iv), because=((because[:1].lower() + because[1:]) if because[1:2].islower() else because).rstrip(". ")
                or "the base rates")
            entry["text"] = [lean + ".", *entry["text"]]
            entry["short"] = lean
        out[iv] = entry
    return out


def why_not_short(e: Mapping[str, Any]) -> str:
    """The one reason a reader sees first for an intervention that is not chosen: the rule that rules
    it out or bars it, else the comparison of support, else what would bring it in."""
    if e["reasons"]:
        return e["reasons"][0]
    if e["verdict"] == "less_support":
        return next((t for t in e["text"] if not t.startswith(("Would gain", "This holds"))), "")
    cond = next((w["if"][0] for w in e["would_change"] if w.get("if")), "")
    return result_words().summary.why_not_would_come_in.format(cond=cond) if cond else ""


def why_not_text(rb: RuleBase, c: Consultation, iv: str, e: Mapping[str, Any]) -> list[str]:
    """The plain-words lines of one "why not" entry, from its verdict and numbers."""
    name, cf, verdict = _name(rb, iv), e["certainty"], e["verdict"]
    lines: list[str] = []
    kinds = {r: rb.by_id[r].then.kind for r in e["rules"]}
    for rid, reason in zip(e["rules"], e["reasons"], strict=True):
        if kinds[rid] == "rule_out":
            lines.append(f"{name} is ruled out: {reason}")
        elif kinds[rid] == "not_primary" and verdict != "excluded":
            lines.append(f"{name} may support but must not lead: {reason}")
        elif kinds[rid] == "support":
            step = next(st for st in c.settled.evidence[iv] if st.rule == rid)
            lines.append(f"Evidence against ({step.cf:+.2f}): {reason}")
    p = c.primary
    pcf = round(c.settled.scores[p], 3) if p else None
    if iv in c.secondary:
        lines.append(f"Kept as a secondary intervention ({role_of(p, iv, c, rb)}), certainty {cf:.2f}.")
    elif verdict == "less_support":
        if p is None:
            gate = rb.gates.get(c.settled.gate or "")
            why = f": {gate.label}" if gate else ""
            lines.append(f"Some support (certainty {cf:.2f}), but no recommendation can be made yet{why}.")
        elif cf < pcf:
            lines.append(f"Less support: certainty {cf:.2f}, less than {_name(rb, p)} ({pcf:.2f}).")
        else:
            lines.append(
                f"As much support as {_name(rb, p)} (certainty {cf:.2f}); {_name(rb, p)} comes first in the "
                "order of precedence (wellbeing, then the organisation and work system, then the person)."
            )
        if p is not None and _r(c.settled.scores[iv]) < rb.settlement.primary_threshold:
            lines[-1] = lines[-1][:-1] + f"; {rb.settlement.primary_threshold:.2f} is needed to lead."
    elif verdict == "no_support":
        lines.append(
            "No rule supported it." if cf == 0 else f"The evidence counts against it (certainty {cf:.2f})."
        )
    for w in e["would_change"]:
        if w.get("holds_while"):
            lines.append(f"This holds while {'; and '.join(w['holds_while'])} [{w['rule']}].")
        else:
            lines.append(f"Would gain support ({w['cf']:+.2f}, {w['rule']}) if " + "; and ".join(w["if"]))
    return lines


# --------------------------------------------------------------------------- close call


def close_call(rb: RuleBase, c: Consultation) -> dict[str, Any] | None:
    """The strongest rival that could lead, when it is within ``close_call_margin`` of the primary's
    certainty; with what would decide between them (the nearest support each still lacks)."""
    if c.status != "complete" or c.primary is None:
        return None
    rivals = [iv for iv in could_lead(rb, c) if iv != c.primary]
    if not rivals:
        return None
    s, rival = c.settled, rivals[0]
    if _r(s.scores[c.primary] - s.scores[rival]) > rb.settlement.close_call_margin:
        return None
    decides = []
    for iv in (rival, c.primary):
        for w in _would_gain(rb, c, iv, 1):
            decides.append({"intervention": iv, "rule": w["rule"], "if": w["if"],
                            "text": f"{_name(rb, iv)} would gain support if " + "; and ".join(w["if"])})
    return {
        "rival": rival,
        "primary_certainty": round(s.scores[c.primary], 3),
        "rival_certainty": round(s.scores[rival], 3),
        "decides": decides,
    }


# --------------------------------------------------------------------------- the summary


def check_text(check: Mapping[str, Any]) -> str:
    """One check of a "check first" result in words: what to find out, and how (or, for a requirement
    known not to hold, what to do about it)."""
    if check.get("do"):
        return " ".join(str(check["do"]).split())
    how = " ".join(str(check.get("how") or "").split())
    what = " ".join(str(check.get("what") or "").split())
    return result_words().summary.check.format(what=what, how=how[:1].lower() + how[1:]).rstrip(": ")


def _gate_summary(rb: RuleBase, c: Consultation, d: Mapping[str, Any], w: SummaryWords) -> dict[str, Any]:
    cr = d.get("cannot_recommend") or {}
    label = cr.get("label") or (rb.gates[c.gate].label if c.gate in rb.gates else str(cr.get("reason") or ""))
    heading = rb.gates[c.gate].heading if c.gate in rb.gates else "Cannot recommend yet"
    headline = w.headline_gate.format(heading=heading, label=label)
    lean = cr.get("lean")
    if lean in INTERVENTION_IDS:
        headline += " (" + w.headline_lean.format(name=_name(rb, lean)) + ")"
    advice = " ".join(str(cr.get("advice") or "").split())
    because = re.split(r"(?<=[.!?])\s+(?=[A-Z\"'(])", advice)[:3] if advice else []
    diff = [x for x in cr.get("differential") or [] if isinstance(x, Mapping) and x.get("because")]
    if diff or cr.get("reason") == "check_first":  # check first: why the lean is the lean, what it still needs
        needs = [w.check_first_needs.format(needs=str(n).rstrip(". ")) + "." for n in cr.get("needs") or []]
        because = [*(str(x["because"]) for x in diff[:1]), *needs][:3] or because
    checks = [x for x in cr.get("checks") or [] if isinstance(x, Mapping)]
    if checks:
        next_step = check_text(checks[0])
    else:
        n = w.gate_step_sentence.get(str(cr.get("reason")), 1)
        next_step = because[min(n, len(because)) - 1] if because else ""
        # a gate's reasons: why the rule that opened it holds, then the advice beyond the first step
        opened = [first_sentence(rb.by_id[r].rationale) for r in c.fired
                  if r in rb.by_id and rb.by_id[r].then.gate == c.gate and rb.by_id[r].rationale.strip()]
        after = because[because.index(next_step) + 1:] if next_step in because else because
        because = [*opened[:1], *after][:3]
    return {"headline": headline, "because": because, "next_step": next_step}


def _because(rb: RuleBase, c: Consultation, rule_ids: list[str], limit: int = 3) -> list[str]:
    """Up to ``limit`` sentences, the first sentence of the reason each supporting rule gives (the
    strongest first; every rule fired, so what its reason states held)."""
    out: list[str] = []
    for rid in rule_ids:
        rule = rb.by_id[rid]
        reason = first_sentence(rule.reason_for(c.primary))
        if reason not in out:
            out.append(reason)
        if len(out) == limit:
            break
    return out


def summary(rb: RuleBase, c: Consultation, d: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``{headline, because (at most 3 sentences), next_step, close_call, decides, confidence}``.

    ``d`` is the consultation's plain dict (``to_dict``) when at hand: a "cannot recommend" result is
    summarised from its ``cannot_recommend`` part, whatever the gate (its label, advice, checks and
    lean), and safety guidance, when present, comes first."""
    w = result_words().summary
    d = d or {}
    kb = rb.knowledge
    cc = None
    conf = None
    if c.status == "complete" and c.primary:
        iv = kb.interventions[c.primary]
        headline = w.headline_primary.format(name=iv.name)
        if c.secondary:
            s0 = c.secondary[0]
            headline += "; " + w.headline_secondary.format(name=_name(rb, s0), role=role_of(c.primary, s0, c, rb))
        steps = sorted((st for st in c.settled.evidence[c.primary] if st.cf > 0), key=lambda st: -st.cf)
        because = _because(rb, c, [st.rule for st in steps])
        delivery = d.get("delivery") if d else None
        next_step = delivery[0]["step"] if delivery else first_step(rb, c)
        cc = close_call(rb, c)
        conf = {
            "band": c.confidence_band(rb),
            "value": c.confidence,
            "text": confidence_text(rb, c.confidence, bool(c.overturns), c.settled.one_support),
            "meaning": " ".join(result_words().confidence.meaning.split()),
            "lowered_by": None,
        }
        if c.settled.rival and c.settled.rival_cf > 0:  # the rival that takes confidence off: named
            conf["lowered_by"] = {
                "intervention": c.settled.rival,
                "certainty": round(c.settled.rival_cf, 3),
                "text": w.rival_lowers.format(rival=_name(rb, c.settled.rival), rival_cf=c.settled.rival_cf,
                                              weight=rb.settlement.rival_weight),
            }
    elif c.status == "cannot_recommend":
        g = _gate_summary(rb, c, d, w)
        headline, because, next_step = g["headline"], g["because"], g["next_step"]
    else:
        n = len(d.get("missing") or ()) or 1
        headline = w.headline_needs_answer.format(n=n, questions="question" if n == 1 else "questions")
        because = []
        next_step = w.next_question.format(text=c.next_question.text) if c.next_question else ""
    if d.get("safety_alert"):
        headline = f"{w.headline_safety}: {headline}"
        guidance = (d.get("safety") or {}).get("guidance") if isinstance(d.get("safety"), Mapping) else None
        if guidance:
            next_step = str(guidance[0])
        else:
            proc = kb.processes.get("referral_process")
            if proc and proc.steps:
                next_step = " ".join(proc.steps[0].text.split())
    decides = None
    if cc:
        note = w.close_call.format(
            rival=_name(rb, cc["rival"]), rival_cf=cc["rival_certainty"], primary_cf=cc["primary_certainty"]
        )
        text = "; or ".join(x["text"] for x in cc["decides"])
        decides = note + " " + (w.decides.format(text=text) if text else w.decides_none)
    return {
        "headline": headline,
        "because": because,
        "next_step": next_step,
        "close_call": cc is not None,
        # the rival of a close call, else the one that lowers the confidence (None without either)
        "rival": cc["rival"] if cc else ((conf or {}).get("lowered_by") or {}).get("intervention"),
        "decides": decides,
        "confidence": conf,
        "held_back": held_back(rb, c, d),
    }


def held_back(rb: RuleBase, c: Consultation, d: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Interventions with more support than the primary that a rule bars from leading: why each was held
    back (``{intervention, certainty, reason, text}``), so that a secondary stronger than the primary is
    never left unexplained."""
    if c.status != "complete" or not c.primary:
        return []
    pcf = round(c.settled.scores[c.primary], 3)
    out = []
    for bar in d.get("cannot_lead") or []:
        iv = bar["intervention"]
        cf = round(c.settled.scores.get(iv, 0.0), 3)
        if cf > pcf:
            text = result_words().summary.held_back.format(
                name=_name(rb, iv), cf=cf, primary=_name(rb, c.primary), primary_cf=pcf,
                reason=first_sentence(bar["reason"]))
            out.append({"intervention": iv, "certainty": cf, "reason": bar["reason"], "text": text})
    return out
