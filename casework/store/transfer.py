"""Export and import: a case as JSON-ready data (also an answers file), and an export stored as a new
case, every part checked, nothing the file says about its results or owner believed."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from casework.access import Actor
from casework.answers_io import MAX_HEADER_CHARS
from casework.closing import OUTCOMES
from casework.gap import GapError, field_problems, gap_dict, parse_gap
from casework.plan import PlanError, normalise_entry, validate_plan
from casework.store.cases import CaseMethods
from casework.store.errors import CaseDataError, CaseNotFound
from casework.store.rows import (
    _audit,
    _consult,
    _header,
    _iso,
    _monitoring_row,
    _now,
    _plan_row,
    _scrub,
    _text,
)
from knowledge.schema import INTERVENTION_IDS
from rules.consult import AnswerError, normalise_answers
from rules.model import load_rulebase

EXPORT_FORMAT = "intervention-triage-case"
EXPORT_VERSION = 1


class _ExportConsultation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    created_at: dt.datetime | None = None
    answers: dict[str, str] = {}
    result: dict[str, Any]
    rulebase_version: str = Field(default="", max_length=64)


class _Export(BaseModel):
    model_config = ConfigDict(extra="forbid")
    format: str
    format_version: int
    id: int | None = None
    exported_at: str | None = None
    title: str = Field(default="", max_length=MAX_HEADER_CHARS)
    who: str = Field(default="", max_length=MAX_HEADER_CHARS)
    notes: str = Field(default="", max_length=MAX_HEADER_CHARS)
    status: str = "open"
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    owner: str | None = Field(default=None, max_length=320)
    org_unit: str | None = Field(default=None, max_length=100)
    gap: dict[str, Any] | None = None
    outcome: str | None = None
    closed_on: dt.date | None = None
    answers: dict[str, Any]
    consultations: list[_ExportConsultation] = []
    plan: dict[str, Any] | None = None
    monitoring: list[dict[str, Any]] = []


class TransferMethods(CaseMethods):
    """Export and import (part of :class:`casework.store.Store`; an import is saved as a new case)."""

    def export_case(self, case_id: Any, *, actor: Actor | None = None) -> dict[str, Any]:
        """The whole case as JSON-ready data; also an answers file (``answers``, ``title``, ``who``,
        ``notes``). Recorded in the audit log as an export."""
        a = self._who(actor)
        with self._tx(write=True) as s:
            row = self._case(s, case_id, a)
            _audit(s, a, "export", row.id, "json")
            return export_data(self._load(s, row))

    def record_export(self, case_id: Any, fmt: str, *, actor: Actor | None = None) -> None:
        """Record an export made from case data already shown (a report or a download on a page),
        after checking that the actor may see the case."""
        a = self._who(actor)
        if fmt not in ("json", "pdf", "html", "md", "docx"):
            raise CaseDataError(f"unknown export format {_text(fmt)[:20]!r}")
        with self._tx(write=True) as s:
            row = self._case(s, case_id, a)
            _audit(s, a, "export", row.id, fmt)

    def import_case(
        self,
        data: Any,
        *,
        actor: Actor | None = None,
        owner: str | None = None,
        org_unit: str | None = None,
    ) -> int:
        """Store an exported case as a new case (a new id); validated first, every problem named (an
        unknown question, option or intervention id is refused by name).

        Only the case's own words are taken from the file: its title, who, notes, status, answers,
        plan and monitoring entries. The result is consulted again under today's rule base (the
        file's results are never stored or shown); the new case belongs to the actor and their unit
        (an admin may give ``owner`` and ``org_unit``); its times are the import's. An export that
        names an owner the actor may not see is refused as a case that does not exist. The audit
        entry says where it came from: the file's case id and rule-base version, no content."""
        a = self._who(actor)
        try:
            return self._import_case(data, a, owner, org_unit)
        except RecursionError:  # JSON nested deeper than any export: refused, not a crash
            raise CaseDataError("not a case export: the data is nested too deeply") from None

    def _import_case(self, data: Any, a: Actor, owner: str | None, org_unit: str | None) -> int:
        if not isinstance(data, Mapping):
            raise CaseDataError(f"a case export must be a mapping, not {type(data).__name__}")
        if data.get("format") != EXPORT_FORMAT:
            raise CaseDataError(
                f"not a case export: 'format' must be '{EXPORT_FORMAT}' (an answers file can be saved as a new case instead)"
            )
        if data.get("format_version") != EXPORT_VERSION:
            raise CaseDataError(
                f"format_version {data.get('format_version')!r} is not supported (expected {EXPORT_VERSION})"
            )
        try:
            ex = _Export.model_validate(data)
        except ValidationError as exc:
            raise CaseDataError(field_problems(exc, top="case")) from None
        problems: list[str] = []
        try:
            h = _header({"title": ex.title, "who": ex.who, "notes": ex.notes, "status": ex.status})
        except CaseDataError as exc:
            problems += exc.problems
            h = {}
        rb = load_rulebase()
        try:
            answers = normalise_answers(ex.answers, rb)
        except AnswerError as exc:
            problems += ["answers: " + p for p in exc.problems]
            answers = {}
        plan = None
        if ex.plan is not None:
            try:
                plan = _scrub(validate_plan(ex.plan))
            except PlanError as exc:
                problems += ["plan: " + p for p in exc.problems]
        entries = []
        for i, e in enumerate(ex.monitoring):
            try:
                entries.append(_scrub(normalise_entry(e)))
            except PlanError as exc:
                problems += [f"monitoring[{i}]: {p}" for p in exc.problems]
        gap_outcome = _imported_gap_outcome(ex, problems)
        for i, x in enumerate(ex.consultations):
            # the stored results are not used (the case is consulted again), but an id this rule base
            # does not know means the file is not what it says it is
            if x.result.get("status") not in ("complete", "needs_answer", "cannot_recommend"):
                problems.append(f"consultations[{i}].result: no valid 'status'")
            unknown = sorted({iv for iv in _intervention_ids(x.result) if iv not in INTERVENTION_IDS})
            if unknown:
                problems.append(
                    f"consultations[{i}].result: unknown intervention ids {[_text(u)[:40] for u in unknown]}"
                )
        if problems:
            raise CaseDataError(problems)
        if (ex.owner is not None or ex.org_unit is not None) and not a.may_see(ex.owner, ex.org_unit):
            # someone else's case as exported: refused in the same words as a case that does not exist
            # (a courtesy, not a boundary: the importer holds the file's words either way)
            self._record(a, "refused", ex.id)
            raise CaseNotFound(f"no case with id {ex.id}" if ex.id else "no such case")
        # nothing the file says about the case is believed: owner and unit are the importer's (an admin
        # may name them), the times are now, and the result is built again by today's rule base
        own, unit = self._owner_unit(a, owner, org_unit)
        fresh, given = _consult(answers)
        origin = _origin(ex)
        now = _now()
        with self._tx(write=True) as s:
            row = self._add_case(s, h, own, unit, fresh, given, now, **gap_outcome)
            if plan is not None:
                s.add(_plan_row(row.id, plan, now))
            for e in entries:
                s.add(_monitoring_row(row.id, e, now))
            s.flush()
            _audit(s, a, "import", row.id, origin)
            return row.id


