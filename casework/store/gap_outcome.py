"""A case's gap in numbers and its outcome: set the gap, close a case with its outcome, open it again,
and the rows the outcomes across cases are built from."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from casework.access import Actor
from casework.closing import OutcomeError, check_outcome
from casework.gap import GapError, gap_dict, parse_gap
from casework.store.base import StoreBase
from casework.store.errors import CaseDataError
from casework.store.rows import _audit, _aware, _now, _scrub, _summary, visible_to
from casework.store.tables import AnswerRow, CaseRow, MonitoringRow, PlanRow


class GapOutcomeMethods(StoreBase):
    """Gap and outcome (part of :class:`casework.store.Store`)."""

    def set_gap(self, case_id: Any, gap: Any, *, actor: Actor | None = None) -> dict[str, Any] | None:
        """Set (or, with None or all fields blank, clear) the case's gap in numbers
        {measure, current, target, unit, by}; returns it as stored."""
        try:
            g = gap_dict(parse_gap(gap))
        except GapError as exc:
            raise CaseDataError(exc.problems) from None
        a = self._who(actor)
        with self._tx(write=True) as s:
            row = self._case(s, case_id, a)
            row.gap = _scrub(g) if g else None
            row.updated_at = _now()
            _audit(s, a, "change", row.id, "gap")
        return g

    def close_case(
        self, case_id: Any, outcome: str, on: Any = None, *, actor: Actor | None = None
    ) -> dict[str, Any]:
        """Close a case with its outcome (closed | partly | not_closed | stopped) on a date (default
        today); closing again corrects the outcome. Returns the case's summary."""
        try:
            value, day = check_outcome(outcome, on)
        except OutcomeError as exc:
            raise CaseDataError(str(exc)) from None
        a = self._who(actor)
        with self._tx(write=True) as s:
            row = self._case(s, case_id, a)
            if day < _aware(row.created_at).date():
                raise CaseDataError(
                    f"closing date {day.isoformat()} is before the case was opened ({_aware(row.created_at).date()})"
                )
            row.status, row.outcome, row.closed_on = "closed", value, day
            row.updated_at = _now()
            _audit(s, a, "change", row.id, f"closed: {value}")
            return _summary(row)

    def reopen_case(self, case_id: Any, *, actor: Actor | None = None) -> dict[str, Any]:
        """Open a closed case again (its outcome and closing date are cleared)."""
        a = self._who(actor)
        with self._tx(write=True) as s:
            row = self._case(s, case_id, a)
            row.status, row.outcome, row.closed_on = "open", None, None
            row.updated_at = _now()
            _audit(s, a, "change", row.id, "reopened")
            return _summary(row)

    def outcome_rows(self, *, actor: Actor | None = None) -> list[dict[str, Any]]:
        """For every case the actor may see (the same rule as :meth:`list_cases`): its summary with
        the route (``concern``), the gap, the plan's measures and the monitoring values: what
        :func:`casework.outcomes.outcomes` aggregates. Not audited per case: it is a list."""
        a = self._who(actor)
        with self._tx() as s:
            rows = s.scalars(select(CaseRow).where(visible_to(a)).order_by(CaseRow.id)).all()
            ids = [r.id for r in rows]
            concern: dict[int, str] = {}
            plans: dict[int, dict] = {}
            entries: dict[int, list] = {}
            for chunk in (ids[i : i + 500] for i in range(0, len(ids), 500)):
                for ans in s.scalars(
                    select(AnswerRow).where(AnswerRow.case_id.in_(chunk), AnswerRow.question_id == "concern")
                ):
                    concern[ans.case_id] = ans.value
                # only the plan's measures (a JSON path: the rest of a plan can be large)
                for case_id, measures in s.execute(
                    select(PlanRow.case_id, PlanRow.plan["measures"]).where(PlanRow.case_id.in_(chunk))
                ):
                    plans[case_id] = {"measures": measures} if isinstance(measures, list) else {}
                for m in s.execute(
                    select(MonitoringRow.case_id, MonitoringRow.entry_date, MonitoringRow.kind,
                           MonitoringRow.measure, MonitoringRow.value)
                    .where(MonitoringRow.case_id.in_(chunk), MonitoringRow.kind.in_(("measure", "follow_up")))
                    .order_by(MonitoringRow.entry_date, MonitoringRow.id)
                ):
                    entries.setdefault(m.case_id, []).append(
                        {"date": m.entry_date.isoformat(), "kind": m.kind, "measure": m.measure, "value": m.value,
                         "note": "", "events": []})
            return [
                {
                    **_summary(r),
                    "concern": concern.get(r.id),
                    "gap": r.gap,
                    "plan": plans.get(r.id),
                    "monitoring": entries.get(r.id, []),
                }
                for r in rows
            ]
