"""Typed shape of the knowledge base (pydantic models).

Every YAML file under ``knowledge/`` is validated against one of these models by
:mod:`knowledge.loader`; a wrong field is reported with the file, the entry and the field.
"""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator

InterventionId = Literal[
    "coaching", "mentoring", "training", "counselling_referral", "consultancy", "work_system"
]
INTERVENTION_IDS: tuple[str, ...] = get_args(InterventionId)
DONT_KNOW = "dont_know"
ID_PATTERN = r"^[a-z][a-z0-9_]*$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- sources ----------------------------------------------------------------------------------


class Source(Strict):
    key: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    short: str = Field(min_length=3, description="author, year — as cited inline")
    full: str = Field(min_length=10, description="the full reference")
    note: str = ""


# --- interventions ----------------------------------------------------------------------------


class OptionFacts(Strict):
    """How an intervention compares as an option (the report's options table): typical ranges from
    the sources, not figures for a particular organisation."""

    delivered_by: str
    time_to_effect: str
    effort: str
    cost: str
    sources: list[str] = Field(min_length=1)


class Intervention(Strict):
    id: InterventionId
    name: str
    summary: str
    when_to_use: list[str] = Field(min_length=1)
    when_not: list[str] = Field(min_length=1)
    who_leads: str
    time_horizon: str
    first_steps: list[str] = Field(min_length=1)
    sources: list[str] = Field(min_length=1)
    option: OptionFacts


class ComparisonRow(Strict):
    dimension: str
    mentoring: str
    coaching: str


class RelatedService(Strict):
    service: str
    points: list[str] = Field(min_length=1)
    sources: list[str] = []


class InterventionsFile(Strict):
    interventions: list[Intervention]
    coaching_vs_mentoring: list[ComparisonRow] = Field(min_length=6, max_length=6)
    related_services: list[RelatedService] = Field(min_length=3)

    @field_validator("interventions")
    @classmethod
    def _all_six(cls, v: list[Intervention]) -> list[Intervention]:
        ids = [i.id for i in v]
        missing = [i for i in INTERVENTION_IDS if i not in ids]
        if missing or len(ids) != len(set(ids)):
            raise ValueError(f"need each of the six interventions once; missing {missing}, got {ids}")
        return v


# --- questions --------------------------------------------------------------------------------


class Option(Strict):
    value: str = Field(pattern=ID_PATTERN)
    label: str
    cost: float = Field(default=0.0, ge=0, le=0.5, description="confidence lost when this is the answer")


class Condition(Strict):
    """A conjunction: every listed answer constraint and finding must hold.

    ``answers``: question id -> allowed values. ``findings``: findings that must be present.
    ``absent``: findings that must not be present. ``any_finding_kinds``: at least one finding of
    one of these kinds must be present. ``no_finding_kinds``: no finding of these kinds is present.
    """

    answers: dict[str, list[str]] = {}
    findings: list[str] = []
    absent: list[str] = []
    any_finding_kinds: list[str] = []
    no_finding_kinds: list[str] = []

    def is_empty(self) -> bool:
        return not (self.answers or self.findings or self.absent or self.any_finding_kinds or self.no_finding_kinds)


class Check(Strict):
    """What a team leader who does not know an answer should find out, and how."""

    what: str
    how: str


class Question(Strict):
    id: str = Field(pattern=ID_PATTERN)
    stage: str
    text: str
    help: str
    why: str
    group_text: str | None = Field(default=None, description="the wording when the case concerns several people")
    group_help: str | None = None
    check: Check | None = None
    options: list[Option] = Field(min_length=2)
    ask_when: Condition = Condition()
    dont_know_cost: float = Field(default=0.05, ge=0, le=0.5)
    sources: list[str] = []

    @field_validator("options")
    @classmethod
    def _has_dont_know(cls, v: list[Option]) -> list[Option]:
        values = [o.value for o in v]
        if DONT_KNOW not in values:
            raise ValueError(f"options must include '{DONT_KNOW}' (got {values})")
        if len(values) != len(set(values)):
            raise ValueError(f"option values repeat: {values}")
        return v

    def option_values(self) -> list[str]:
        return [o.value for o in self.options]

    def cost_of(self, value: str) -> float:
        """Fraction of confidence lost when ``value`` is the answer ("don't know" or a vague answer)."""
        if value == DONT_KNOW:
            return self.dont_know_cost
        for o in self.options:
            if o.value == value:
                return o.cost
        return 0.0

    def for_group(self) -> Question:
        """This question worded for a case about several people (a team, a group, the organisation)."""
        if not (self.group_text or self.group_help):
            return self
        return self.model_copy(update={"text": self.group_text or self.text, "help": self.group_help or self.help})

    def label_of(self, value: str) -> str:
        for o in self.options:
            if o.value == value:
                return o.label
        return value


class Stage(Strict):
    id: str = Field(pattern=ID_PATTERN)
    title: str
    purpose: str


class QuestionOrder(Strict):
    """Which question is asked next, where several are allowed: the stages that ask their most telling
    question first (the one whose answers split the possible outcomes most), and why."""

    most_telling_first: list[str] = []
    rationale: str


class QuestionsFile(Strict):
    stages: list[Stage]
    order: QuestionOrder | None = None
    questions: list[Question] = Field(min_length=20, max_length=45)


# --- process models and learning material ----------------------------------------------------


class Step(Strict):
    title: str
    text: str


class ProcessModel(Strict):
    id: str = Field(pattern=ID_PATTERN)
    title: str
    summary: str
    steps: list[Step] = Field(min_length=2)
    sources: list[str] = []


class Section(Strict):
    """A block of learning material: a heading, paragraphs and/or bullet points, references."""

    id: str = Field(pattern=ID_PATTERN)
    title: str
    paragraphs: list[str] = []
    points: list[str] = []
    sources: list[str] = []


class LearnFile(Strict):
    sections: list[Section] = Field(min_length=5)


class ProcessesFile(Strict):
    processes: list[ProcessModel] = Field(min_length=3)


# --- worked cases -----------------------------------------------------------------------------


class Expected(Strict):
    primary: str | None
    status: Literal["complete", "cannot_recommend"]
    reason: str | None = None  # with cannot_recommend: the gate (check_first, conduct_matter, ...)
    lean: str | None = None  # with check_first: the intervention the answers point to
    secondary: list[str] = []
    ruled_out: list[str] = []


class WorkedCase(Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str
    narrative: str
    answers: dict[str, str]
    expected: Expected
    tags: list[str] = []
    lesson: str = ""
