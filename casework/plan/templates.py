"""The plan templates (``knowledge/plans.yaml``, text is data, not code): their models, checked
against the rule base when read (:func:`load_templates`); the plan's error and size limits."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from knowledge.loader import HERE as KNOWLEDGE_DIR
from knowledge.loader import KnowledgeError, read_yaml, validate
from knowledge.schema import INTERVENTION_IDS, InterventionId
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
