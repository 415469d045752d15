"""What every part of the store shares: text the databases accept, times, the case header checked,
a consultation of the rule base, rows made from plain data and back, the audit entry, the access
rule as a query condition, and case ids parsed."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from dateutil.relativedelta import relativedelta
from sqlalchemy.orm import Session

from casework.access import Actor
from casework.answers_io import MAX_HEADER_CHARS
from casework.store.errors import CaseDataError, CaseNotFound
from casework.store.tables import (
    CHILD_TABLES,
    AuditRow,
    CaseRow,
    ConsultationRow,
    MonitoringRow,
    PlanRow,
)
from rules.consult import AnswerError, Consultation, consult, normalise_answers
from rules.model import load_rulebase

CASE_STATUSES = ("open", "closed")


_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")


def _text(value: Any) -> str:
    """Text the databases accept: no NUL or other control characters, no lone surrogates."""
    s = "" if value is None else str(value)
    return _BAD_CHARS.sub(lambda m: "" if m.group() < "\ud800" else "\ufffd", s)


def _scrub(obj: Any) -> Any:
    """:func:`_text` applied to every string (keys too) inside plain JSON data."""
    if isinstance(obj, str):
        return _text(obj)
    if isinstance(obj, Mapping):
        return {_text(k): _scrub(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_scrub(v) for v in obj]
    return obj


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _aware(d: dt.datetime) -> dt.datetime:
    return d.replace(tzinfo=dt.timezone.utc) if d.tzinfo is None else d.astimezone(dt.timezone.utc)


def _iso(d: dt.datetime | None) -> str | None:
    return None if d is None else _aware(d).isoformat()


def _header(header: Any, partial: bool = False) -> dict[str, str]:
    if header is None:
        header = {}
    if not isinstance(header, Mapping):
        raise CaseDataError(
            f"the case header must be a mapping with title, who and notes, not {type(header).__name__}"
        )
    problems, out = [], {}
    unknown = [k for k in header if k not in ("title", "who", "notes", "status")]
    if unknown:
        problems.append(f"unknown header fields {unknown} (allowed: title, who, notes, status)")
    for key in ("title", "who", "notes"):
        if partial and key not in header:
            continue
        value = header.get(key)
        if value is not None and not isinstance(value, (str, int, float)):
            problems.append(f"{key}: must be text")
            continue
        text = _text(value).strip() if key != "notes" else _text(value)
        if len(text) > MAX_HEADER_CHARS:
            problems.append(f"{key}: longer than {MAX_HEADER_CHARS} characters")
        out[key] = text
    if not partial or "status" in header:
        status = header.get("status") or "open"
        if status not in CASE_STATUSES:
            problems.append(f"status: '{_text(status)[:40]}' is not one of {', '.join(CASE_STATUSES)}")
        out["status"] = status
    if problems:
        raise CaseDataError(problems)
    return out


def _consult(answers: Any) -> tuple[Consultation, dict[str, str]]:
    """Consult the rule base; returns the consultation and all answers given (accepted first)."""
    rb = load_rulebase()
    try:
        clean = normalise_answers(answers if answers is not None else {}, rb)
        c = consult(clean, rb)
    except AnswerError as exc:
        raise CaseDataError(["bad answers: " + p for p in exc.problems]) from None
    ordered = {**c.answers, **{k: v for k, v in clean.items() if k not in c.answers}}
    return c, ordered


def _plan_row(case_id: int, plan: dict[str, Any], now: dt.datetime) -> PlanRow:
    """A new plan row for a case (a plan is stored whole, with its intervention beside it)."""
    return PlanRow(case_id=case_id, intervention=plan.get("intervention"), plan=plan, created_at=now, updated_at=now)


def _monitoring_row(case_id: int, e: dict[str, Any], now: dt.datetime) -> MonitoringRow:
    """A new monitoring row for a case from an entry already checked by ``normalise_entry``."""
    return MonitoringRow(
        case_id=case_id,
        entry_date=dt.date.fromisoformat(e["date"]),
        kind=e["kind"],
        measure=e["measure"],
        value=e["value"],
        note=e["note"],
        events=e["events"],
        created_at=now,
    )


def _entry_id(entry_id: Any) -> int:
    try:
        return int(entry_id)
    except (TypeError, ValueError):
        raise CaseNotFound(f"'{_text(entry_id)[:40]}' is not a monitoring entry id") from None


def _consultation_row(case_id: int, c: Consultation, answers: Mapping[str, str]) -> ConsultationRow:
    result = _scrub(c.to_dict())
    return ConsultationRow(
        case_id=case_id,
        created_at=_now(),
        answers=dict(answers),
        result=result,
        rulebase_version=c.rulebase_version,
        status=c.status,
        primary_intervention=c.primary,
        confidence=c.confidence,
    )


def _summary(row: CaseRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "title": row.title,
        "who": row.who,
        "status": row.status,
        "result_status": row.result_status,
        "primary": row.primary_intervention,
        "confidence": row.confidence,
        "created_at": _iso(row.created_at),
        "updated_at": _iso(row.updated_at),
        "owner": row.owner,
        "org_unit": row.org_unit,
        "outcome": row.outcome,
        "closed_on": row.closed_on.isoformat() if row.closed_on else None,
    }


def _audit(s: Session, actor: Actor, action: str, case_id: int | None = None, detail: str = "") -> None:
    """Add an audit entry to the transaction (no case content: the detail is from a fixed vocabulary)."""
    s.add(AuditRow(at=_now(), actor=actor.id, role=actor.role, action=action, case_id=case_id, detail=detail))


def _delete_rows(s: Session, ids: list[int]) -> None:
    """Delete cases and everything under them."""
    if not ids:
        return
    for model in CHILD_TABLES:
        s.execute(sa.delete(model).where(model.case_id.in_(ids)))
    s.execute(sa.delete(CaseRow).where(CaseRow.id.in_(ids)))


def visible_to(actor: Actor) -> sa.ColumnElement[bool]:
    """The cases ``actor`` may see, as a query condition (the rule of :meth:`Actor.may_see`):
    an admin every case; anyone else their own; L&D staff also every case of their units. Cases
    without an owner are seen by admins only."""
    if actor.is_admin:
        return sa.true()
    mine = CaseRow.owner == actor.id
    if actor.role == "ld" and actor.units:
        return sa.or_(mine, sa.and_(CaseRow.owner.is_not(None), CaseRow.org_unit.in_(actor.units)))
    return mine


def retention_cutoff(months: int, now: dt.datetime | None = None) -> dt.datetime:
    """The moment ``months`` calendar months before ``now``: cases last changed before it are past
    the retention period."""
    return _aware(now or _now()) - relativedelta(months=int(months))


def _entry_dict(m: MonitoringRow) -> dict[str, Any]:
    return {
        "id": m.id,
        "date": m.entry_date.isoformat(),
        "kind": m.kind,
        "measure": m.measure,
        "value": m.value,
        "note": m.note,
        "events": list(m.events or []),
    }


def _parse_id(case_id: Any) -> int:
    if isinstance(case_id, bool):
        raise CaseNotFound(f"no case with id {case_id!r}")
    try:
        n = int(str(case_id).strip())
    except (TypeError, ValueError):
        raise CaseNotFound(f"'{_text(case_id)[:40]}' is not a case id (case ids are whole numbers)") from None
    if n < 1 or n > 2**31 - 1:
        raise CaseNotFound(f"no case with id {n}")
    return n
