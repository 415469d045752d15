"""Triage of rows: each row's answers normalised cell by cell, every distinct answer row computed
once (in worker processes when there are many), and the result cells of each row.

The results are exactly those of :func:`rules.consult.consult`: the same answer normaliser, the
same adaptive walk (:mod:`rules.evaluate`), the plain-Python firing that is tested equal to the
experta engine, the same settlement (:mod:`rules.settle`) and the same ``ruled_out`` logic (a
:class:`~rules.consult.Consultation` is built from the settled result)."""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any

from casework.batch.common import _LIST_SEP, CASE_ID, OUTPUT_COLUMNS, Progress, _blank, _one_line
from casework.gap import BATCH_COLUMNS, GapError, from_batch_row, parse_gap
from knowledge.schema import DONT_KNOW
from rules.consult import (
    SEVERAL,
    AnswerError,
    Consultation,
    conclude,
    normalise_answers,
    read_legacy,
    safety_level,
)
from rules.evaluate import compiled
from rules.model import load_rulebase
from rules.settle import settle

POOL_MIN_KEYS = 2_000  # fewer distinct answer rows than this are triaged in-process
CHUNK_KEYS = 500  # distinct answer rows per worker task


@dataclass(frozen=True)
class Outcome:
    status: str
    primary: str | None
    confidence: float | None
    secondary: tuple[str, ...]
    ruled_out: tuple[str, ...]
    reason: str
    safety_alert: bool
    cannot_lead: tuple[str, ...] = ()
    summary: tuple[tuple[str, str], ...] = ()  # the result's plain summary, as batch cells
    missing: tuple[str, ...] = ()  # needs_answer: the questions still open on the row's path

    def cells(self, rb) -> dict[str, str]:
        """The result columns of a row, for people: labels beside ids, confidence as a whole
        percentage, empty cells empty (never "None")."""
        name = rb.knowledge.interventions
        return {
            "status": self.status,
            "primary": self.primary or "",
            "primary_label": name[self.primary].name if self.primary else "",
            "confidence": "" if self.confidence is None else f"{self.confidence:.0%}",
            "secondary": _LIST_SEP.join(self.secondary),
            "ruled_out": _LIST_SEP.join(self.ruled_out),
            "cannot_lead": _LIST_SEP.join(self.cannot_lead),
            **dict(self.summary),
            "reason": self.reason,
            "missing": _LIST_SEP.join(self.missing),
            "safety_alert": "yes" if self.safety_alert else "",
            "errors": "",
        }


def _reason(rb, c, missing: Sequence[str] = ()) -> str:
    """One line: the primary's strongest rule rationale, the gate advice, or the next question."""
    if c.status == "needs_answer":
        q = c.next_question
        more = len(missing) - 1
        also = f"; {more} more open on this row's path (see missing)" if more > 0 else ""
        return f"next question: {q.id} ({_one_line(q.text)}){also}"
    if c.status == "cannot_recommend":
        g = rb.gates[c.gate]
        if c.gate == "check_first":
            lean = f" (leaning to {rb.knowledge.interventions[c.lean].name})" if c.lean else ""
            return _one_line(f"{g.label}{lean}: " + "; ".join(x["what"] for x in c.checks(rb)))
        return _one_line(f"{g.label}. {g.advice}")
    steps = c.settled.evidence.get(c.primary) or []
    if not steps:
        return ""
    best = max(steps, key=lambda s: s.cf)  # first of the strongest
    rule = rb.by_id[best.rule]
    return _one_line(rule.rationale) or rule.id


def _outcome(rb, comp, clean: Mapping[str, str], cache: dict, dont_know: bool = False) -> Outcome:
    """The result for one row of normalised answers, as consult() gives it (the same reading of
    answers saved before ``concern``, the same walk, settlement and safety level). With
    ``dont_know``, every question the row leaves open on its path is answered "don't know"."""
    given, legacy = read_legacy(clean)
    w = comp.walk(given, fill=DONT_KNOW if dont_know else None)
    safety = safety_level(clean)
    key = (frozenset(w.accepted.items()), safety, legacy is not None)
    hit = cache.get(key)
    if hit is not None:
        return hit
    fired, findings = comp.fire(w.accepted)
    nq = rb.knowledge.question(w.next_question) if w.next_question else None
    if nq is not None and SEVERAL in findings:
        nq = nq.for_group()  # worded for a group, as consult() asks it
    overturns: list = []
    if nq is None:
        st, overturns = conclude(rb, w.accepted, fired)
    else:
        st = settle(rb, fired, w.accepted)
    c = Consultation(
        status="needs_answer" if nq is not None else st.status,
        answers=dict(w.accepted),
        ignored={},
        next_question=nq,
        fired=fired,
        trace=[],
        findings=sorted(findings),
        settled=st,
        rulebase_version=rb.version,
        stopped_by=w.stopped_by,
        overturns=overturns,
        legacy=legacy,
        safety=safety,
    )
    d = c.to_dict(rb)
    sm = d["summary"]
    missing = tuple(d["missing"])
    out = Outcome(
        status=c.status,
        primary=c.primary,
        confidence=c.confidence,
        secondary=tuple(c.secondary),
        ruled_out=tuple(r["intervention"] for r in d["ruled_out"]),
        reason=_reason(rb, c, missing),
        missing=missing,
        safety_alert=c.safety_alert,
        cannot_lead=tuple(r["intervention"] for r in d["cannot_lead"]),
        summary=(
            ("confidence_band", (d["primary"] or {}).get("confidence_band") or ""),
            ("headline", _one_line(sm["headline"])),
            ("because", _one_line(" ".join(sm["because"]))),
            ("next_step", _one_line(sm["next_step"])),
            ("close_call", _one_line(sm["decides"]) if sm["close_call"] else ""),
        ),
    )
    cache[key] = out
    return out