def _imported_gap_outcome(ex: _Export, problems: list[str]) -> dict[str, Any]:
    """The gap and outcome of an imported case, checked (problems added to ``problems``)."""
    out: dict[str, Any] = {"gap": None, "outcome": None, "closed_on": ex.closed_on}
    try:
        out["gap"] = _scrub(gap_dict(parse_gap(ex.gap)))
    except GapError as exc:
        problems += exc.problems
    if ex.outcome is not None:
        if ex.outcome in OUTCOMES:
            out["outcome"] = ex.outcome
        else:
            problems.append(f"outcome: '{_text(ex.outcome)[:20]}' is not one of {', '.join(OUTCOMES)}")
    return out


_MAX_DEPTH = 64  # far deeper than any export; deeper data is refused, not walked


def _intervention_ids(obj: Any) -> list[str]:
    """Every value under an ``intervention`` key inside plain JSON data (refused when nested
    deeper than any export is)."""
    out, todo = [], [(obj, 0)]
    while todo:
        item, depth = todo.pop()
        if depth > _MAX_DEPTH:
            raise CaseDataError("not a case export: the data is nested too deeply")
        if isinstance(item, Mapping):
            for k, v in item.items():
                if k == "intervention" and v is not None and not isinstance(v, (Mapping, list)):
                    out.append(str(v))
                else:
                    todo.append((v, depth + 1))
        elif isinstance(item, list):
            todo.extend((v, depth + 1) for v in item)
    return out


_ORIGIN_CHARS = re.compile(r"[^A-Za-z0-9._-]")


def _origin(ex: _Export) -> str:
    """Where an import came from, for its audit entry: the file's case id and the rule-base version
    of its latest consultation (only digits, letters, dots and dashes; never case content)."""
    version = ex.consultations[-1].rulebase_version if ex.consultations else ""
    version = _ORIGIN_CHARS.sub("", version)[:24] or "none"
    return f"from case {ex.id if ex.id is not None else '?'}, rule base {version}"[:80]


def export_data(case: Mapping[str, Any]) -> dict[str, Any]:
    """A case (as :meth:`Store.get_case` gives it) as an export: JSON-ready, also an answers file."""
    return {
        "format": EXPORT_FORMAT,
        "format_version": EXPORT_VERSION,
        "exported_at": _iso(_now()),
        "id": case["id"],
        "title": case["title"],
        "who": case["who"],
        "notes": case["notes"],
        "status": case["status"],
        "created_at": case["created_at"],
        "updated_at": case["updated_at"],
        "owner": case.get("owner"),
        "org_unit": case.get("org_unit"),
        "gap": case.get("gap"),
        "outcome": case.get("outcome"),
        "closed_on": case.get("closed_on"),
        "answers": case["answers"],
        "consultations": [
            {
                "created_at": x["created_at"],
                "answers": x["answers"],
                "result": x["result"],
                "rulebase_version": x["rulebase_version"],
            }
                for x in case["consultations"]
            ],
            "plan": case["plan"],
            "monitoring": [{k: v for k, v in e.items() if k != "id"} for e in case["monitoring"]],
        }
