"""Plain helpers behind the pages: no Streamlit here, so every piece is testable on its own.

- :func:`filter_answers` keeps the valid part of an answers mapping and names each problem;
- :func:`load_answers_upload` reads an uploaded answers file (YAML or JSON);
- :func:`answers_from_query` / :func:`answers_to_query` carry answers in the page address;
- :func:`remaining_estimate` says how many questions are likely still to come on the adaptive path;
- :func:`safety_guidance` collects the emergency guidance from the knowledge data;
- :func:`md_plain` makes user text safe to show in Markdown (shown as typed, never interpreted).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from casework.answers_io import AnswersFile, clean_text, read_answers_bytes
from casework.gap import GapError, gap_dict, parse_gap
from knowledge.loader import Knowledge
from knowledge.schema import DONT_KNOW
from rules.consult import AnswerError, normalise_answers, read_legacy
from rules.evaluate import compiled
from rules.model import RuleBase

# Query parameters Streamlit itself uses; they are not answers and are left alone.
STREAMLIT_QUERY_KEYS = frozenset({"embed", "embed_options"})
MAX_PROBLEMS_SHOWN = 10


def filter_answers(raw: Mapping[str, Any], rb: RuleBase) -> tuple[dict[str, str], list[str]]:
    """The valid answers of ``raw`` (normalised) and a plain-words problem for each invalid one."""
    clean: dict[str, str] = {}
    problems: list[str] = []
    for key, value in raw.items():
        try:
            clean.update(normalise_answers({key: value}, rb))
        except AnswerError as exc:
            problems.extend(exc.problems)
    return clean, problems


@dataclass
class LoadedAnswers:
    """An answers file that could be read: its case header, its valid answers, the answers it skipped."""

    title: str
    who: str
    notes: str
    answers: dict[str, str]
    problems: list[str] = field(default_factory=list)
    gap: dict | None = None


def load_answers_upload(raw: bytes, name: str, rb: RuleBase) -> LoadedAnswers:
    """Read an uploaded answers file.

    Raises :class:`casework.answers_io.AnswersFileError` (a message naming the file and the problem)
    when the file cannot be used at all; answers that are unknown or have a wrong value are left out
    and listed in ``problems``.
    """
    f: AnswersFile = read_answers_bytes(raw, name)
    clean, problems = filter_answers(f.answers, rb)
    try:
        gap = gap_dict(parse_gap(f.extra.get("gap")))
    except GapError as exc:
        gap, problems = None, [*problems, *exc.problems]
    return LoadedAnswers(f.title, f.who, f.notes, clean, problems, gap)


def answers_from_query(params: Mapping[str, Any], rb: RuleBase) -> tuple[dict[str, str], list[str]]:
    """Answers carried in the page address (``?gap_defined=yes&aim=current_gap``)."""
    raw: dict[str, Any] = {}
    for key, value in params.items():
        if key in STREAMLIT_QUERY_KEYS:
            continue
        if isinstance(value, (list, tuple)):
            value = value[-1] if value else None
        raw[key] = value
    return filter_answers(raw, rb)


def answers_to_query(answers: Mapping[str, str]) -> dict[str, str]:
    """The query parameters that reopen these answers."""
    return {k: str(v) for k, v in answers.items()}


def remaining_estimate(rb: RuleBase, answers: Mapping[str, str]) -> int:
    """How many more questions are likely, if every question still to come were answered "don't know".

    This follows the adaptive path (each question's ``ask_when``) with the plain evaluator, so it
    reflects what the answers so far have opened or closed. Real answers can end the questions
    sooner (a stop finding) or open a branch; it is an estimate, shown as such.
    """
    c = compiled(rb)
    answers, _ = read_legacy(answers)
    return len(c.walk(answers, fill=DONT_KNOW).path) - len(c.walk(answers).path)


def path_of(rb: RuleBase, answers: Mapping[str, str]) -> list[str]:
    """The questions answered on the adaptive path, in the order they are asked (answers saved before
    the ``concern`` question are read as consult() reads them)."""
    return list(compiled(rb).walk(read_legacy(answers)[0]).path)


@dataclass(frozen=True)
class SafetyGuidance:
    title: str
    summary: str
    emergency_title: str
    emergency: str
    steps: list[str]
    sources: list[str]


def safety_guidance(kb: Knowledge) -> SafetyGuidance:
    """The guidance shown at once for a risk of harm, taken from the knowledge data: the first step
    of the referral process (emergency first) and the counselling referral's first steps."""
    proc = kb.processes["referral_process"]
    iv = kb.interventions["counselling_referral"]
    first = proc.steps[0]
    return SafetyGuidance(
        title=proc.title,
        summary=proc.summary.strip(),
        emergency_title=first.title,
        emergency=first.text.strip(),
        steps=list(iv.first_steps),
        sources=list(dict.fromkeys([*proc.sources, *iv.sources])),
    )


def cite(kb: Knowledge, keys: list[str]) -> str:
    """Short citations for source keys, e.g. ``Kerr (1975); Mager & Pipe (1997)``."""
    return "; ".join(kb.cite(k) for k in dict.fromkeys(keys))


def bullet_join(items: list[str]) -> str:
    """List items as one Markdown table cell, one per line."""
    return "  \n".join(f"• {s.strip()}" for s in items)


# Markdown (and Streamlit's extensions of it: colours, LaTeX) that user text must not trigger.
_MD_SPECIAL = re.compile(r"[\\`*\[\]<>|~$#_]|&(?=#?\w+;)|:(?=//)|(?<=www)\.|@", re.IGNORECASE)
# Streamlit's Markdown finds web and mail addresses in the text after escapes are read (GFM
# "autolink literals"), so a backslash cannot stop them: an invisible word joiner before the ":" of
# "://", the "." after "www" and an "@" keeps an address from becoming a link.
_NO_AUTOLINK = "\u2060"
_MD_LINE_START = re.compile(r"^(?:[-+=]|\d+(?=[.)]))")


def _md_escape_one(m: re.Match) -> str:
    ch, i, text = m.group(), m.start(), m.string
    if ch == "_" and 0 < i < len(text) - 1 and text[i - 1].isalnum() and text[i + 1].isalnum():
        return ch
    if ch in ":.@":
        return _NO_AUTOLINK + ch
    return "\\" + ch


def md_plain(text: object, one_line: bool = False) -> str:
    """User text (a case title, notes, a file name, a value from a file or a link) for st.markdown,
    labels and messages: shown exactly as typed, never interpreted. Markdown and HTML punctuation is
    backslash-escaped (an underscore inside a word needs none), a line start that would make a list,
    a heading or a rule is escaped, indentation (a code block) is dropped, web and mail addresses are
    not made into links (an invisible word joiner, U+2060, breaks them), control characters are removed, and line breaks stay line breaks (or become spaces
    with ``one_line``)."""
    s = clean_text("" if text is None else str(text)).replace("\r\n", "\n").replace("\r", "\n")
    if one_line:
        s = " ".join(s.split())

    out = []
    for line in s.split("\n"):
        line = line.strip()
        start = _MD_LINE_START.match(line)
        line = _MD_SPECIAL.sub(_md_escape_one, line)
        if start:
            n = len(start.group())
            line = line[:n] + "\\" + line[n:] if start.group()[0].isdigit() else "\\" + line
        out.append(line)
    return "  \n".join(out)
