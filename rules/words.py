"""The wording of results, in one place: the model of ``results.yaml`` (roles, first steps, verdicts,
confidence words, summary templates), and conditions in plain words.

Text a person reads lives in ``results.yaml`` beside this module; this module loads and validates it,
and phrases the conditions of rules and requirements for the explanations and the "why not" lines.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from knowledge.loader import read_yaml, validate
from knowledge.schema import INTERVENTION_IDS, Condition

from .model import RESULTS_FILE, RuleBase, RuleBaseError

HERE = Path(__file__).resolve().parent
VERDICTS = ("excluded", "cannot_lead", "less_support", "no_support")
Verdict = Literal["excluded", "cannot_lead", "less_support", "no_support"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RoleRow(_Strict):
    """The role of a secondary beside a primary: the first row whose pair matches and whose condition
    (over answers and findings, as in the rules) holds."""

    primary: str
    secondary: str
    when: Condition = Condition()
    role: str


class ConfidenceWords(_Strict):
    words: dict[Literal["high", "moderate", "low"], str]
    meaning: str
    capped_could_change: str  # why a confidence is held below the band of its number
    capped_one_support: str


class SummaryWords(_Strict):
    held_back: str
    headline_primary: str
    headline_secondary: str
    headline_gate: str
    headline_lean: str
    headline_safety: str
    headline_needs_answer: str
    next_question: str
    close_call: str
    decides: str
    decides_none: str
    check: str
    # an unknown answer's other option that would open further questions: {n} of them, {questions} their
    # texts, {result} where they lead while they stay unknown
    alternative_opens: str
    alternative_opens_many: str
    why_not_lean: str
    check_first_needs: str
    why_not_would_come_in: str
    alternative_opens_listed: int = 2
    # a rival that could also lead and so lowers the confidence: {rival}, {rival_cf}, {weight}
    rival_lowers: str
    # a "check first" outcome with a lean, in words: {label} the gate's label, {name} the intervention
    alternative_lean: str
    gate_step_sentence: dict[str, int] = {}


class FirstStep(_Strict):
    """The first step of a recommendation: the first row for the primary whose condition holds.
    ``{barriers}`` in the text is replaced by what was found in the work."""

    intervention: str
    when: Condition = Condition()
    text: str


class GroupScope(_Strict):
    """How a text about one person is worded once several people share the gap (see :func:`scoped`)."""

    subject: str
    possessive: str
    demonstrative: str
    verbs: dict[str, str]


class ResultWords(_Strict):
    roles: list[RoleRow]
    first_steps: list[FirstStep]
    verdicts: dict[Verdict, str]
    fit: dict[Literal["primary", "secondary", "lean"], str]
    confidence: ConfidenceWords
    summary: SummaryWords
    group_scope: GroupScope


@functools.cache
def result_words(path: Path = HERE / RESULTS_FILE) -> ResultWords:
    """The wording of results, validated: every intervention named in a role row exists, every
    verdict has its label, and the last role row matches any pair."""
    words = validate(ResultWords, read_yaml(path), path.name)
    for i, row in enumerate(words.roles):
        for iv in (row.primary, row.secondary):
            if iv != "any" and iv not in INTERVENTION_IDS:
                raise RuleBaseError(f"{path.name}: roles[{i}]: unknown intervention '{iv}'")
    if set(words.verdicts) != set(VERDICTS):
        raise RuleBaseError(f"{path.name}: verdicts: need a label for each of {', '.join(VERDICTS)}")
    if not words.roles or (words.roles[-1].primary, words.roles[-1].secondary) != ("any", "any"):
        raise RuleBaseError(f"{path.name}: roles: the last row must be {{primary: any, secondary: any}}")
    for iv in INTERVENTION_IDS:  # every intervention ends in a row that always holds
        rows = [r for r in words.first_steps if r.intervention == iv]
        if not rows or not rows[-1].when.is_empty():
            raise RuleBaseError(f"{path.name}: first_steps: '{iv}' needs a last row without a condition")
    for i, r in enumerate(words.first_steps):
        if r.intervention not in INTERVENTION_IDS:
            raise RuleBaseError(f"{path.name}: first_steps[{i}]: unknown intervention '{r.intervention}'")
    return words


def condition_parts(rb: RuleBase, cond: Condition) -> list[str]:
    """Each part of a condition in plain words."""
    kb = rb.knowledge
    parts = []
    for qid, allowed in cond.answers.items():
        q = kb.question(qid)
        labels = " or ".join(f'"{q.label_of(v)}"' for v in allowed)
        parts.append(f'"{q.text}" is answered {labels}')
    parts += [f"this is found: {rb.findings[f].label}" for f in cond.findings]
    parts += [f"this is not found: {rb.findings[f].label}" for f in cond.absent]
    if cond.any_finding_kinds:
        parts.append("a cause of kind " + " or ".join(cond.any_finding_kinds) + " was found")
    if cond.no_finding_kinds:
        parts.append("no cause of kind " + " or ".join(cond.no_finding_kinds) + " was found")
    return parts


def failed_parts(
    rb: RuleBase, cond: Condition, answers: Mapping[str, str], findings: set[str]
) -> list[str]:
    """The parts of ``cond`` that do not hold, each phrased as what would have to be true."""
    kb = rb.knowledge
    kinds = {rb.finding_kind[f] for f in findings}
    out = []
    for qid, allowed in cond.answers.items():
        if answers.get(qid) not in allowed:
            q = kb.question(qid)
            want = " or ".join(f'"{q.label_of(v)}"' for v in allowed)
            got = f'"{q.label_of(answers[qid])}"' if qid in answers else "not asked"
            out.append(f'"{q.text}" were answered {want} (it was {got})')
    out += [f"this were found: {rb.findings[f].label}" for f in cond.findings if f not in findings]
    out += [f"this were not found: {rb.findings[f].label}" for f in cond.absent if f in findings]
    if cond.any_finding_kinds and not any(k in kinds for k in cond.any_finding_kinds):
        out.append("a cause of kind " + " or ".join(cond.any_finding_kinds) + " were found")
    if cond.no_finding_kinds and any(k in kinds for k in cond.no_finding_kinds):
        out.append("no cause of kind " + " or ".join(cond.no_finding_kinds) + " were found")
    return out


_PERSON = re.compile(r"\b([Tt])(?:he person|his person)('s\b|\b)(?:(\s+)([a-z]+)\b)?")


def _cap(text: str, upper: bool) -> str:
    return text[:1].upper() + text[1:] if upper else text


def group_wording(text: str) -> str:
    """``text`` about one person worded for a group: "The person's own goal" -> "Their own goal",
    "the person needs support" -> "the people involved need support" (the words in ``results.yaml``)."""
    g = result_words().group_scope

    def one(m: re.Match) -> str:
        upper, possessive, space, word = m.group(1) == "T", m.group(2), m.group(3) or "", m.group(4) or ""
        this = m.group(0)[1:].startswith("his")
        if possessive:
            return _cap(g.possessive, upper) + space + word
        subject = _cap(g.demonstrative if this else g.subject, upper)
        return subject + space + g.verbs.get(word, word)

    return _PERSON.sub(one, text)


def scoped(obj, several: bool):
    """Every string in ``obj`` (a string, or dicts and lists of them) in the group wording when
    ``several``; ``obj`` unchanged otherwise. Ids are never touched (they have no spaces)."""
    if not several:
        return obj
    if isinstance(obj, str):
        return group_wording(obj) if " " in obj else obj
    if isinstance(obj, Mapping):
        return {k: scoped(v, several) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(scoped(v, several) for v in obj)
    return obj