def _work_chunk(keys: list[tuple[tuple[str, str], ...]], dont_know: bool = False) -> list[Outcome]:
    """Worker-process task: outcomes for a chunk of distinct answer rows."""
    rb = load_rulebase()
    comp = compiled(rb)
    cache = _WORKER_CACHE.setdefault((rb.version, dont_know), {})  # lives as long as the worker process
    return [_outcome(rb, comp, dict(k), cache, dont_know) for k in keys]


_WORKER_CACHE: dict[tuple[str, bool], dict] = {}


def _normalise_cell(rb, qid: str, raw: Any) -> tuple[str | None, str | None]:
    """(value, None) or (None, problem) for one answer cell, by the consult() normaliser."""
    if not isinstance(raw, (str, bool)):
        raw = str(raw)
    elif isinstance(raw, str) and raw.strip().lower() in ("true", "false"):
        # a spreadsheet's TRUE/FALSE cell saved as CSV text: read it as the boolean it was
        if {"yes", "no"} <= set(rb.knowledge.question(qid).option_values()):
            raw = raw.strip().lower() == "true"
    if isinstance(raw, str):  # the label the app shows is accepted as well as the value
        raw = _labels(rb).get((qid, _label_key(raw)), raw)
    try:
        return normalise_answers({qid: raw}, rb)[qid], None
    except AnswerError as exc:
        problem = "; ".join(exc.problems)
        prefix = f"{qid}: "
        return None, problem[len(prefix):] if problem.startswith(prefix) else problem


def _label_key(text: str) -> str:
    return " ".join(text.replace("\u2019", "'").casefold().split())


_LABELS: dict[str, dict[tuple[str, str], str]] = {}


def _labels(rb) -> dict[tuple[str, str], str]:
    """(question id, label as typed) -> option value, for every question (per rule-base version)."""
    table = _LABELS.get(rb.version)
    if table is None:
        table = _LABELS[rb.version] = {
            (q.id, _label_key(o.label)): o.value for q in rb.knowledge.questions for o in q.options
        }
    return table


class _CallbackFailed(Exception):
    """The progress callback raised (its exception is the cause); not a failure of the pool."""


def _mp_context():
    # fork is fast, but forking a process that runs other threads (a Streamlit server) is unsafe
    if "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def triage_rows(
    rows: Sequence[Mapping[str, Any]], progress: Progress | None = None, workers: int = 1,
    empty_as_dont_know: bool = False,
) -> list[dict[str, Any]]:
    """Triage each row: the row's own columns plus ``status``, ``primary`` (id) and ``primary_label``,
    ``confidence`` (a whole percentage, "93%") and ``confidence_band`` (high / moderate / low),
    ``secondary``, ``ruled_out`` and ``cannot_lead`` (semicolon-joined ids), the plain summary
    (``headline``, ``because``, ``next_step``, ``close_call`` — what would decide a near tie, else
    empty), ``reason``, ``missing`` (for a row that needs more answers: every question still open on
    its path, semicolon-joined, as the path would go if each were answered "don't know"),
    ``safety_alert`` and ``errors``. Cells without a value are empty strings.

    ``empty_as_dont_know``: a question the row leaves blank (or has no column for) is answered
    "don't know" wherever the path reaches it, so every row is finished (complete or cannot
    recommend yet) — what a reader who knows no more than the sheet would answer.

    A row with a problem (a value not among the options, a duplicate case id, a problem found while
    reading it) gets status ``error`` and the problems in ``errors``; the other rows are triaged.
    ``progress(done, total)`` is called as rows are done (counting rows), first with done=0 and last
    with done=total. ``workers`` > 1 uses that many processes when there are many distinct rows
    (forked when the caller runs a single thread; otherwise spawned, which re-imports the caller's
    main module: guard it with ``if __name__ == "__main__"``). Should the pool fail, the rows are
    triaged in this process.
    """
    rb = load_rulebase()
    outcomes, errors = _triage(rows, progress, workers, empty_as_dont_know)
    out_rows: list[dict[str, Any]] = []
    for i, (row, o, problems) in enumerate(zip(rows, outcomes, errors, strict=True)):
        d = dict(row)
        if o is None:
            d.update({c: "" for c in OUTPUT_COLUMNS}, status="error", errors="; ".join(problems))
        else:
            d.update(o.cells(rb))
        gap_problems = _gap_problems(row, getattr(row, "line", 0) or i + 2)
        if gap_problems:  # the result stands (the answers are fine); the gap's problems are named
            d["errors"] = "; ".join(x for x in (d.get("errors"), *gap_problems) if x)
        out_rows.append(d)
    if progress:
        progress(len(rows), len(rows))
    return out_rows


