"""Action plans and monitoring: the Plan → Implement → Monitor process after a diagnosis.

``build_plan(consultation)`` turns a result into a plan the user can edit, from the templates in
``knowledge/plans.yaml`` (text is data, not code): for coaching the needs analysis, measures of success,
the action plan, the agreement and the eight events of instruction; for the other interventions their
own next steps (mentoring agreement, training outline, referral steps, consultancy brief, system fixes
with an owner each); for a "cannot recommend yet" result the steps that unblock it.

``check_measures(measures)`` says what is wrong with measures of success (each needs a measure, a
target and a date). ``progress(plan, entries)`` computes progress against each measure from the
monitoring entries, and which feedback is due (recognise achievement, or further coaching).

Everything returns plain data (dicts, lists, strings) so the store, the report, the CLI and the app
can use it alike.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from knowledge.loader import HERE as KNOWLEDGE_DIR
from knowledge.loader import KnowledgeError, read_yaml
from knowledge.schema import DONT_KNOW, INTERVENTION_IDS, InterventionId
from rules.consult import AnswerError, Consultation, consult
from rules.model import RuleBase, load_rulebase

PLANS_FILE = KNOWLEDGE_DIR / "plans.yaml"
MAX_TEXT = 20_000  # characters in one field of a plan or a monitoring note
MAX_PLAN_BYTES = 500_000
MEASURE_KEYS = ("measure", "target", "date")
DIRECTIONS = ("at_least", "at_most")
ENTRY_KINDS = ("measure", "session", "follow_up")
N_EVENTS = 8


class PlanError(ValueError):
    """A plan, a plan template or a monitoring entry cannot be used; ``problems`` lists each one."""

    def __init__(self, problems: list[str] | str):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("; ".join(self.problems))


# --------------------------------------------------------------------------- template models


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class When(_Strict):
    """Holds when every listed answer is among its values and (if given) any of the findings is present."""

    answers: dict[str, list[str]] = {}
    any_findings: list[str] = []

    @model_validator(mode="after")
    def _not_empty(self) -> When:
        if not self.answers and not self.any_findings:
            raise ValueError("a condition needs 'answers' or 'any_findings'")
        return self

    def holds(self, answers: Mapping[str, str], findings: set[str]) -> bool:
        if any(answers.get(q) not in vals for q, vals in self.answers.items()):
            return False
        return not self.any_findings or any(f in findings for f in self.any_findings)


class Suggest(_Strict):
    """Where a field's suggested starting text comes from (exactly one key)."""

    text: str | None = None
    answer: str | None = None
    map: dict[str, str] = {}  # with ``answer``: the text for each answer value (others give nothing)
    findings: list[str] | None = None  # finding kinds
    secondary: bool | None = None
    dont_know: bool | None = None
    case_notes: bool | None = None  # the case notes (the gap as the user described it)
    checks: bool | None = None  # "check first": what to find out, and how

    @model_validator(mode="after")
    def _exactly_one(self) -> Suggest:
        given = [k for k, v in self.model_dump().items() if k != "map" and v not in (None, False)]
        if self.map and not self.answer:
            raise ValueError("'map' goes with 'answer'")
        if len(given) != 1:
            raise ValueError(
                "a suggestion needs exactly one of text, answer, findings, secondary, dont_know, checks, case_notes "
                f"(got {given or 'none'})"
            )
        return self


