"""Building a plan from a result (:func:`build_plan`): the template of the intervention (or of the
gate), its suggestions filled from the answers, made for this case (who, the gap, the organisation's
profile)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from casework.gap import GapError, parse_gap
from casework.plan.templates import GatePlanT, PlanError, PlanT, SectionT, Suggest, load_templates
from casework.profile import apply_to_plan, current_profile
from knowledge.schema import DONT_KNOW
from rules.consult import SEVERAL, AnswerError, Consultation, consult
from rules.model import RuleBase, load_rulebase
from rules.words import scoped

# --------------------------------------------------------------------------- building a plan


def _as_consultation(consultation: Any, rb: RuleBase) -> Consultation:
    """Accept a Consultation, a ``Consultation.to_dict()`` or a plain answers mapping."""
    if isinstance(consultation, Consultation):
        return consultation
    if isinstance(consultation, Mapping):
        answers = consultation
        if "status" in consultation and isinstance(consultation.get("answers"), Mapping):
            answers = consultation["answers"]
        try:
            return consult(answers, rb)
        except AnswerError as exc:
            raise PlanError(["bad answers: " + p for p in exc.problems]) from None
    raise PlanError(f"expected a consultation or an answers mapping, not {type(consultation).__name__}")


def _suggestion(sg: Suggest | None, c: Consultation, rb: RuleBase, notes: str = "") -> str:
    if sg is None:
        return ""
    if sg.case_notes:
        return notes.strip()
    kb = rb.knowledge
    if sg.text is not None:
        return sg.text.strip()
    if sg.answer:
        value = c.answers.get(sg.answer)
        if not value:
            return ""
        if sg.map:
            return sg.map.get(value, "").strip()
        return kb.question(sg.answer).label_of(value)
    if sg.findings:
        text = "; ".join(rb.findings[f].label for f in c.findings if rb.finding_kind[f] in sg.findings)
        return text[:1].upper() + text[1:] + "." if text else ""
    if sg.secondary:
        return ", ".join(kb.interventions[s].name for s in c.secondary)
    if sg.dont_know:
        return "\n".join(kb.question(q).text for q, v in c.answers.items() if v == DONT_KNOW)
    if sg.checks:
        return "\n".join(f"{x['what'][:1].upper()}{x['what'][1:]}: {x['how']}" for x in c.checks(rb))
    return ""


def _section(s: SectionT, c: Consultation, rb: RuleBase, notes: str = "") -> dict[str, Any]:
    kb = rb.knowledge
    findings = set(c.findings)
    checklist = [{"text": t.strip(), "detail": "", "done": False} for t in s.checklist]
    if s.checklist_from:
        checklist += [
            {"text": st.title, "detail": st.text.strip(), "done": False}
            for st in kb.processes[s.checklist_from].steps
        ]
    items = []
    for it in s.items:
        indicated = bool(it.indicated_when and it.indicated_when.holds(c.answers, findings))
        because = []
        if it.indicated_when and indicated:
            because = [rb.findings[f].label for f in it.indicated_when.any_findings if f in findings]
        items.append(
            {
                "id": it.id,
                "title": it.title,
                "prompt": it.prompt.strip(),
                "indicated": indicated,
                "because": because,
                "action": "",
                "owner": "",
                "due": "",
            }
        )
    several = SEVERAL in c.findings
    checklist, items = scoped(checklist, several), scoped(items, several)
    return {
        "id": s.id,
        "title": s.title,
        "guidance": scoped(s.guidance.strip(), several),
        "fields": [
            {
                "id": f.id,
                "label": scoped(f.label, several),
                "prompt": scoped(f.prompt.strip(), several),
                # the case notes are the user's own words: never reworded
                "value": (v := _suggestion(f.suggest, c, rb, notes) if f.suggest and f.suggest.case_notes
                          else scoped(_suggestion(f.suggest, c, rb, notes), several)),
                "suggested": bool(v),
            }
            for f in s.fields
        ],
        "checklist": checklist,
        "items": items,
        "measures": s.measures,
    }


_NO_PROFILE_GIVEN: Any = object()


def build_plan(
    consultation: Any,
    rb: RuleBase | None = None,
    *,
    notes: str = "",
    who: str = "",
    title: str = "",
    gap: Any = None,
    profile: Any = _NO_PROFILE_GIVEN,
) -> dict[str, Any]:
    """An editable action plan for a consultation (a Consultation, its ``to_dict()``, or answers).

    Returns plain data: ``intervention`` (or ``gate`` for a "cannot recommend yet" result), ``title``,
    ``summary``, ``sections`` (each with ``fields`` holding suggested ``value``s, a ``checklist`` and
    ``items`` with an owner each), ``measures`` (a list of {measure, target, date} when the template
    asks for measures of success: coaching and training), the secondary interventions with their first
    steps, the process the plan follows, source keys and the rule-base version.
    ``notes`` are the case notes: fields that hold the gap statement start from them. ``who`` (the
    case's people) fills "who attends"; ``gap`` (a :class:`casework.gap.Gap` or its mapping) becomes the
    first measure of success; ``profile`` (default: the organisation profile in force, see
    :mod:`casework.profile`; None for the generic text) names the organisation's own offer.
    Raises :class:`PlanError` when the diagnosis still needs an answer.
    """
    rb = rb or load_rulebase()
    c = _as_consultation(consultation, rb)
    t = load_templates()
    kb = rb.knowledge
    if c.status == "needs_answer":
        q = c.next_question
        raise PlanError(f'no plan yet: the diagnosis still needs an answer to "{q.text}"')
    if c.status == "complete":
        tpl: PlanT | GatePlanT = t.plans[c.primary]
        kind, name = "intervention", kb.interventions[c.primary].name
    else:
        tpl = t.gates[c.gate]
        kind, name = "gate", rb.gates[c.gate].label
    findings = set(c.findings)
    sections = [
        _section(s, c, rb, notes if isinstance(notes, str) else "")
        for s in tpl.sections
        if s.show_when is None or s.show_when.holds(c.answers, findings)
    ]
    several = SEVERAL in findings  # the template's words about "the person" worded for the group
    safety = "risk_of_harm" in findings
    plan: dict[str, Any] = {
        "kind": kind,
        "intervention": c.primary,
        "gate": c.gate,
        "name": name,
        "title": tpl.title,
        "summary": tpl.summary.strip(),
        "status": c.status,
        "confidence": c.confidence,
        "safety_alert": safety,
        "safety_notice": t.data.safety_notice.strip() if safety else "",
        "sections": sections,
        "secondary": [
            {
                "intervention": s,
                "name": kb.interventions[s].name,
                "first_steps": list(kb.interventions[s].first_steps),
            }
            for s in c.secondary
        ],
        # how it will be delivered, where that is not yet in place: the plan's first steps
        "delivery": [{"needs": x["needs"], "step": x["step"]} for x in c.delivery(rb)],
        "process": None,
        "sources": list(tpl.sources),
        "follow_up": tpl.follow_up.model_dump() if tpl.follow_up else None,
        "rulebase_version": c.rulebase_version,
        "created": dt.date.today().isoformat(),
    }
    if tpl.process:
        p = kb.processes[tpl.process]
        plan["process"] = {
            "id": p.id,
            "title": p.title,
            "summary": p.summary.strip(),
            "steps": [{"title": s.title, "text": s.text.strip()} for s in p.steps],
        }
    plan = {k: (v if k == "sections" else scoped(v, several)) for k, v in plan.items()}
    if any(s["measures"] for s in sections):
        plan["measures_help"] = scoped(t.data.measures_help.strip(), several)
        plan["measures"] = [{"measure": "", "target": "", "date": ""}]
    return _for_this_case(plan, who=who, about=" ".join((title, notes if isinstance(notes, str) else "")),
                          gap=gap, profile=profile)


def _for_this_case(plan: dict[str, Any], *, who: str, about: str, gap: Any, profile: Any) -> dict[str, Any]:
    """The plan made specific to the case: its people in "who attends", its gap as the first measure
    of success, and the organisation's offer (see :mod:`casework.profile`)."""

    who = who.strip() if isinstance(who, str) else ""
    if who:
        for s in plan["sections"]:
            for f in s["fields"]:
                if f["id"] == "participants":
                    f["value"] = f"{who} ({f['value']})" if f["value"] else who
                    f["suggested"] = True
    try:
        g = parse_gap(gap)
    except GapError:
        g = None
    if g is not None:  # the gap is monitored whatever the intervention (its plan may have no measures section)
        target = g.number(g.target) if g.target is not None else ""
        m = {"measure": g.measure, "target": target, "date": g.by.isoformat() if g.by else ""}
        if g.direction:
            m["direction"] = g.direction
        if g.current is not None:
            m["baseline"] = g.current
        plan["measures"] = [m]
        about += " " + g.measure
    prof = current_profile() if profile is _NO_PROFILE_GIVEN else profile
    return apply_to_plan(plan, prof, about)
