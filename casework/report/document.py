"""The justification report: why this intervention, for a manager or budget holder.

``render_report(case, fmt)`` consults the rule base on the case's answers (with the explanations) and
renders one document in Markdown, HTML, PDF (fpdf2 with the bundled DejaVu font, no system binary) or
DOCX (python-docx, so L&D staff can edit it before sending): the case, the answers, the result with
confidence, how it was reached, why not each other intervention, the decisive answers, the action plan,
progress (when monitoring entries are given), the full references, the rule-base version and the date.

The content is built once as a list of blocks (:func:`build_document`); each format only renders the
blocks. User text is never trusted: HTML escapes it, Markdown neutralises Markdown and HTML in it, the
PDF replaces characters the font cannot draw, and characters XML cannot hold are dropped everywhere.
"""

from __future__ import annotations

import datetime as dt
import functools
import html
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from knowledge.loader import HERE as KNOWLEDGE_DIR
from knowledge.schema import INTERVENTION_IDS
from rules.consult import AnswerError
from rules.explain import consult_explained
from rules.model import RuleBase, load_rulebase

from .gap import GapError, parse_gap
from .plan import PlanError, build_plan, progress
from .profile import cost_text, current_profile, first_step, safety_guidance, who_delivers

FORMATS = ("md", "html", "pdf", "docx")
MEDIA_TYPES = {
    "md": "text/markdown",
    "html": "text/html",
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
FONT_DIR = KNOWLEDGE_DIR / "fonts"
FONT_REGULAR = FONT_DIR / "DejaVuSans.ttf"
FONT_BOLD = FONT_DIR / "DejaVuSans-Bold.ttf"
MAX_FIELD = 20_000
REPLACEMENT = "\ufffd"


class ReportError(ValueError):
    """The case cannot be reported; the message names the problem."""


# --------------------------------------------------------------------------- text hygiene

# Characters XML 1.0 cannot hold (and so neither DOCX nor well-formed HTML): C0 controls except tab and
# newline, lone surrogates, and the non-characters U+FFFE/U+FFFF.
_BAD_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def clean(text: Any, limit: int = MAX_FIELD) -> str:
    """User or data text made safe to put in any document: a string, newlines normalised,
    characters no document format can hold replaced, and cut to ``limit`` characters."""
    s = "" if text is None else str(text)
    s = s.replace("\r\n", "\n").replace("\r", "\n")
    s = _BAD_XML.sub(lambda m: "" if m.group() < "\ud800" else REPLACEMENT, s)
    if len(s) > limit:
        s = s[: limit - 1] + "…"
    return s


# --------------------------------------------------------------------------- the document model


@dataclass
class Block:
    kind: str  # h1 h2 h3 p lead alert bullets kv table small pagebreak
    text: str = ""
    items: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    header: list[str] = field(default_factory=list)


@dataclass
class Document:
    title: str
    blocks: list[Block]
    generated: str
    rulebase_version: str


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
    from rules.summary import check_text

    return check_text({k: _s(x.get(k)) for k in ("what", "how")})


def _fit(d: Mapping[str, Any], why: Mapping[str, Any], iv: str) -> str:
    """How an intervention fits this case, in words (the options table)."""
    from rules.summary import result_words

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
    from rules.summary import result_words

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
        from .plan import load_templates

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
        B.append(Block("p", "Changing any one of these answers alone would change the recommendation:"))
        items = []
        for dd in e["decisive"]:
            q = kb.question(dd["question"])
            alts = "; ".join(
                f'"{a["alternative_label"]}" gives '
                + (name(a["new_primary"]) if a["new_primary"] else "no recommendation yet")
                for a in dd["alternatives"])
            items.append(f'{q.text} (now "{q.label_of(dd["answer"])}"): {alts}')
        B.append(Block("bullets", items=items))
    elif c.status == "needs_answer":
        B.append(Block("p", "Worked out once the diagnosis is finished."))
    else:
        B.append(Block("p", "No single change of answer would change the recommendation."))

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


# --------------------------------------------------------------------------- Markdown

_MD_INLINE = re.compile(r"([\\`*_\[\]|~$])|<(?=[A-Za-z/!?])|&(?=#?[A-Za-z0-9]+;)")
_MD_LINE_START = re.compile(r"^([#>+=-]|\d+(?=[.)]))")


def md_escape(text: str) -> str:
    """Neutralise Markdown in text, escaping only what Markdown would act on: inline punctuation
    (emphasis, code, links, tables, strike-through, maths) is backslash-escaped, so is a ``<`` that
    could open an HTML tag and an ``&`` that would start a character reference; a line start that
    would make a heading, quote, list or rule is escaped, and leading indentation (a code block) is
    dropped. Everything else (``&``, ``'``, ``"``, ``->``) stays as it is."""
    lines = []
    for line in clean(text).split("\n"):
        line = _MD_INLINE.sub(lambda m: "\\" + m.group(0), line.strip())
        m = _MD_LINE_START.match(line)
        if m:
            g = m.group(1)
            line = (g + "\\" + line[len(g) :]) if g[0].isdigit() else "\\" + line
        lines.append(line)
    return "  \n".join(lines)


def _md_cell(text: str) -> str:
    return md_escape(" ".join(clean(text).split()))


def render_markdown(doc: Document) -> str:
    out: list[str] = []
    for b in doc.blocks:
        if b.kind in ("h1", "h2", "h3"):
            out.append("#" * int(b.kind[1]) + " " + _md_cell(b.text))
        elif b.kind == "p":
            out.append(md_escape(b.text))
        elif b.kind == "lead":
            out.append("**" + _md_cell(b.text) + "**")
        elif b.kind == "small":
            out.append("*" + _md_cell(b.text) + "*")
        elif b.kind == "alert":
            out.append("> **" + _md_cell(b.text) + "**")
        elif b.kind == "bullets":
            out.append("\n".join("- " + _md_cell(i) for i in b.items))
        elif b.kind == "kv":
            out.append("\n".join(f"- **{_md_cell(k)}:** {_md_cell(v)}" for k, v in b.rows))
        elif b.kind == "table":
            lines = ["| " + " | ".join(_md_cell(h) for h in b.header) + " |", "|" + "---|" * len(b.header)]
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in b.rows]
            out.append("\n".join(lines))
    return "\n\n".join(out) + "\n"


