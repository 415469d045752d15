"""Load and validate the knowledge base.

``load_knowledge()`` reads every YAML file under ``knowledge/`` once, validates each against its
model in :mod:`knowledge.schema`, checks the cross-references (source keys, question ids in the
worked cases) and returns a frozen :class:`Knowledge`. Any problem raises :class:`KnowledgeError`
with the file, the entry and the field in its message.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from .schema import (
    INTERVENTION_IDS,
    Intervention,
    InterventionsFile,
    LearnFile,
    ProcessesFile,
    ProcessModel,
    Question,
    QuestionOrder,
    QuestionsFile,
    Section,
    Source,
    Stage,
    WorkedCase,
)

HERE = Path(__file__).resolve().parent
MAX_FILE_BYTES = 1_000_000

M = TypeVar("M", bound=BaseModel)


class KnowledgeError(ValueError):
    """The knowledge data is malformed; the message names file, entry and field."""


class StrictSafeLoader(yaml.SafeLoader):
    """PyYAML's safe loader with two changes: only true/false are booleans (so ``yes`` and ``no``
    stay the strings the answers use), and aliases are refused (no "billion laughs" expansion)."""

    def compose_node(self, parent, index):  # type: ignore[override]
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.constructor.ConstructorError(
                None, None, "aliases (*name) are not allowed in these files", event.start_mark
            )
        return super().compose_node(parent, index)


StrictSafeLoader.yaml_implicit_resolvers = {
    first: [r for r in resolvers if r[0] != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
StrictSafeLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


_FastBase = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class FastSafeLoader(_FastBase):  # type: ignore[misc, valid-type]
    """The C safe loader (about 5x faster) with the same booleans rule, for the project's own files."""


FastSafeLoader.yaml_implicit_resolvers = StrictSafeLoader.yaml_implicit_resolvers


def parse_yaml(text: str) -> Any:
    """Parse YAML text with :class:`StrictSafeLoader`; raises ``yaml.YAMLError``."""
    return yaml.load(text, Loader=StrictSafeLoader)  # noqa: S506 - a SafeLoader subclass


def read_yaml(path: Path, max_bytes: int = MAX_FILE_BYTES) -> Any:
    """Read one of the project's own YAML files (fast safe loader), refusing files over ``max_bytes``."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise KnowledgeError(f"{path.name}: cannot read ({exc.strerror})") from None
    if size > max_bytes:
        raise KnowledgeError(f"{path.name}: file is {size} bytes, over the limit of {max_bytes}")
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=FastSafeLoader)  # noqa: S506
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise KnowledgeError(f"{path.name}: not valid YAML ({exc})") from None


def _entry_name(data: Any, loc: tuple) -> str:
    """Describe where in the file a validation error sits, e.g. ``questions[3] (id=aim)``."""
    parts: list[str] = []
    node = data
    for key in loc:
        if isinstance(key, int):
            label = f"[{key}]"
            try:
                node = node[key]
                if isinstance(node, dict) and "id" in node:
                    label += f" (id={node['id']})"
                elif isinstance(node, dict) and "key" in node:
                    label += f" (key={node['key']})"
            except (IndexError, KeyError, TypeError):
                node = None
            parts.append(label)
        else:
            parts.append(f".{key}" if parts else str(key))
            try:
                node = node[key]
            except (KeyError, TypeError, IndexError):
                node = None
    return "".join(parts) or "(top level)"


def validate(model: type[M], data: Any, where: str) -> M:
    """Validate ``data`` against ``model``; raise KnowledgeError naming file, entry and field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            lines.append(f"{where}: {_entry_name(data, err['loc'])}: {err['msg']}")
        raise KnowledgeError("\n".join(lines)) from None


@dataclass(frozen=True)
class Knowledge:
    interventions: dict[str, Intervention]
    coaching_vs_mentoring: list
    related_services: list
    stages: list[Stage]
    questions: list[Question]
    sources: dict[str, Source]
    processes: dict[str, ProcessModel]
    sections: dict[str, Section]
    cases: list[WorkedCase]
    question_index: dict[str, Question] = field(default_factory=dict)
    question_order: QuestionOrder | None = None

    def question(self, qid: str) -> Question:
        return self.question_index[qid]

    def cite(self, key: str) -> str:
        src = self.sources.get(key)
        return src.short if src else key