class FieldT(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str = Field(min_length=1)
    prompt: str = ""
    suggest: Suggest | None = None


class ItemT(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str = Field(min_length=1)
    prompt: str = ""
    indicated_when: When | None = None


class SectionT(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str = Field(min_length=1)
    guidance: str = ""
    show_when: When | None = None
    fields: list[FieldT] = []
    checklist: list[str] = []
    checklist_from: str | None = None
    items: list[ItemT] = []
    measures: bool = False

    @model_validator(mode="after")
    def _has_content(self) -> SectionT:
        if not (self.fields or self.checklist or self.checklist_from or self.items or self.measures):
            raise ValueError("a section needs fields, a checklist, items or measures")
        return self


class FollowUpT(_Strict):
    """A dated note that fits the intervention (a referral's follow-up, a mentoring meeting …)."""

    label: str
    prompt: str


class _PlanBody(_Strict):
    title: str
    summary: str
    follow_up: FollowUpT | None = None
    process: str | None = None
    sources: list[str] = []
    sections: list[SectionT] = Field(min_length=1)


class PlanT(_PlanBody):
    intervention: InterventionId


class GatePlanT(_PlanBody):
    gate: str


class MonitoringTexts(_Strict):
    met: str
    review_passed: str
    on_track: str
    no_values: str
    no_number: str
    session_incomplete: str
    at_most_words: list[str] = Field(min_length=1)


class PlansFile(_Strict):
    safety_notice: str
    batch_safety_notice: str
    measures_help: str
    monitoring: MonitoringTexts
    plans: list[PlanT]
    gates: list[GatePlanT] = []


class Templates:
    """The validated plan templates, by intervention and by gate."""

    def __init__(self, data: PlansFile):
        self.data = data
        self.plans = {p.intervention: p for p in data.plans}
        self.gates = {g.gate: g for g in data.gates}
        self.monitoring = data.monitoring


def _check_refs(pf: PlansFile, rb: RuleBase, where: str) -> list[str]:
    """Cross-references the models cannot see: question ids and values, findings, kinds, processes, sources."""
    kb = rb.knowledge
    kinds = set(rb.finding_kind.values())
    problems: list[str] = []

    def when_ok(w: When | None, at: str) -> None:
        if w is None:
            return
        for qid, vals in w.answers.items():
            if qid not in kb.question_index:
                problems.append(f"{at}: unknown question id '{qid}'")
                continue
            bad = [v for v in vals if v not in kb.question(qid).option_values()]
            if bad:
                problems.append(f"{at}.{qid}: {bad} not among {kb.question(qid).option_values()}")
        for f in w.any_findings:
            if f not in rb.findings:
                problems.append(f"{at}: unknown finding '{f}'")

    def template_ok(t: PlanT | GatePlanT, at: str) -> None:
        if t.process and t.process not in kb.processes:
            problems.append(f"{at}.process: unknown process '{t.process}'")
        for k in t.sources:
            if k not in kb.sources:
                problems.append(f"{at}.sources: unknown source key '{k}'")
        seen: set[str] = set()
        for i, s in enumerate(t.sections):
            sat = f"{at}.sections[{i}] (id={s.id})"
            if s.id in seen:
                problems.append(f"{sat}: section id used twice")
            seen.add(s.id)
            when_ok(s.show_when, f"{sat}.show_when")
            if s.checklist_from and s.checklist_from not in kb.processes:
                problems.append(f"{sat}.checklist_from: unknown process '{s.checklist_from}'")
            for j, fld in enumerate(s.fields):
                fat = f"{sat}.fields[{j}] (id={fld.id})"
                sg = fld.suggest
                if sg and sg.answer and sg.answer not in kb.question_index:
                    problems.append(f"{fat}.suggest.answer: unknown question id '{sg.answer}'")
                elif sg and sg.map:
                    bad = [v for v in sg.map if v not in kb.question(sg.answer).option_values()]
                    if bad:
                        problems.append(
                            f"{fat}.suggest.map: {bad} not among {kb.question(sg.answer).option_values()}"
                        )
                if sg and sg.findings:
                    for k in sg.findings:
                        if k not in kinds:
                            problems.append(
                                f"{fat}.suggest.findings: unknown finding kind '{k}' (kinds: {sorted(kinds)})"
                            )
            for j, it in enumerate(s.items):
                when_ok(it.indicated_when, f"{sat}.items[{j}] (id={it.id}).indicated_when")

    for i, p in enumerate(pf.plans):
        template_ok(p, f"{where}: plans[{i}] (intervention={p.intervention})")
    for i, g in enumerate(pf.gates):
        at = f"{where}: gates[{i}] (gate={g.gate})"
        if g.gate not in rb.gates:
            problems.append(f"{at}: unknown gate '{g.gate}' (gates: {sorted(rb.gates)})")
        template_ok(g, at)
    ivs = [p.intervention for p in pf.plans]
    missing = [iv for iv in INTERVENTION_IDS if iv not in ivs]
    if missing:
        problems.append(f"{where}: plans: no template for {missing}")
    dupes = sorted({iv for iv in ivs if ivs.count(iv) > 1})
    if dupes:
        problems.append(f"{where}: plans: more than one template for {dupes}")
    missing_gates = [g for g in rb.gates if g not in {x.gate for x in pf.gates}]
    if missing_gates:
        problems.append(f"{where}: gates: no template for {missing_gates}")
    return problems


def load_templates_from(path: Path, rb: RuleBase | None = None) -> Templates:
    """Read and validate a plans file; raises :class:`PlanError` naming file, entry and field."""
    rb = rb or load_rulebase()
    from knowledge.loader import validate

    try:
        data = read_yaml(path)
        pf = validate(PlansFile, data, path.name)
    except KnowledgeError as exc:
        raise PlanError(str(exc).splitlines()) from None
    problems = _check_refs(pf, rb, path.name)
    if problems:
        raise PlanError(problems)
    return Templates(pf)


@functools.lru_cache(maxsize=1)
def load_templates() -> Templates:
    """The shipped plan templates (``knowledge/plans.yaml``), validated once per process."""
    return load_templates_from(PLANS_FILE)


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
    return {
        "id": s.id,
        "title": s.title,
        "guidance": s.guidance.strip(),
        "fields": [
            {
                "id": f.id,
                "label": f.label,
                "prompt": f.prompt.strip(),
                "value": (v := _suggestion(f.suggest, c, rb, notes)),
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
    if any(s["measures"] for s in sections):
        plan["measures_help"] = t.data.measures_help.strip()
        plan["measures"] = [{"measure": "", "target": "", "date": ""}]
    return _for_this_case(plan, who=who, about=" ".join((title, notes if isinstance(notes, str) else "")),
                          gap=gap, profile=profile)


def _for_this_case(plan: dict[str, Any], *, who: str, about: str, gap: Any, profile: Any) -> dict[str, Any]:
    """The plan made specific to the case: its people in "who attends", its gap as the first measure
    of success, and the organisation's offer (see :mod:`casework.profile`)."""
    from casework.gap import GapError, parse_gap
    from casework.profile import apply_to_plan, current_profile

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


# --------------------------------------------------------------------------- measures of success


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def _as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        s = value.strip()
        if not _ISO_DATE.match(s) or (len(s) > 10 and s[10] not in "T "):
            return None
        try:
            return dt.date.fromisoformat(s[:10])
        except ValueError:
            return None
    return None


def _short(text: str, n: int = 40) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"


def check_measures(measures: Any) -> list[str]:
    """What is wrong with a list of measures of success; an empty list means they are fine.

    Each measure needs a ``measure`` (what the person will do), a ``target`` (how well or how often)
    and a ``date`` (YYYY-MM-DD, by when). ``direction``, if given, is ``at_least`` or ``at_most``.
    """
    if measures is None or (isinstance(measures, list) and not measures):
        return ["add at least one measure of success, with a measure, a target and a date"]
    if not isinstance(measures, list):
        return [f"measures must be a list, not {type(measures).__name__}"]
    problems: list[str] = []
    seen: dict[str, int] = {}
    for i, m in enumerate(measures, 1):
        if not isinstance(m, Mapping):
            problems.append(f"measure {i}: expected a measure, a target and a date, not {type(m).__name__}")
            continue
        name = str(m.get("measure") or "").strip()
        label = f"measure {i}" + (f" ('{_short(name)}')" if name else "")
        if not name:
            problems.append(f"{label}: no measure (what will the person do?)")
        if not str(m.get("target") or "").strip():
            problems.append(f"{label}: no target (how well or how often, ideally a number)")
        raw_date = m.get("date")
        if raw_date in (None, "") or (isinstance(raw_date, str) and not raw_date.strip()):
            problems.append(f"{label}: no date (by when)")
        elif _as_date(raw_date) is None:
            problems.append(f"{label}: '{_short(str(raw_date))}' is not a date (write it as YYYY-MM-DD)")
        direction = m.get("direction")
        if direction not in (None, "") and direction not in DIRECTIONS:
            problems.append(f"{label}: direction must be at_least or at_most, not '{_short(str(direction))}'")
        if name:
            key = name.casefold()
            if key in seen:
                problems.append(f"{label}: the same measure as measure {seen[key]}")
            else:
                seen[key] = i
    return problems


_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?")


def parse_target(target: Any, direction: str | None = None) -> tuple[float | None, str]:
    """The threshold in a target (its first number) and whether the value must reach it
    (``at_least``) or stay within it (``at_most``, when the target says so in words from the data)."""
    text = str(target or "")
    cleaned = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)  # 1,000 -> 1000
    m = _NUMBER.search(cleaned)
    number = float(m.group()) if m else None
    if direction in DIRECTIONS:
        return number, direction
    low = text.casefold()
    words = load_templates().monitoring.at_most_words
    return number, ("at_most" if any(w.casefold() in low for w in words) else "at_least")


# --------------------------------------------------------------------------- checking a whole plan


def validate_plan(plan: Any) -> dict[str, Any]:
    """Check the shape of a (possibly edited) plan before it is stored; returns a JSON-clean copy.

    Only the shape is enforced (a mapping with a title and a list of sections; measures as a list of
    mappings of text): incomplete measures are allowed (see :func:`check_measures`), so nothing the
    user wrote is lost. Raises :class:`PlanError` naming each problem.
    """
    if not isinstance(plan, Mapping):
        raise PlanError(f"a plan must be a mapping, not {type(plan).__name__}")
    problems: list[str] = []
    try:
        raw = json.dumps(plan, ensure_ascii=False, default=_json_default, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise PlanError(f"the plan holds something that is not plain data ({exc})") from None
    if len(raw.encode("utf-8")) > MAX_PLAN_BYTES:
        raise PlanError(f"the plan is larger than {MAX_PLAN_BYTES} bytes")
    clean = json.loads(raw)
    iv = clean.get("intervention")
    if iv is not None and iv not in INTERVENTION_IDS:
        problems.append(f"intervention: unknown intervention '{_short(str(iv))}'")
    if not isinstance(clean.get("title", ""), str):
        problems.append("title: must be text")
    sections = clean.get("sections", [])
    if not isinstance(sections, list):
        problems.append("sections: must be a list")
        sections = []
    for i, s in enumerate(sections):
        if not isinstance(s, dict):
            problems.append(f"sections[{i}]: must be a mapping")
            continue
        for key in ("fields", "checklist", "items"):
            if key in s and not isinstance(s[key], list):
                problems.append(f"sections[{i}].{key}: must be a list")
        for j, f in enumerate(s.get("fields") or []):
            if not isinstance(f, dict) or not isinstance(f.get("value", ""), str):
                problems.append(f"sections[{i}].fields[{j}]: value must be text")
            elif len(f.get("value", "")) > MAX_TEXT:
                problems.append(f"sections[{i}].fields[{j}]: longer than {MAX_TEXT} characters")
        for j, it in enumerate(s.get("checklist") or []):
            if not isinstance(it, dict) or not isinstance(it.get("done", False), bool):
                problems.append(f"sections[{i}].checklist[{j}]: 'done' must be true or false")
        for j, it in enumerate(s.get("items") or []):
            if not isinstance(it, dict) or not all(
                isinstance(it.get(k, ""), str) for k in ("action", "owner", "due")
            ):
                problems.append(f"sections[{i}].items[{j}]: action, owner and due must be text")
    measures = clean.get("measures")
    if measures is not None:
        if not isinstance(measures, list):
            problems.append("measures: must be a list")
        else:
            for i, m in enumerate(measures, 1):
                if not isinstance(m, dict):
                    problems.append(f"measure {i}: must be a mapping with measure, target and date")
                    continue
                for k in (*MEASURE_KEYS, "direction", "baseline"):
                    v = m.get(k)
                    if v is not None and not isinstance(v, (str, int, float)):
                        problems.append(f"measure {i}: {k} must be text")
                    elif v is not None and len(str(v)) > MAX_TEXT:
                        problems.append(f"measure {i}: {k} is longer than {MAX_TEXT} characters")
                for k in MEASURE_KEYS:
                    m[k] = "" if m.get(k) is None else str(m[k])
    if problems:
        raise PlanError(problems)
    return clean


def _json_default(obj: Any) -> Any:
    if isinstance(obj, (dt.date, dt.datetime)):
        return obj.isoformat()
    raise TypeError(f"{type(obj).__name__} is not plain data")


# --------------------------------------------------------------------------- monitoring


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    date: dt.date
    kind: Literal["measure", "session", "follow_up"] = "measure"
    measure: str = Field(default="", max_length=MAX_TEXT)
    value: float | None = None
    note: str = Field(default="", max_length=MAX_TEXT)
    events: list[int] = []


def normalise_entry(entry: Any) -> dict[str, Any]:
    """Check one monitoring entry and return it in a canonical form.

    A ``measure`` entry: ``date``, ``measure`` (the measure it records), ``value`` (a number),
    optional ``note``. A ``session`` entry: ``date``, ``events`` (the events of instruction done in
    the session, numbers 1-8, or eight true/false ticks), optional ``note``. Raises :class:`PlanError`.
    """
    if not isinstance(entry, Mapping):
        raise PlanError(f"a monitoring entry must be a mapping, not {type(entry).__name__}")
    data = dict(entry)
    data.pop("id", None)
    data.pop("created_at", None)
    problems: list[str] = []
    value = data.get("value")
    if isinstance(value, bool):
        problems.append("value: must be a number, not true/false")
    elif isinstance(value, str):
        text = value.strip().rstrip("%").strip().replace(",", ".") if value.strip() else ""
        if not text:
            data["value"] = None
        else:
            try:
                data["value"] = float(text)
            except ValueError:
                problems.append(f"value: '{_short(value)}' is not a number")
    if isinstance(data.get("value"), float) and not math.isfinite(data["value"]):
        problems.append("value: must be a finite number")
    events = data.get("events")
    if isinstance(events, list) and events and all(isinstance(e, bool) for e in events):
        if len(events) != N_EVENTS:
            problems.append(f"events: {len(events)} ticks given, expected {N_EVENTS}")
        data["events"] = [i for i, ticked in enumerate(events, 1) if ticked]
    if isinstance(data.get("date"), str):
        data["date"] = data["date"].strip()[:10]
    if data.get("measure") is None:
        data["measure"] = ""
    if data.get("note") is None:
        data["note"] = ""
    if problems:
        raise PlanError(problems)
    try:
        e = _Entry.model_validate(data)
    except ValidationError as exc:
        raise PlanError(
            [f"{'.'.join(str(x) for x in err['loc']) or 'entry'}: {err['msg']}" for err in exc.errors()]
        ) from None
    if e.kind == "measure":
        if not e.measure.strip():
            problems.append("measure: say which measure this value is for")
        if e.value is None:
            problems.append("value: a number is needed for a measure entry")
    elif e.kind == "follow_up":
        if not e.note.strip():
            problems.append("note: say what happened")
    else:
        bad = [x for x in e.events if not 1 <= x <= N_EVENTS]
        if bad:
            problems.append(f"events: {bad} are not event numbers 1-{N_EVENTS}")
    if problems:
        raise PlanError(problems)
    return {
        "date": e.date.isoformat(),
        "kind": e.kind,
        "measure": e.measure.strip() if e.kind == "measure" else "",
        "value": e.value if e.kind == "measure" else None,
        "note": e.note,
        "events": sorted(set(e.events)) if e.kind == "session" else [],
    }


def follow_up_for(plan: Mapping[str, Any] | None) -> dict[str, str] | None:
    """The follow-up entry that fits a plan's intervention ({label, prompt}), from the plan or, for a
    plan saved before it had one, from its template; None for coaching (sessions) and gates."""
    if not isinstance(plan, Mapping):
        return None
    if isinstance(plan.get("follow_up"), Mapping):
        return {k: str(plan["follow_up"].get(k) or "") for k in ("label", "prompt")}
    tpl = load_templates().plans.get(plan.get("intervention") or "")
    return tpl.follow_up.model_dump() if tpl and tpl.follow_up else None


def event_titles(rb: RuleBase | None = None) -> list[str]:
    """The titles of the eight events of instruction, from the knowledge data."""
    rb = rb or load_rulebase()
    return [s.title for s in rb.knowledge.processes["events_of_instruction"].steps]


def progress(
    plan: Mapping[str, Any] | None, entries: list[Mapping[str, Any]], today: dt.date | None = None
) -> dict[str, Any]:
    """Progress against each measure of success, and what the coaching sessions covered.

    For each measure of the plan: the recorded values over time, the latest value, whether the target
    is met (``None`` when the target has no number or nothing is recorded), whether the review date
    has passed, a ``state`` (met | review_passed | on_track | no_values | no_number) and the feedback
    message for that state from ``knowledge/plans.yaml`` (recognise achievement, or further coaching).
    Entries for measures not in the plan are listed under ``unmatched``.
    """
    today = today or dt.date.today()
    texts = load_templates().monitoring
    titles = event_titles()
    clean = []
    for e in entries:
        try:
            clean.append(normalise_entry(e))
        except PlanError:
            continue  # stored entries were validated when saved; skip anything malformed
    clean.sort(key=lambda e: e["date"])
    measures = [m for m in (plan or {}).get("measures") or [] if isinstance(m, Mapping)]
    out_measures = []
    matched: set[int] = set()
    for m in measures:
        name = str(m.get("measure") or "").strip()
        if not name:
            continue
        number, direction = parse_target(m.get("target"), m.get("direction"))
        values = []
        for idx, e in enumerate(clean):
            if e["kind"] == "measure" and e["measure"].casefold() == name.casefold():
                matched.add(idx)
                values.append({"date": e["date"], "value": e["value"], "note": e["note"]})
        latest = values[-1]["value"] if values else None
        met: bool | None = None
        if number is not None and latest is not None:
            met = latest >= number if direction == "at_least" else latest <= number
        review = _as_date(m.get("date"))
        passed = review is not None and today > review
        if met:
            state = "met"
        elif not values:
            state = "review_passed" if passed else "no_values"
        elif number is None:
            state = "no_number"
        elif passed:
            state = "review_passed"
        else:
            state = "on_track"
        out_measures.append(
            {
                "measure": name,
                "target": str(m.get("target") or ""),
                "target_value": number,
                "direction": direction,
                "date": review.isoformat() if review else str(m.get("date") or ""),
                "values": values,
                "latest": latest,
                "met": met,
                "review_passed": passed,
                "state": state,
                "message": getattr(texts, state).strip(),
            }
        )
    unmatched = [
        {"date": e["date"], "measure": e["measure"], "value": e["value"], "note": e["note"]}
        for idx, e in enumerate(clean)
        if e["kind"] == "measure" and idx not in matched
    ]
    sessions = []
    for e in clean:
        if e["kind"] != "session":
            continue
        done = [titles[i - 1] for i in e["events"]]
        missing = [t for i, t in enumerate(titles, 1) if i not in e["events"]]
        sessions.append(
            {
                "date": e["date"],
                "events": e["events"],
                "done": done,
                "missing": missing,
                "complete": not missing,
                "note": e["note"],
                "message": "" if not missing else texts.session_incomplete.strip(),
            }
        )
    return {
        "today": today.isoformat(),
        "measures": out_measures,
        "unmatched": unmatched,
        "sessions": sessions,
        "follow_ups": [{"date": e["date"], "note": e["note"]} for e in clean if e["kind"] == "follow_up"],
    }
