"""The content of the justification report, built once as a list of blocks (:func:`build_document`):
the case, the answers, the result with confidence, how it was reached, why not each other
intervention, the decisive answers, the action plan and progress, the references, the rule-base
version and the date. Each format only renders the blocks."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from casework.gap import GapError, parse_gap
from casework.plan import PlanError, build_plan, load_templates, progress
from casework.profile import cost_text, current_profile, first_step, safety_guidance, who_delivers
from casework.report.model import Block, Document, ReportError, clean
from knowledge.schema import INTERVENTION_IDS
from rules.consult import AnswerError
from rules.explain import consult_explained
from rules.model import RuleBase, load_rulebase
from rules.summary import check_text, result_words


def _pct(x: float | None) -> str:
    return "" if x is None else f"{x:.0%}"


def _case_fields(case: Any) -> dict[str, Any]:
    if not isinstance(case, Mapping):
        raise ReportError(
            f"a case must be a mapping with title, who, notes and answers, not {type(case).__name__}"
        )
    answers = case.get("answers")
    if not isinstance(answers, Mapping):
        raise ReportError("the case has no 'answers' mapping (question id -> answer)")
    out = {"answers": answers}
    for key in ("title", "who", "notes"):
        value = case.get(key) or ""
        if not isinstance(value, (str, int, float)):
            raise ReportError(f"'{key}' must be text")
        out[key] = clean(value)
    plan = case.get("plan")
    if plan is not None and not isinstance(plan, Mapping):
        raise ReportError("'plan' must be a mapping (an action plan)")
    monitoring = case.get("monitoring")
    if monitoring is not None and not isinstance(monitoring, list):
        raise ReportError("'monitoring' must be a list of entries")
    out["plan"], out["monitoring"] = plan, monitoring
    return out


def _check_text(x: Mapping[str, Any]) -> str:

    return check_text({k: _s(x.get(k)) for k in ("what", "how")})


def _fit(d: Mapping[str, Any], why: Mapping[str, Any], iv: str) -> str:
    """How an intervention fits this case, in words (the options table)."""

    w = result_words()
    if d["primary"] and d["primary"]["intervention"] == iv:
        return w.fit["primary"]
    for s in d["secondary"]:
        if s["intervention"] == iv:
            return w.fit["secondary"].format(role=s["role"])
    cr = d.get("cannot_recommend") or {}
    if cr.get("lean") == iv:
        return w.fit["lean"]
    wn = why.get(iv)
    return w.verdicts[wn["verdict"]] if wn else ""


_DEFAULT: Any = object()


def _unknowns(c: Any, d: Mapping[str, Any], rb: RuleBase) -> list[str]:
    """What is still unknown, and how to check it: the checks of a "check first" result, else the
    "don't know" answers that could change the result (with what they could change it to and how
    to find them out), and how many other answers are unknown without mattering."""
    kb = rb.knowledge
    cr = d.get("cannot_recommend") or {}
    checks = [x for x in cr.get("checks") or [] if isinstance(x, Mapping)]
    if checks:
        return [f"☐ {_check_text(x)}" for x in checks]
    if c.status == "cannot_recommend":
        return [f"☐ {kb.question(q).text}" for q, v in c.answers.items() if v == "dont_know"]
    out, named = [], set()
    for o in d.get("could_change_result") or []:
        q = kb.question(o["question"])
        named.add(q.id)
        to = list(dict.fromkeys(a["text"] for a in o["alternatives"]))
        how = f" {q.check.what[:1].upper()}{q.check.what[1:]}: {q.check.how}" if q.check else ""
        out.append(f"☐ {o.get('text') or q.text} — unknown; another answer: {' or '.join(to)}.{how}")
    rest = [q for q, v in c.answers.items() if v == "dont_know" and q not in named]
    if rest:
        out.append(f"{len(rest)} other answer{'s' if len(rest) > 1 else ''} \"don't know\" would not change the "
                   "result (listed in appendix A).")
    return out


def _why_row(d: Mapping[str, Any], why: Mapping[str, Any], iv: str, c: Any) -> str:
    """The options table's "chosen or not, and why" for one intervention: its fit, with the reason
    (for one with no support: what would bring it in)."""
    fit = _fit(d, why, iv)
    if iv == c.primary or iv in c.secondary:
        return fit
    if iv == (d.get("cannot_recommend") or {}).get("lean"):
        return fit
    wn = why.get(iv)
    if not wn:
        return fit
    reason = wn.get("short") or ""
    return f"{fit}: {reason}" if reason else fit


def _gist(text: str) -> str:
    """The first clause of a knowledge-base range ("Low when done in-house; an external coach costs
    more" -> "Low when done in-house"): the short form for page 1 (the full text is in the knowledge
    base and on the Learn pages)."""
    head = re.split(r"[;:(]|, (?:or|then|plus|but) |\. ", " ".join(text.split()), maxsplit=1)[0].strip(" ,.")
    return head[:1].upper() + head[1:]


def _decision(c: Any, d: Mapping[str, Any], prof: Any, about: str, name: Any) -> str:
    """The decision asked of the budget holder, in one sentence."""
    to = f" ({prof.budget.approver})" if prof and prof.budget.approver else ""
    if c.status == "complete":
        cost = cost_text(c.primary, prof, about)
        typical = _gist(load_rulebase().knowledge.interventions[c.primary].option.cost).lower()
        price = f" at about {cost}" if cost else f" (typical cost: {typical}; no figures for this organisation)"
        also = "".join(f"; then {name(x['intervention'])}, {x['role']}" for x in d["secondary"])
        by = f" Decided by {prof.budget.approver}." if prof and prof.budget.approver else ""
        return f"Approve {name(c.primary)}{price}{also}.{by}"
    if c.status == "cannot_recommend":
        return (f"No spend to approve yet{to}: first make the checks above, then consult again. "
                + ((d.get("cannot_recommend") or {}).get("advice") or ""))
    return f"No decision yet{to}: the diagnosis is not finished."


def build_document(
    case: Mapping[str, Any], rb: RuleBase | None = None, today: dt.date | None = None, profile: Any = _DEFAULT
) -> Document:
    """The report's content as blocks, independent of the output format.

    Page 1 is for the budget holder: the recommendation, the summary, the reasons and why not the
    alternatives. Then the options compared (who delivers, time to effect, effort and cost), the
    case and the action plan with its measures of success; the answers, the rule trace, the
    confidence arithmetic and the decisive answers are the appendix; the references close it."""

    rb = rb or load_rulebase()
    kb = rb.knowledge
    today = today or dt.date.today()
    f = _case_fields(case)
    try:
        gap = parse_gap(case.get("gap"))
    except GapError as exc:
        raise ReportError("; ".join(exc.problems)) from None
    try:
        c = consult_explained(f["answers"], rb)
    except AnswerError as exc:
        raise ReportError("bad answers: " + "; ".join(exc.problems)) from None
    e = c.explanation
    d = c.to_dict(rb)
    sm = d["summary"]
    why = e["why_not"]
    words = result_words()
    name = lambda iv: kb.interventions[iv].name  # noqa: E731
    source_keys: list[str] = []
    B: list[Block] = []
    title = f["title"] or "Untitled case"

    prof = current_profile() if profile is _DEFAULT else profile
    about = " ".join((f["title"], f["notes"], gap.measure if gap else ""))
    B.append(Block("h1", f"Justification report: {title}"))
    prepared = f"Prepared {today.isoformat()}"
    if prof and prof.organisation:
        prepared += f" for {prof.organisation}"
    B.append(Block("small", prepared))
    if d["safety_alert"]:
        sf = d.get("safety") or {}
        guidance = sf.get("guidance") or []
        guidance = [guidance] if isinstance(guidance, str) else [str(x) for x in guidance]
        text = " ".join(x for x in (sf.get("title"), *guidance) if x) or load_templates().data.safety_notice
        B.append(Block("alert", safety_guidance(text.strip(), prof)))

    # page 1, for the budget holder: who and what, the gap, the recommendation, what is unknown,
    # the options compared and the decision asked
    B.append(Block("h2", "The case in brief"))
    brief = [["About", f["who"] or "—"], ["Case", title]]
    if gap is not None:
        size = gap.size()
        brief.append(["The gap", gap.sentence() + (f" ({size})" if size else "")])
    else:
        brief.append(["The gap", "not yet put in numbers (a measure, where it stands, the target, by when)"])
    B.append(Block("kv", rows=brief))
    B.append(Block("lead", sm["headline"]))
    if c.status == "complete":
        conf = sm["confidence"]
        lowered = (conf.get("lowered_by") or {}).get("text")
        B.append(Block("p", f"Confidence: {conf['text']} — how firmly the answers support it, not a probability"
                            + (f"; {lowered}." if lowered else ".")))
        for x in d["secondary"]:
            if name(x["intervention"]) not in sm["headline"]:
                B.append(Block("p", f"Also: {name(x['intervention'])}, {x['role']}."))
        source_keys += kb.interventions[c.primary].sources
    elif c.status == "needs_answer":
        q = c.next_question
        B.append(Block("p", f'The diagnosis is not finished: the next question is "{q.text}".'))
        if c.provisional:
            B.append(Block("p", f"So far the answers point to {name(c.provisional)}."))
    if sm["decides"]:
        B.append(Block("p", sm["decides"]))
    if sm["because"]:
        B.append(Block("h3", "The reasons"))
        B.append(Block("bullets", items=list(sm["because"])[:3]))
    if sm["next_step"]:
        B.append(Block("h3", "First step"))
        B.append(Block("p", first_step(sm["next_step"], c.primary, prof)))
    B.append(Block("h3", "Decision asked"))
    B.append(Block("p", _decision(c, d, prof, about, name)))
    unknown = _unknowns(c, d, rb)
    if unknown:
        B.append(Block("h3", "Still unknown, and how to check it"))
        B.append(Block("bullets", items=unknown))

    B.append(Block("h3", "The options compared"))
    rows = []
    for iv_id in INTERVENTION_IDS:
        o = kb.interventions[iv_id].option
        cost = cost_text(iv_id, prof, about)
        rows.append([
            name(iv_id),
            _why_row(d, why, iv_id, c),
            who_delivers(iv_id, prof, about) or _gist(o.delivered_by),
            " ".join(o.time_to_effect.split("(")[0].split()).rstrip(" ,.;"),
            f"Effort: {_gist(o.effort).lower()}. Cost: {cost or _gist(o.cost).lower()}",
        ])
        source_keys += o.sources
    B.append(Block("table", header=["Option", "Chosen or not, and why", "Who delivers", "Time to effect",
                                    "Effort and cost"], rows=rows))
    if prof is None:
        B.append(Block("small", "Effort and cost: typical ranges from the sources, not this organisation's "
                       "figures."))
    # the case and the action plan
    B.append(Block("pagebreak"))
    B.append(Block("h2", "The case"))
    B.append(Block("kv", rows=[["Case", title], ["About", f["who"] or "—"], ["Date", today.isoformat()]]))
    if f["notes"]:
        B.append(Block("p", f["notes"]))
    plan = f["plan"]
    if plan is None and c.status != "needs_answer":
        try:
            plan = build_plan(c, rb, notes=f["notes"], who=f["who"], title=f["title"], gap=gap, profile=prof)
        except PlanError:
            plan = None
    B.append(Block("h2", "Action plan"))
    if plan:
        B += _plan_blocks(plan)
        source_keys += [k for k in plan.get("sources") or [] if isinstance(k, str)]
    else:
        B.append(Block("p", "No action plan until the diagnosis is finished."))
    if f["monitoring"]:
        B.append(Block("h2", "Progress"))
        B += _progress_blocks(progress(plan, f["monitoring"], today))

    # appendix: the answers and the reasoning in full
    B.append(Block("pagebreak"))
    B.append(Block("h2", "Appendix A: the answers"))
    B.append(Block("small", f"Rule-base version {c.rulebase_version}."))
    if c.answers:
        B.append(Block("table", header=["Question", "Answer"],
                       rows=[[kb.question(q).text, kb.question(q).label_of(v)] for q, v in c.answers.items()]))
    else:
        B.append(Block("p", "No answers yet."))
    if c.ignored:
        B.append(Block("p", "Answers not used (the questions were not on this path):"))
        B.append(Block("bullets", items=[f"{kb.question(q).text}: {kb.question(q).label_of(v)}"
                                         for q, v in c.ignored.items()]))

    B.append(Block("h2", "Appendix B: how the result was reached"))
    if e["how"]:
        items = []
        for h in e["how"]:
            used = "; ".join(f"{a['question']} → {a['label']}" for a in h["answers"].values())
            refs = "; ".join(s["short"] for s in h["sources"])
            text = f"{h['rule']}: {h['conclusion']}. {h['rationale']}"
            if used:
                text += f" (answers: {used})"
            if refs:
                text += f" [{refs}]"
            items.append(text)
            source_keys += [s["key"] for s in h["sources"]]
        B.append(Block("bullets", items=items))
    else:
        B.append(Block("p", "No rule has fired yet."))
    if e.get("confidence"):
        B.append(Block("h3", "How the confidence was combined"))
        B.append(Block("p", e["confidence"]["meaning"]))
        B.append(Block("bullets", items=list(e["confidence"]["arithmetic"])))
    B.append(Block("h3", "Why not the other interventions, in full"))
    for iv_id, wn in why.items():
        B.append(Block("p", f"{name(iv_id)} — {words.verdicts[wn['verdict']]} (certainty {wn['certainty']:.2f})"))
        B.append(Block("bullets", items=list(wn["text"])))
    B.append(Block("h3", "Decisive answers"))
    if e["decisive"]:
        B.append(Block("p", "Changing any one of these answers alone would change the result:"))
        items = []
        for dd in e["decisive"]:
            q = kb.question(dd["question"])
            alts = "; ".join(f'"{a["alternative_label"]}": {a["text"]}' for a in dd["alternatives"])
            items.append(f'{dd["question_text"]} (now "{q.label_of(dd["answer"])}"): {alts}')
        B.append(Block("bullets", items=items))
    elif c.status == "needs_answer":
        B.append(Block("p", "Worked out once the diagnosis is finished."))
    else:
        B.append(Block("p", "No single change of answer would change the result."))

    # references
    B.append(Block("h2", "References"))
    keys = [k for k in dict.fromkeys(source_keys) if k in kb.sources]
    refs = sorted((kb.sources[k] for k in keys), key=lambda s: s.full.casefold())
    B.append(Block("bullets", items=[" ".join(s.full.split()) for s in refs] or ["None cited."]))

    B.append(
        Block(
            "small",
            f"Rule-base version {c.rulebase_version} · report prepared on {today.isoformat()} by intervention-triage.",
        )
    )
    return Document(title=title, blocks=B, generated=today.isoformat(), rulebase_version=c.rulebase_version)


def _s(x: Any) -> str:
    return clean(x) if isinstance(x, (str, int, float)) else ""


def _plan_blocks(plan: Mapping[str, Any]) -> list[Block]:
    B: list[Block] = [Block("h3", _s(plan.get("title")) or "Plan")]
    if plan.get("summary"):
        B.append(Block("p", _s(plan["summary"])))
    if plan.get("safety_notice"):
        B.append(Block("alert", _s(plan["safety_notice"])))
    for s in plan.get("sections") or []:
        if not isinstance(s, Mapping):
            continue
        B.append(Block("h3", _s(s.get("title"))))
        if s.get("guidance"):
            B.append(Block("p", _s(s["guidance"])))
        rows = []
        for fld in s.get("fields") or []:
            if isinstance(fld, Mapping):
                rows.append([_s(fld.get("label")), _s(fld.get("value")) or "—"])
        if rows:
            B.append(Block("kv", rows=rows))
        items = []
        for it in s.get("items") or []:
            if not isinstance(it, Mapping):
                continue
            text = _s(it.get("title"))
            if it.get("indicated"):
                text += " — indicated" + (
                    f" ({'; '.join(_s(b) for b in it.get('because') or [])})" if it.get("because") else ""
                )
            parts = [
                f"{label}: {_s(it.get(k))}"
                for k, label in (("action", "action"), ("owner", "owner"), ("due", "due"))
                if it.get(k)
            ]
            if parts:
                text += ". " + "; ".join(parts)
            items.append(text)
        if items:
            B.append(Block("bullets", items=items))
        checks = []
        for ch in s.get("checklist") or []:
            if isinstance(ch, Mapping):
                mark = "☑" if ch.get("done") else "☐"
                checks.append(
                    f"{mark} {_s(ch.get('text'))}" + (f": {_s(ch.get('detail'))}" if ch.get("detail") else "")
                )
        if checks:
            B.append(Block("bullets", items=checks))
        if s.get("measures"):
            ms = [m for m in plan.get("measures") or [] if isinstance(m, Mapping)]
            if plan.get("measures_help"):
                B.append(Block("p", _s(plan["measures_help"])))
            if ms:
                B.append(
                    Block(
                        "table",
                        header=["Measure", "Target", "Date"],
                        rows=[
                            [
                                _s(m.get("measure")) or "—",
                                _s(m.get("target")) or "—",
                                _s(m.get("date")) or "—",
                            ]
                            for m in ms
                        ],
                    )
                )
    sec = [x for x in plan.get("secondary") or [] if isinstance(x, Mapping)]
    for x in sec:
        B.append(Block("h3", f"Alongside: {_s(x.get('name'))}"))
        B.append(Block("bullets", items=[_s(step) for step in x.get("first_steps") or []]))
    return B


def _progress_blocks(p: Mapping[str, Any]) -> list[Block]:
    B: list[Block] = []
    for m in p["measures"]:
        B.append(Block("h3", m["measure"]))
        values = ", ".join(f"{v['date']}: {v['value']:g}" for v in m["values"]) or "none recorded"
        B.append(
            Block(
                "kv",
                rows=[
                    ["Target", m["target"] or "—"],
                    ["Review date", m["date"] or "—"],
                    ["Values", values],
                    ["Met", {True: "yes", False: "not yet", None: "cannot tell"}[m["met"]]],
                ],
            )
        )
        B.append(Block("p", m["message"]))
    if p["unmatched"]:
        B.append(Block("h3", "Other values recorded"))
        B.append(
            Block("bullets", items=[f"{u['date']}: {u['measure']} = {u['value']:g}" for u in p["unmatched"]])
        )
    if p.get("follow_ups"):
        B.append(Block("h3", "Follow-ups"))
        B.append(Block("bullets", items=[f"{f['date']}: {f['note']}" for f in p["follow_ups"]]))
    if p["sessions"]:
        B.append(Block("h3", "Coaching sessions"))
        items = []
        for s in p["sessions"]:
            text = f"{s['date']}: {len(s['done'])} of {len(s['done']) + len(s['missing'])} events"
            if s["missing"]:
                text += " (missing: " + "; ".join(s["missing"]) + ")"
            if s["note"]:
                text += f". {s['note']}"
            items.append(text)
        B.append(Block("bullets", items=items))
    return B