# --------------------------------------------------------------------------- HTML

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;max-width:52rem;margin:2rem auto;
padding:0 1rem;line-height:1.45;color:#1b1b1b}
h1{font-size:1.6rem}h2{font-size:1.25rem;border-bottom:1px solid #ccc;padding-bottom:.2rem;margin-top:2rem}
h3{font-size:1.05rem;margin-bottom:.3rem}table{border-collapse:collapse;width:100%}
td,th{border:1px solid #ccc;padding:.3rem .5rem;vertical-align:top;text-align:left}th{background:#f3f3f3}
.alert{border:2px solid #b00020;background:#fdecee;padding:.6rem .8rem;font-weight:bold}
.small{color:#555;font-size:.85rem}dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}
dt{font-weight:bold}dd{margin:0;white-space:pre-wrap}p{white-space:pre-wrap}
.lead{font-size:1.15rem;font-weight:bold}hr.pagebreak{border:0;margin:0}
@media print{hr.pagebreak{break-before:page}}
"""


def render_html(doc: Document) -> str:
    esc = lambda t: html.escape(clean(t), quote=True)  # noqa: E731
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(doc.title)}</title><style>{_CSS}</style></head><body>",
    ]
    for b in doc.blocks:
        if b.kind in ("h1", "h2", "h3"):
            out.append(f"<{b.kind}>{esc(b.text)}</{b.kind}>")
        elif b.kind == "p":
            out.append(f"<p>{esc(b.text)}</p>")
        elif b.kind == "lead":
            out.append(f'<p class="lead">{esc(b.text)}</p>')
        elif b.kind == "pagebreak":
            out.append('<hr class="pagebreak">')
        elif b.kind == "small":
            out.append(f'<p class="small">{esc(b.text)}</p>')
        elif b.kind == "alert":
            out.append(f'<p class="alert" role="alert">{esc(b.text)}</p>')
        elif b.kind == "bullets":
            out.append("<ul>" + "".join(f"<li>{esc(i)}</li>" for i in b.items) + "</ul>")
        elif b.kind == "kv":
            out.append("<dl>" + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in b.rows) + "</dl>")
        elif b.kind == "table":
            head = "".join(f"<th>{esc(h)}</th>" for h in b.header)
            body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in b.rows)
            out.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- PDF


@functools.lru_cache(maxsize=1)
def _font_chars() -> frozenset[int]:
    """Code points both bundled fonts can draw."""
    from fontTools.ttLib import TTFont

    sets = []
    for path in (FONT_REGULAR, FONT_BOLD):
        with TTFont(str(path), lazy=True) as font:
            sets.append(set(font.getBestCmap()))
    return frozenset(sets[0] & sets[1])


def pdf_text(text: str) -> str:
    """Text the PDF font can draw: any character outside the font becomes U+FFFD (a visible
    replacement mark), so emoji or rare scripts never break the report."""
    chars = _font_chars()
    s = clean(text).replace("\t", "    ")
    fallback = REPLACEMENT if ord(REPLACEMENT) in chars else "?"
    return "".join(ch if ch == "\n" or ord(ch) in chars else fallback for ch in s)


def render_pdf(doc: Document) -> bytes:
    from fpdf import FPDF

    for path in (FONT_REGULAR, FONT_BOLD):
        if not Path(path).is_file():
            raise ReportError(f"the PDF font {path.name} is missing from {FONT_DIR}")

    class _PDF(FPDF):
        def footer(self) -> None:
            self.set_y(-12)
            self.set_font("DejaVu", size=8)
            self.set_text_color(110)
            self.cell(
                0,
                5,
                pdf_text(f"{doc.title} · page {self.page_no()}/{{nb}}"),
                align="C",
            )
            self.set_text_color(0)

    pdf = _PDF(format="A4", unit="mm")
    pdf.set_margins(18, 16, 18)
    pdf.set_auto_page_break(True, margin=16)
    pdf.add_font("DejaVu", "", str(FONT_REGULAR))
    pdf.add_font("DejaVu", "B", str(FONT_BOLD))
    pdf.set_title(pdf_text(doc.title))
    pdf.set_creator("intervention-triage")
    pdf.set_creation_date(dt.datetime.now(dt.timezone.utc))
    pdf.add_page()
    width = pdf.epw

    def para(text: str, size: float = 10, bold: bool = False, h: float = 5.0, indent: float = 0.0) -> None:
        pdf.set_font("DejaVu", "B" if bold else "", size)
        pdf.set_x(pdf.l_margin + indent)
        pdf.multi_cell(width - indent, h, pdf_text(text), align="L", new_x="LMARGIN", new_y="NEXT")

    def lines_height(text: str, size: float, h: float, indent: float = 0.0, bold: bool = False) -> float:
        pdf.set_font("DejaVu", "B" if bold else "", size)
        n = len(pdf.multi_cell(width - indent, h, pdf_text(text), dry_run=True, output="LINES"))
        return n * h

    def first_height(nb: Block | None) -> float:
        """The height of the first unit of a block (what a heading must be kept with)."""
        if nb is None:
            return 0.0
        if nb.kind == "bullets" and nb.items:
            return lines_height(nb.items[0], 10, 5, 5) + 0.6
        if nb.kind == "kv" and nb.rows:
            return lines_height(nb.rows[0][0], 10, 5, bold=True) + lines_height(nb.rows[0][1], 10, 5, 5)
        if nb.kind in ("p", "lead", "alert", "small"):
            return min(lines_height(nb.text, 10, 5), 15.0)
        if nb.kind == "table":
            return 22.0  # the header row and the first row
        return 8.0

    def keep(h: float) -> None:
        """Start a new page unless ``h`` millimetres fit on this one."""
        if pdf.get_y() + h > pdf.page_break_trigger and pdf.get_y() > pdf.t_margin + 1:
            pdf.add_page()

    blocks = doc.blocks
    for n, b in enumerate(blocks):
        nxt = blocks[n + 1] if n + 1 < len(blocks) else None
        if b.kind in ("h1", "h2", "h3"):  # a heading never ends a page: kept with what follows
            keep({"h1": 9, "h2": 12.5, "h3": 7}[b.kind] + first_height(nxt))
        if b.kind == "h1":
            para(b.text, 16, True, 8)
            pdf.ln(1)
        elif b.kind == "h2":
            pdf.ln(3)
            para(b.text, 13, True, 7)
            pdf.set_draw_color(180)
            pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + width, pdf.get_y())
            pdf.ln(1.5)
        elif b.kind == "h3":
            pdf.ln(1)
            para(b.text, 11, True, 6)
        elif b.kind == "p":
            h = lines_height(b.text, 10, 5)
            if h <= 20:  # a short paragraph is not split
                keep(h)
            para(b.text)
            pdf.ln(1)
        elif b.kind == "lead":
            pdf.ln(2)
            para(b.text, 12, True, 6.5)
            pdf.ln(1)
        elif b.kind == "pagebreak":
            # never a blank or nearly blank page: a page less than 40 % full goes on
            if pdf.get_y() > pdf.t_margin + 0.4 * pdf.eph:
                pdf.add_page()
        elif b.kind == "small":
            pdf.set_text_color(90)
            keep(lines_height(b.text, 8.5, 4.5))
            para(b.text, 8.5, h=4.5)
            pdf.set_text_color(0)
        elif b.kind == "alert":
            pdf.set_text_color(160, 0, 30)
            para(b.text, 10.5, True, 5.5)
            pdf.set_text_color(0)
            pdf.ln(1)
        elif b.kind == "bullets":
            heights = [lines_height(item, 10, 5, 5) + 0.6 for item in b.items]
            for i, item in enumerate(b.items):
                # an item is never split across pages, and the last item never goes alone to a new page
                need = heights[i] + (heights[i + 1] if i == len(b.items) - 2 else 0.0)
                keep(need if need < pdf.eph else heights[i])
                y = pdf.get_y()
                pdf.set_font("DejaVu", "", 10)
                pdf.set_xy(pdf.l_margin, y)
                pdf.cell(5, 5, "•")
                pdf.set_xy(pdf.l_margin + 5, y)
                pdf.multi_cell(width - 5, 5, pdf_text(item), align="L", new_x="LMARGIN", new_y="NEXT")
                pdf.ln(0.6)
        elif b.kind == "kv":
            inline = all(len(k) <= 16 for k, _v in b.rows)  # short labels: label and value on one line
            for k, v in b.rows:
                if inline:
                    h = lines_height(v, 10, 5, 30)
                    keep(h if h < 40 else 15)
                    y = pdf.get_y()
                    pdf.set_font("DejaVu", "B", 10)
                    pdf.set_xy(pdf.l_margin, y)
                    pdf.cell(30, 5, pdf_text(k))
                    pdf.set_font("DejaVu", "", 10)
                    pdf.set_xy(pdf.l_margin + 30, y)
                    pdf.multi_cell(width - 30, 5, pdf_text(v), align="L", new_x="LMARGIN", new_y="NEXT")
                    pdf.ln(0.6)
                    continue
                h = lines_height(k, 10, 5, bold=True) + lines_height(v, 10, 5, 5)
                keep(h if h < 40 else 15)
                para(k, 10, True)
                para(v, indent=5)
                pdf.ln(0.6)
        elif b.kind == "table":
            _pdf_table(pdf, b, width)
            pdf.ln(1)
    return bytes(pdf.output())


def _pdf_table(pdf: Any, b: Block, width: float) -> None:
    """A bordered table; falls back to paragraphs when a cell is too long for one page."""
    if any(len(c) > 1500 for row in b.rows for c in row):
        for row in b.rows:
            for h, c in zip(b.header, row, strict=False):
                pdf.set_font("DejaVu", "B", 10)
                pdf.multi_cell(width, 5, pdf_text(h), align="L", new_x="LMARGIN", new_y="NEXT")
                pdf.set_font("DejaVu", "", 10)
                pdf.multi_cell(width, 5, pdf_text(c), align="L", new_x="LMARGIN", new_y="NEXT")
            pdf.ln(1)
        return
    n = len(b.header)
    widths = {2: (62, 38), 5: (13, 31, 20, 18, 18), 6: (13, 17, 18, 17, 17, 18)}.get(n, tuple([100 / n] * n))
    pdf.set_font("DejaVu", "", 9.5 if n < 5 else 7.5)
    pdf.set_draw_color(190)
    with pdf.table(
        col_widths=widths,
        text_align="LEFT",
        line_height=4.8 if n < 5 else 3.4,
        padding=(0.6, 1) if n >= 5 else None,
        headings_style=_headings_style(),
        width=width,
    ) as table:
        row = table.row()
        for h in b.header:
            row.cell(pdf_text(h))
        for cells in b.rows:
            row = table.row()
            for c in cells:
                row.cell(pdf_text(c))


def _headings_style() -> Any:
    from fpdf.fonts import FontFace

    return FontFace(emphasis="BOLD", fill_color=(238, 238, 238))


# --------------------------------------------------------------------------- DOCX


def render_docx(doc: Document) -> bytes:
    from docx import Document as Docx
    from docx.shared import Pt, RGBColor

    d = Docx()
    d.core_properties.title = clean(doc.title, 255)
    d.core_properties.author = "intervention-triage"
    style = d.styles["Normal"]
    style.font.size = Pt(10.5)
    for b in doc.blocks:
        if b.kind in ("h1", "h2", "h3"):
            d.add_heading(clean(b.text), level={"h1": 0, "h2": 1, "h3": 2}[b.kind])
        elif b.kind == "p":
            d.add_paragraph(clean(b.text))
        elif b.kind == "lead":
            run = d.add_paragraph().add_run(clean(b.text))
            run.bold = True
            run.font.size = Pt(13)
        elif b.kind == "pagebreak":
            d.add_page_break()
        elif b.kind == "small":
            run = d.add_paragraph().add_run(clean(b.text))
            run.font.size = Pt(8.5)
            run.font.color.rgb = RGBColor(0x55, 0x55, 0x55)
        elif b.kind == "alert":
            run = d.add_paragraph().add_run(clean(b.text))
            run.bold = True
            run.font.color.rgb = RGBColor(0xA0, 0x00, 0x1E)
        elif b.kind == "bullets":
            for item in b.items:
                d.add_paragraph(clean(item), style="List Bullet")
        elif b.kind == "kv":
            for k, v in b.rows:
                p = d.add_paragraph()
                p.add_run(clean(k) + ": ").bold = True
                p.add_run(clean(v))
        elif b.kind == "table":
            t = d.add_table(rows=1, cols=len(b.header))
            t.style = "Table Grid"
            for cell, h in zip(t.rows[0].cells, b.header, strict=False):
                cell.text = ""
                cell.paragraphs[0].add_run(clean(h)).bold = True
            for row in b.rows:
                cells = t.add_row().cells
                for cell, c in zip(cells, row, strict=False):
                    cell.text = clean(c)
            d.add_paragraph()
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


# --------------------------------------------------------------------------- entry point


def render_report(case: Mapping[str, Any], fmt: str, today: dt.date | None = None) -> bytes:
    """The justification report for ``case`` in ``fmt`` ("md", "html", "pdf" or "docx"), as bytes.

    ``case`` = {"title", "who", "notes", "answers", optional "plan" (an edited action plan; built from
    the result when absent), optional "monitoring" (a list of monitoring entries)}.
    Raises :class:`ReportError` for an unknown format or unusable case data.
    """
    fmt = (fmt or "").lower().lstrip(".")
    if fmt == "markdown":
        fmt = "md"
    if fmt not in FORMATS:
        raise ReportError(f"unknown report format '{fmt}': use one of {', '.join(FORMATS)}")
    doc = build_document(case, today=today)
    if fmt == "md":
        return render_markdown(doc).encode("utf-8")
    if fmt == "html":
        return render_html(doc).encode("utf-8")
    if fmt == "pdf":
        return render_pdf(doc)
    return render_docx(doc)
