"""``consult(answers) -> Consultation``: the one entry point of the triage.

Pure and deterministic. The answers are replayed in the order the questions are asked: a question
is asked only when its ``ask_when`` condition holds for the answers and findings so far; the first
askable question without an answer is the next question. Answers to questions that were never
reached on this path are ignored (and listed as such). A gate (gap not defined, not worth it) or a
stop finding (a risk of harm) ends the questions. Then the experta engine fires on the accepted
answers and the result is settled (:mod:`rules.settle`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from knowledge.schema import DONT_KNOW, Question

from .engine import Firing, run_engine, trace
from .evaluate import compiled
from .model import RuleBase, load_rulebase
from .settle import Settled, settle

MAX_VALUE_LENGTH = 100


class AnswerError(ValueError):
    """The answers are malformed; ``problems`` lists each one in plain words."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))


def normalise_answers(answers: Any, rb: RuleBase | None = None) -> dict[str, str]:
    """Check and tidy an answers mapping: known question ids, values among the options.

    ``yes``/``no`` written as YAML or JSON booleans are accepted; values are trimmed and lower-cased.
    Raises :class:`AnswerError` naming every problem found.
    """
    rb = rb or load_rulebase()
    if not isinstance(answers, Mapping):
        raise AnswerError([f"answers must be a mapping of question id to answer, not {type(answers).__name__}"])
    clean: dict[str, str] = {}
    problems: list[str] = []
    for key, value in answers.items():
        if not isinstance(key, str) or key not in rb.knowledge.question_index:
            shown = repr(key)[:60]
            problems.append(f"unknown question id {shown}")
            continue
        q = rb.knowledge.question(key)
        if isinstance(value, bool):
            value = "yes" if value else "no"
        if value is None:
            continue  # an unanswered question
        if not isinstance(value, str):
            problems.append(f"{key}: answer must be text, not {type(value).__name__}")
            continue
        v = value.strip().lower().replace("'", "").replace(" ", "_").replace("-", "_")
        if v in ("don_t_know", "dontknow", "unknown"):
            v = DONT_KNOW
        if v not in q.option_values():
            shown = value if len(value) <= MAX_VALUE_LENGTH else value[:MAX_VALUE_LENGTH] + "…"
            problems.append(f"{key}: {shown!r} is not one of {', '.join(q.option_values())}")
            continue
        clean[key] = v
    if problems:
        raise AnswerError(problems)
    return clean


@dataclass(frozen=True)
class Walk:
    """The adaptive path through the questions for a set of answers."""

    accepted: dict[str, str]
    path: list[str]
    next_question: Question | None
    stopped_by: str | None  # gate or stop finding that ended the questions early


def walk(rb: RuleBase, answers: Mapping[str, str]) -> Walk:
    """Replay ``answers`` along the adaptive path (plain-Python firing, see rules.evaluate)."""
    w = compiled(rb).walk(answers)
    nq = rb.knowledge.question(w.next_question) if w.next_question else None
    return Walk(w.accepted, w.path, nq, w.stopped_by)


@dataclass
class Consultation:
    """The outcome of one consultation: the next question, or a result with its trace."""

    status: str  # complete | needs_answer | cannot_recommend
    answers: dict[str, str]  # the accepted answers, in the order asked
    ignored: dict[str, str]  # answers given to questions not on this path
    next_question: Question | None
    fired: list[str]
    trace: list[Firing]
    findings: list[str]
    settled: Settled
    rulebase_version: str
    stopped_by: str | None = None
    explanation: Any = field(default=None, repr=False)

    @property
    def primary(self) -> str | None:
        return self.settled.primary if self.status == "complete" else None

    @property
    def confidence(self) -> float | None:
        return self.settled.confidence if self.status == "complete" else None

    @property
    def secondary(self) -> list[str]:
        return list(self.settled.secondary) if self.status == "complete" else []

    @property
    def gate(self) -> str | None:
        return self.settled.gate if self.status == "cannot_recommend" else None

    @property
    def provisional(self) -> str | None:
        """While questions remain: the intervention the answers so far point to, if any."""
        return self.settled.primary if self.status == "needs_answer" else None

    def ruled_out(self, rb: RuleBase | None = None) -> list[dict[str, str]]:
        """Interventions that are out: excluded outright, or barred from leading and not secondary."""
        rb = rb or load_rulebase()
        out: list[dict[str, str]] = []
        seen: set[str] = set()
        keep = {self.primary, *self.secondary}
        for e in self.settled.exclusions:
            if e.intervention in seen or (e.scope == "not_primary" and e.intervention in keep):
                continue
            if e.scope == "not_primary" and any(
                x.scope == "excluded" for x in self.settled.excluded(e.intervention)
            ):
                continue  # report the outright exclusion instead
            seen.add(e.intervention)
            out.append(
                {
                    "intervention": e.intervention,
                    "reason": rb.by_id[e.rule].rationale.strip(),
                    "rule": e.rule,
                    "scope": e.scope,
                }
            )
        return out

    def to_dict(self, rb: RuleBase | None = None) -> dict[str, Any]:
        rb = rb or load_rulebase()
        nq = self.next_question
        gate = rb.gates.get(self.gate) if self.gate else None
        d: dict[str, Any] = {
            "status": self.status,
            "next_question": None
            if nq is None
            else {
                "id": nq.id,
                "text": nq.text,
                "help": nq.help,
                "why": nq.why,
                "options": [{"value": o.value, "label": o.label} for o in nq.options],
            },
            "primary": None
            if self.primary is None
            else {"intervention": self.primary, "confidence": self.confidence},
            "secondary": [{"intervention": iv, "certainty": round(self.settled.scores[iv], 3)} for iv in self.secondary],
            "ruled_out": self.ruled_out(rb),
            "cannot_recommend": None
            if gate is None
            else {"reason": gate.id, "label": gate.label, "advice": gate.advice.strip()},
            "provisional": self.provisional,
            "safety_alert": "risk_of_harm" in self.findings,
            "findings": self.findings,
            "fired_rules": self.fired,
            "answers": self.answers,
            "ignored_answers": self.ignored,
            "rulebase_version": self.rulebase_version,
        }
        if self.explanation is not None:
            d["explanation"] = self.explanation
        return d


def consult(answers: Mapping[str, Any] | None = None, rb: RuleBase | None = None) -> Consultation:
    """Consult the rule base. Raises :class:`AnswerError` on unknown ids or values."""
    rb = rb or load_rulebase()
    clean = normalise_answers({} if answers is None else answers, rb)
    w = walk(rb, clean)
    fired, findings = run_engine(rb, w.accepted)
    settled = settle(rb, fired, w.accepted)
    status = "needs_answer" if w.next_question is not None else settled.status
    return Consultation(
        status=status,
        answers=dict(w.accepted),
        ignored={k: v for k, v in clean.items() if k not in w.accepted},
        next_question=w.next_question,
        fired=fired,
        trace=trace(rb, fired, w.accepted),
        findings=sorted(findings),
        settled=settled,
        rulebase_version=rb.version,
        stopped_by=w.stopped_by,
    )