def _gap_problems(row: Mapping[str, Any], line: int) -> list[str]:
    """The problems of a row's gap columns (``gap_measure`` … ``gap_by``; see casework.gap)."""
    if not any(c in BATCH_COLUMNS for c in row):
        return []
    try:
        parse_gap(from_batch_row(row), f"row {line}, gap")
    except GapError as exc:
        return exc.problems
    return []


def _triage(
    rows: Sequence[Mapping[str, Any]], progress: Progress | None, workers: int, dont_know: bool = False
) -> tuple[list[Outcome | None], list[list[str]]]:
    """(the outcome of each row, or None for a row with problems; the problems of each row)."""
    rb = load_rulebase()
    comp = compiled(rb)
    qindex = rb.knowledge.question_index
    total = len(rows)
    if progress:
        progress(0, total)

    memo: dict[tuple, tuple[str | None, str | None]] = {}
    first_line: dict[str, int] = {}
    row_key: list[frozenset | None] = [None] * total
    errors: list[list[str]] = [[] for _ in range(total)]
    by_key: dict[frozenset, int] = {}  # distinct answer rows -> how many rows have them
    for i, row in enumerate(rows):
        line = getattr(row, "line", 0) or i + 2
        problems = errors[i]
        problems.extend(getattr(row, "problems", ()))
        clean: dict[str, str] = {}
        for col, raw in row.items():
            if col in qindex:
                if _blank(raw):
                    continue
                mk = (col, raw.__class__, raw)
                hit = memo.get(mk)
                if hit is None:
                    hit = memo[mk] = _normalise_cell(rb, col, raw)
                value, problem = hit
                if problem:
                    problems.append(f"row {line}, column {col}: {problem}")
                elif value is not None:
                    clean[col] = value
            elif col == CASE_ID and not _blank(raw):
                cid = str(raw).strip()
                if cid in first_line:
                    problems.append(f"row {line}, column {CASE_ID}: duplicate case id '{cid}' (first on row {first_line[cid]})")
                else:
                    first_line[cid] = line
        if not problems:
            key = frozenset(clean.items())
            row_key[i] = key
            by_key[key] = by_key.get(key, 0) + 1

    done = total - sum(by_key.values())  # rows with errors are done already
    results: dict[frozenset, Outcome] = {}
    keys = list(by_key)
    step = max(50, len(keys) // 100)
    pooled = False
    if workers > 1 and len(keys) >= POOL_MIN_KEYS:
        try:
            chunks = [keys[j : j + CHUNK_KEYS] for j in range(0, len(keys), CHUNK_KEYS)]
            with ProcessPoolExecutor(max_workers=workers, mp_context=_mp_context()) as ex:
                futures = {ex.submit(_work_chunk, [tuple(k) for k in ch], dont_know): ch for ch in chunks}
                for fut in as_completed(futures):
                    ch = futures[fut]
                    for k, out in zip(ch, fut.result(), strict=True):
                        results[k] = out
                    done += sum(by_key[k] for k in ch)
                    if progress:
                        try:
                            progress(done, total)
                        except Exception as exc:
                            raise _CallbackFailed from exc
            pooled = True
        except _CallbackFailed as exc:  # the caller's own error: theirs to see
            raise exc.__cause__ from None
        except Exception:  # noqa: BLE001 - a failed pool must not lose the batch: finish in-process
            pooled = False
    if not pooled:
        cache: dict = {}
        for j, k in enumerate(keys, 1):
            if k not in results:
                results[k] = _outcome(rb, comp, dict(k), cache, dont_know)
                done += by_key[k]
            if progress and j % step == 0:
                progress(min(done, total), total)

    return [None if k is None else results[k] for k in row_key], errors
