"""Cases: save a consulted case, change its header, give it an owner, open it, list and search the
cases someone may see, consult again, delete for real, count rows."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.orm import Session

from casework.access import Actor
from casework.audit import VIEW_COALESCE
from casework.store.base import StoreBase
from casework.store.errors import CaseDataError
from casework.store.rows import (
    _audit,
    _consult,
    _consultation_row,
    _delete_rows,
    _header,
    _now,
    _parse_id,
    _summary,
    _text,
    visible_to,
)
from casework.store.tables import CHILD_TABLES, AnswerRow, AuditRow, CaseRow
from rules.consult import Consultation
from rules.model import load_rulebase


class CaseMethods(StoreBase):
    """The cases themselves (part of :class:`casework.store.Store`)."""

    def create_case(
        self,
        header: Mapping[str, Any] | None,
        answers: Mapping[str, Any],
        *,
        actor: Actor | None = None,
        owner: str | None = None,
        org_unit: str | None = None,
    ) -> int:
        """Consult the rule base on ``answers`` and store a new case with that consultation; returns its id.
        The case belongs to the actor (and their unit); an admin may give ``owner`` and ``org_unit``."""
        a = self._who(actor)
        h = _header(header)
        c, given = _consult(answers)
        own, unit = self._owner_unit(a, owner, org_unit)
        with self._tx(write=True) as s:
            row = self._add_case(s, h, own, unit, c, given, _now())
            _audit(s, a, "create", row.id)
            return row.id

    def _add_case(
        self, s: Session, h: Mapping[str, str], owner: str | None, org_unit: str | None, c: Consultation,
        given: Mapping[str, str], now: dt.datetime, **more: Any,
    ) -> CaseRow:
        """A new case row in the transaction with its answers and its consultation (``more``: other
        columns, e.g. an imported case's gap and outcome)."""
        row = CaseRow(
            title=h["title"],
            who=h["who"],
            notes=h["notes"],
            status=h["status"],
            created_at=now,
            updated_at=now,
            owner=owner,
            org_unit=org_unit,
            **more,
        )
        s.add(row)
        s.flush()
        self._put_answers(s, row.id, given)
        s.add(_consultation_row(row.id, c, given))
        self._set_summary(row, c.status, c.primary, c.confidence)
        row.updated_at = now
        return row

    def update_case(self, case_id: Any, header: Mapping[str, Any], *, actor: Actor | None = None) -> None:
        """Change the title, who, notes or status of a case (only the keys given)."""
        a = self._who(actor)
        h = _header(header, partial=True)
        with self._tx(write=True) as s:
            row = self._case(s, case_id, a)
            for k, v in h.items():
                setattr(row, k, v)
            row.updated_at = _now()
            _audit(s, a, "change", row.id)

    def assign_case(
        self, case_id: Any, owner: str | None, org_unit: str | None = None, *, actor: Actor | None = None
    ) -> None:
        """Give a case an owner and an organisation unit (administrators only; how cases leave the
        admin-only bucket)."""
        a = self._who(actor)
        self._admin(a, "assign cases")
        with self._tx(write=True) as s:
            row = self._case(s, case_id, a)
            row.owner = _text(owner).strip().lower() or None
            row.org_unit = _text(org_unit).strip() or None
            _audit(s, a, "assign", row.id)

    def get_case(self, case_id: Any, *, actor: Actor | None = None) -> dict[str, Any]:
        """The whole case: header, answers, latest result, consultation history, plan, monitoring.
        Recorded in the audit log as a view (once per actor and case in 15 minutes)."""
        a = self._who(actor)
        with self._tx() as s:  # a read; the write lock is taken only for a view not yet recorded
            row = self._case(s, case_id, a)
            recent = s.scalar(
                select(AuditRow.id).where(
                    AuditRow.case_id == row.id,
                    AuditRow.actor == a.id,
                    AuditRow.action == "view",
                    AuditRow.at > _now() - VIEW_COALESCE,
                ).limit(1)
            )
            case = self._load(s, row)
        if recent is None:
            self._record(a, "view", case["id"])  # if this fails, the case is not shown
        return case

    def list_cases(
        self, filters: Mapping[str, Any] | None = None, *, actor: Actor | None = None, **kw: Any
    ) -> list[dict[str, Any]]:
        """The summaries of the cases the actor may see, most recently changed first. Filters:
        ``text`` (in title, who or notes), ``intervention`` (the latest primary), ``status``
        (open | closed), ``result_status`` (complete | needs_answer | cannot_recommend), ``limit``
        (default 1000)."""
        a = self._who(actor)
        f = {**(filters or {}), **kw}
        unknown = [k for k in f if k not in ("text", "intervention", "status", "result_status", "limit")]
        if unknown:
            raise CaseDataError(
                f"unknown filters {unknown} (use text, intervention, status, result_status, limit)"
            )
        q = select(CaseRow).where(visible_to(a))
        if f.get("text"):
            pat = "%" + re.sub(r"([\\%_])", r"\\\1", _text(f["text"]).strip()) + "%"
            q = q.where(
                sa.or_(*(col.ilike(pat, escape="\\") for col in (CaseRow.title, CaseRow.who, CaseRow.notes)))
            )
        if f.get("intervention"):
            q = q.where(CaseRow.primary_intervention == f["intervention"])
        if f.get("status"):
            q = q.where(CaseRow.status == f["status"])
        if f.get("result_status"):
            q = q.where(CaseRow.result_status == f["result_status"])
        try:
            limit = int(f.get("limit") or 1000)
        except (TypeError, ValueError):
            raise CaseDataError("limit: must be a whole number") from None
        q = q.order_by(CaseRow.updated_at.desc(), CaseRow.id.desc()).limit(max(1, limit))
        detail = "search" if f.get("text") else ""
        with self._tx() as s:
            rows = [_summary(r) for r in s.scalars(q).all()]
            recent = s.scalar(  # who listed or searched, not what: once per actor in 15 minutes
                select(AuditRow.id).where(
                    AuditRow.actor == a.id, AuditRow.action == "list", AuditRow.detail == detail,
                    AuditRow.at > _now() - VIEW_COALESCE,
                ).limit(1)
            )
        if recent is None:
            self._record(a, "list", None, detail)
        return rows

    def rediagnose(
        self, case_id: Any, answers: Mapping[str, Any] | None = None, *, actor: Actor | None = None
    ) -> dict[str, Any]:
        """Consult again (with new answers, or the stored ones under the current rule base) and keep
        the earlier consultations. Returns the new result with ``changed`` (did the primary change) and
        ``dropped_answers`` (stored answers to questions or options the rule base no longer has)."""
        a = self._who(actor)
        n = _parse_id(case_id)
        dropped: dict[str, str] = {}
        if answers is None:  # the stored answers; any the current questions no longer know are set aside
            with self._tx() as s:
                self._case(s, n, a)
                stored = {
                    x.question_id: x.value
                    for x in s.scalars(select(AnswerRow).where(AnswerRow.case_id == n).order_by(AnswerRow.position))
                }
            qs = load_rulebase().knowledge.question_index
            answers = {q: v for q, v in stored.items() if q in qs and v in qs[q].option_values()}
            dropped = {q: v for q, v in stored.items() if q not in answers}
        c, given = _consult(answers)
        with self._tx(write=True) as s:
            row = self._case(s, n, a)
            before = (row.result_status, row.primary_intervention)
            self._put_answers(s, row.id, given)
            cons = _consultation_row(row.id, c, given)
            s.add(cons)
            s.flush()
            self._set_summary(row, c.status, c.primary, c.confidence)
            _audit(s, a, "rediagnose", row.id)
            return {
                "consultation_id": cons.id,
                "status": c.status,
                "primary": c.primary,
                "confidence": c.confidence,
                "changed": before != (c.status, c.primary),
                "result": cons.result,
                "dropped_answers": dropped,
            }

    def delete_case(self, case_id: Any, *, actor: Actor | None = None) -> None:
        """Delete a case and everything under it (answers, consultations, plan, monitoring) for real."""
        a = self._who(actor)
        with self._tx(write=True) as s:
            row = self._case(s, case_id, a)
            _delete_rows(s, [row.id])
            _audit(s, a, "delete", row.id)
        self._scrub()

    def counts(self, case_id: Any | None = None, *, actor: Actor | None = None) -> dict[str, int]:
        """How many rows each table holds (for one case the actor may see, or in all: admins only)."""
        a = self._who(actor)
        n = None if case_id is None else _parse_id(case_id)
        if n is None:
            self._admin(a, "count all the cases")
        out: dict[str, int] = {}
        with self._tx() as s:
            row = None if n is None else s.get(CaseRow, n)
            hidden = row is not None and not a.may_see(row.owner, row.org_unit)
            for model in (CaseRow, *CHILD_TABLES):
                col = model.id if model is CaseRow else model.case_id
                q = select(sa.func.count()).select_from(model)
                if n is not None:
                    q = q.where(col == n)
                out[model.__tablename__] = 0 if hidden else (s.scalar(q) or 0)  # hidden: as if missing
        return out