def _load_cases(folder: Path, questions: dict[str, Question]) -> list[WorkedCase]:
    cases: list[WorkedCase] = []
    seen: dict[str, str] = {}
    for path in sorted(folder.glob("*.yaml")):
        data = read_yaml(path)
        case = validate(WorkedCase, data, f"cases/{path.name}")
        if case.id in seen:
            raise KnowledgeError(f"cases/{path.name}: id '{case.id}' already used by {seen[case.id]}")
        seen[case.id] = path.name
        for qid, value in case.answers.items():
            if qid not in questions:
                raise KnowledgeError(f"cases/{path.name}: answers.{qid}: unknown question id")
            if value not in questions[qid].option_values():
                raise KnowledgeError(
                    f"cases/{path.name}: answers.{qid}: '{value}' is not one of "
                    f"{questions[qid].option_values()}"
                )
        for iid in [case.expected.primary, *case.expected.secondary, *case.expected.ruled_out]:
            if iid is not None and iid not in INTERVENTION_IDS:
                raise KnowledgeError(f"cases/{path.name}: expected: unknown intervention '{iid}'")
        cases.append(case)
    return cases


def load_from(folder: Path) -> Knowledge:
    """Load the knowledge base from ``folder`` (the package folder by default)."""
    src_data = read_yaml(folder / "sources.yaml")
    sources_list = validate(_SourcesFile, src_data, "sources.yaml").sources
    sources = {s.key: s for s in sources_list}
    if len(sources) != len(sources_list):
        raise KnowledgeError("sources.yaml: a source key is used twice")

    ivf = validate(InterventionsFile, read_yaml(folder / "interventions.yaml"), "interventions.yaml")
    qf = validate(QuestionsFile, read_yaml(folder / "questions.yaml"), "questions.yaml")
    pf = validate(ProcessesFile, read_yaml(folder / "processes.yaml"), "processes.yaml")
    lf = validate(LearnFile, read_yaml(folder / "learn.yaml"), "learn.yaml")

    question_index = {q.id: q for q in qf.questions}
    if len(question_index) != len(qf.questions):
        raise KnowledgeError("questions.yaml: a question id is used twice")
    stage_ids = {s.id for s in qf.stages}
    for i, q in enumerate(qf.questions):
        if q.stage not in stage_ids:
            raise KnowledgeError(f"questions.yaml: questions[{i}] (id={q.id}).stage: unknown stage '{q.stage}'")
    for s in qf.order.most_telling_first if qf.order else ():
        if s not in stage_ids:
            raise KnowledgeError(f"questions.yaml: order.most_telling_first: unknown stage '{s}'")

    def check_sources(where: str, keys: list[str]) -> None:
        for k in keys:
            if k not in sources:
                raise KnowledgeError(f"{where}: sources: unknown source key '{k}'")

    for i, iv in enumerate(ivf.interventions):
        check_sources(f"interventions.yaml: interventions[{i}] (id={iv.id})", iv.sources)
        check_sources(f"interventions.yaml: interventions[{i}] (id={iv.id}).option", iv.option.sources)
    for i, rs in enumerate(ivf.related_services):
        check_sources(f"interventions.yaml: related_services[{i}]", rs.sources)
    for i, q in enumerate(qf.questions):
        check_sources(f"questions.yaml: questions[{i}] (id={q.id})", q.sources)
    for i, p in enumerate(pf.processes):
        check_sources(f"processes.yaml: processes[{i}] (id={p.id})", p.sources)
    for i, s in enumerate(lf.sections):
        check_sources(f"learn.yaml: sections[{i}] (id={s.id})", s.sources)

    cases = _load_cases(folder / "cases", question_index)
    return Knowledge(
        interventions={iv.id: iv for iv in ivf.interventions},
        coaching_vs_mentoring=list(ivf.coaching_vs_mentoring),
        related_services=list(ivf.related_services),
        stages=list(qf.stages),
        questions=list(qf.questions),
        sources=sources,
        processes={p.id: p for p in pf.processes},
        sections={s.id: s for s in lf.sections},
        cases=cases,
        question_index=question_index,
        question_order=qf.order,
    )


class _SourcesFile(BaseModel):
    sources: list[Source]


@functools.lru_cache(maxsize=1)
def load_knowledge() -> Knowledge:
    """The shipped knowledge base, loaded and validated once per process."""
    return load_from(HERE)
