"""A case's action plan and its monitoring log: store or replace the plan, add, change and remove
monitoring entries, progress against the plan's measures."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy import select

from casework.access import Actor
from casework.plan import PlanError, normalise_entry, validate_plan
from casework.plan import progress as plan_progress
from casework.store.base import StoreBase
from casework.store.errors import CaseDataError, CaseNotFound
from casework.store.rows import _audit, _entry_id, _monitoring_row, _now, _plan_row, _scrub
from casework.store.tables import MonitoringRow, PlanRow


class PlanMethods(StoreBase):
    """Plan and monitoring (part of :class:`casework.store.Store`)."""

    def save_plan(self, case_id: Any, plan: Mapping[str, Any], *, actor: Actor | None = None) -> None:
        """Store (or replace) the case's action plan."""
        try:
            clean = _scrub(validate_plan(plan))
        except PlanError as exc:
            raise CaseDataError(["plan: " + p for p in exc.problems]) from None
        a = self._who(actor)
        now = _now()
        with self._tx(write=True) as s:
            row = self._case(s, case_id, a)
            _audit(s, a, "plan", row.id)
            existing = s.scalar(select(PlanRow).where(PlanRow.case_id == row.id))
            if existing is None:
                s.add(_plan_row(row.id, clean, now))
            else:
                existing.plan = clean
                existing.intervention = clean.get("intervention")
                existing.updated_at = now
            row.updated_at = now

    def get_plan(self, case_id: Any, *, actor: Actor | None = None) -> dict[str, Any] | None:
        a = self._who(actor)
        with self._tx() as s:
            row = self._case(s, case_id, a)
            p = s.scalar(select(PlanRow).where(PlanRow.case_id == row.id))
            return p.plan if p else None

    def add_monitoring(self, case_id: Any, entry: Mapping[str, Any], *, actor: Actor | None = None) -> int:
        """Record a monitoring entry: a value against a measure ({date, measure, value, note}) or a
        coaching session ({date, kind: "session", events: [1..8], note}). Returns the entry id."""
        try:
            e = _scrub(normalise_entry(entry))
        except PlanError as exc:
            raise CaseDataError(["monitoring entry: " + p for p in exc.problems]) from None
        a = self._who(actor)
        with self._tx(write=True) as s:
            row = self._case(s, case_id, a)
            _audit(s, a, "monitoring", row.id, "added an entry")
            m = _monitoring_row(row.id, e, _now())
            s.add(m)
            row.updated_at = _now()
            s.flush()
            return m.id

    def update_monitoring(
        self, case_id: Any, entry_id: Any, entry: Mapping[str, Any], *, actor: Actor | None = None
    ) -> None:
        """Replace one monitoring entry with ``entry`` (same shape as for :meth:`add_monitoring`)."""
        try:
            e = _scrub(normalise_entry(entry))
        except PlanError as exc:
            raise CaseDataError(["monitoring entry: " + p for p in exc.problems]) from None
        eid = _entry_id(entry_id)
        a = self._who(actor)
        with self._tx(write=True) as s:
            row = self._case(s, case_id, a)
            m = s.scalar(select(MonitoringRow).where(MonitoringRow.case_id == row.id, MonitoringRow.id == eid))
            if m is None:
                raise CaseNotFound(f"case {row.id} has no monitoring entry {entry_id}")
            _audit(s, a, "monitoring", row.id, "changed an entry")
            new = _monitoring_row(row.id, e, m.created_at)
            for name in ("entry_date", "kind", "measure", "value", "note", "events"):
                setattr(m, name, getattr(new, name))
            row.updated_at = _now()

    def delete_monitoring(self, case_id: Any, entry_id: Any, *, actor: Actor | None = None) -> None:
        """Remove one monitoring entry (a value recorded by mistake)."""
        eid = _entry_id(entry_id)
        a = self._who(actor)
        with self._tx(write=True) as s:
            row = self._case(s, case_id, a)
            _audit(s, a, "monitoring", row.id, "removed an entry")
            done = s.execute(
                sa.delete(MonitoringRow).where(MonitoringRow.case_id == row.id, MonitoringRow.id == eid)
            )
            if not done.rowcount:
                raise CaseNotFound(f"case {row.id} has no monitoring entry {entry_id}")
            row.updated_at = _now()

    def progress(
        self, case_id: Any, today: dt.date | None = None, *, actor: Actor | None = None
    ) -> dict[str, Any]:
        """Progress against each measure of success of the case's plan (see :func:`casework.plan.progress`)."""
        case = self.get_case(case_id, actor=actor)
        return plan_progress(case["plan"], case["monitoring"], today)
