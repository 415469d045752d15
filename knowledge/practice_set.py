"""The practice set: unseen cases for a student, kept apart from the worked cases.

``knowledge/practice/cases/*.yaml`` holds one case each: a narrative told the way a team leader would
tell it, the answers that case gives, the expected result, the one fact that decides it and the
distinction from the source text it exercises (a key into ``knowledge/practice/distinctions.yaml``).
:func:`load_practice` validates both files against the models here and checks every cross-reference
(question ids and values, intervention ids, distinction keys, source keys, and that no practice id is
also a worked case's id); a problem raises :class:`knowledge.loader.KnowledgeError` naming file,
entry and field.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field, field_validator

from .loader import HERE, Knowledge, KnowledgeError, load_knowledge, read_yaml, validate
from .schema import INTERVENTION_IDS, Expected, Strict

FOLDER = HERE / "practice"
# What a student can answer besides an intervention: the "cannot recommend yet" reasons.
GATE_ANSWERS = ("check_first", "gap_undefined", "not_worth", "conduct_matter")
ANSWERS = (*INTERVENTION_IDS, *GATE_ANSWERS)


class Distinction(Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    pair: list[str] = Field(min_length=2, max_length=2)
    text: str
    sources: list[str] = Field(min_length=1)

    @field_validator("pair")
    @classmethod
    def _known_answers(cls, v: list[str]) -> list[str]:
        unknown = [a for a in v if a not in ANSWERS]
        if unknown or v[0] == v[1]:
            raise ValueError(f"pair must be two different answers among {list(ANSWERS)}; got {v}")
        return v


class DistinctionsFile(Strict):
    distinctions: list[Distinction] = Field(min_length=1)


class PracticeCase(Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    narrative: str = Field(min_length=40)
    answers: dict[str, str]
    expected: Expected
    deciding_fact: str = Field(min_length=10, description="the one fact in the case that decides it")
    distinction: str = Field(description="key into distinctions.yaml")
    settling_check: str | None = Field(default=None, description="check first: the question whose check settles it")

    @property
    def answer(self) -> str:
        """The right answer: the primary intervention, or the reason no recommendation can be made."""
        return self.expected.primary if self.expected.status == "complete" else str(self.expected.reason)


@dataclass(frozen=True)
class Practice:
    cases: list[PracticeCase]
    distinctions: dict[str, Distinction]

    def case(self, cid: str) -> PracticeCase:
        for c in self.cases:
            if c.id == cid:
                return c
        raise KeyError(cid)


def load_practice_from(folder: Path, kb: Knowledge) -> Practice:
    """Load and check the practice set in ``folder`` against the knowledge base ``kb``."""
    df = validate(DistinctionsFile, read_yaml(folder / "distinctions.yaml"), "practice/distinctions.yaml")
    distinctions = {d.id: d for d in df.distinctions}
    if len(distinctions) != len(df.distinctions):
        raise KnowledgeError("practice/distinctions.yaml: a distinction id is used twice")
    for d in df.distinctions:
        for k in d.sources:
            if k not in kb.sources:
                raise KnowledgeError(f"practice/distinctions.yaml: {d.id}: sources: unknown source key '{k}'")
    worked = {c.id for c in kb.cases}
    cases: list[PracticeCase] = []
    seen: dict[str, str] = {}
    for path in sorted((folder / "cases").glob("*.yaml")):
        where = f"practice/cases/{path.name}"
        case = validate(PracticeCase, read_yaml(path), where)
        if case.id in seen:
            raise KnowledgeError(f"{where}: id '{case.id}' already used by {seen[case.id]}")
        if case.id in worked:
            raise KnowledgeError(f"{where}: id '{case.id}' is a worked case's id; keep the practice set apart")
        seen[case.id] = path.name
        for qid, value in case.answers.items():
            if qid not in kb.question_index:
                raise KnowledgeError(f"{where}: answers.{qid}: unknown question id")
            if value not in kb.question(qid).option_values():
                raise KnowledgeError(f"{where}: answers.{qid}: '{value}' is not one of "
                                     f"{kb.question(qid).option_values()}")
        e = case.expected
        for iid in [e.primary, *e.secondary, *e.ruled_out]:
            if iid is not None and iid not in INTERVENTION_IDS:
                raise KnowledgeError(f"{where}: expected: unknown intervention '{iid}'")
        if e.status == "cannot_recommend" and e.reason not in GATE_ANSWERS:
            raise KnowledgeError(f"{where}: expected.reason: must be one of {list(GATE_ANSWERS)}")
        if case.distinction not in distinctions:
            raise KnowledgeError(f"{where}: distinction: unknown distinction '{case.distinction}'")
        if case.settling_check is not None and case.settling_check not in case.answers:
            raise KnowledgeError(f"{where}: settling_check: '{case.settling_check}' is not answered in this case")
        cases.append(case)
    return Practice(cases=cases, distinctions=distinctions)


@functools.lru_cache(maxsize=1)
def load_practice() -> Practice:
    """The shipped practice set, loaded and checked once per process."""
    return load_practice_from(FOLDER, load_knowledge())
