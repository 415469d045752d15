"""The audit log, retention and erasure: access events recorded, the log read, a case's own history,
the cases past the retention period purged, and a person's cases erased on request."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from casework.access import Actor
from casework.audit import entry_dict
from casework.erasure import matching_fields, words
from casework.store.base import StoreBase
from casework.store.errors import CaseDataError
from casework.store.rows import _audit, _delete_rows, _parse_id, _summary, _text, retention_cutoff
from casework.store.tables import AuditRow, CaseRow


class RetentionMethods(StoreBase):
    """Audit, retention and erasure (part of :class:`casework.store.Store`)."""

    def record_event(self, action: str, *, actor: Actor | None = None) -> None:
        """Record a sign-in (``sign_in``), a sign-out (``sign_out``) or a refused, unknown user
        (``unknown_user``)."""
        if action not in ("sign_in", "sign_out", "unknown_user"):
            raise CaseDataError(f"not an access event: {_text(action)[:20]!r}")
        self._record(self._who(actor), action)

    def audit_entries(
        self, *, actor: Actor | None = None, case_id: Any | None = None, limit: int = 100_000
    ) -> list[dict[str, Any]]:
        """The audit log, oldest first (administrators only); optionally for one case id."""
        a = self._who(actor)
        self._admin(a, "read the audit log")
        q = select(AuditRow)
        if case_id is not None:
            q = q.where(AuditRow.case_id == _parse_id(case_id))
        with self._tx() as s:
            return [entry_dict(r) for r in s.scalars(q.order_by(AuditRow.id).limit(max(1, int(limit))))]

    def case_history(self, case_id: Any, *, actor: Actor | None = None) -> list[dict[str, Any]]:
        """A case's own audit entries, oldest first, for anyone who may see the case."""
        a = self._who(actor)
        with self._tx() as s:
            row = self._case(s, case_id, a)
            # this case's own entries: none from before it was made (a database whose ids were
            # reused before migration 0004 holds an earlier case's entries under the same id)
            q = (
                select(AuditRow)
                .where(AuditRow.case_id == row.id, AuditRow.at >= row.created_at)
                .order_by(AuditRow.id)
            )
            return [entry_dict(r) for r in s.scalars(q)]

    def purge_candidates(
        self, months: int, *, actor: Actor | None = None, now: dt.datetime | None = None
    ) -> list[dict[str, Any]]:
        """The cases past the retention period: last changed (or closed) more than ``months`` ago."""
        a = self._who(actor)
        self._admin(a, "purge cases")
        cutoff = retention_cutoff(months, now)
        with self._tx() as s:
            q = select(CaseRow).where(CaseRow.updated_at < cutoff).order_by(CaseRow.updated_at, CaseRow.id)
            return [_summary(r) for r in s.scalars(q)]

    def purge(
        self, months: int, ids: list[int] | None = None, *, actor: Actor | None = None, now: dt.datetime | None = None
    ) -> list[int]:
        """Delete, for real, the cases past the retention period (only those of ``ids`` when given:
        the list the user confirmed, each checked again). Returns the ids deleted; each leaves an
        audit entry without content."""
        a = self._who(actor)
        self._admin(a, "purge cases")
        cutoff = retention_cutoff(months, now)
        with self._tx(write=True) as s:
            q = select(CaseRow.id).where(CaseRow.updated_at < cutoff)
            if ids is not None:
                q = q.where(CaseRow.id.in_([_parse_id(i) for i in ids] or [0]))
            gone = list(s.scalars(q))
            _delete_rows(s, gone)
            for n in gone:
                _audit(s, a, "purge", n, f"retention {int(months)} months")
        if gone:
            self._scrub()
        return gone

    def erasure_candidates(self, who: str, *, actor: Actor | None = None) -> list[dict[str, Any]]:
        """The cases that name one person in their ``who``, title or notes (words compared after
        normalising case, spacing and punctuation; an initial stands for a given name: see
        :mod:`casework.erasure`). Each summary says where the person was found (``found_in``):
        the list an administrator confirms before :meth:`erase`."""
        a = self._who(actor)
        self._admin(a, "erase a person's cases")
        if not words(_text(who)):
            raise CaseDataError("say whose cases to erase (the person's name as written in the cases)")
        name = _text(who)
        found: dict[int, list[str]] = {}
        with self._tx() as s:
            q = select(CaseRow.id, CaseRow.who, CaseRow.title, CaseRow.notes).order_by(CaseRow.id)
            for r in s.execute(q).yield_per(1000):
                fields = matching_fields(name, r._mapping)
                if fields:
                    found[r.id] = fields
            rows = s.scalars(select(CaseRow).where(CaseRow.id.in_(list(found) or [0])).order_by(CaseRow.id))
            return [{**_summary(r), "found_in": found[r.id]} for r in rows]

    def erase(self, who: str, ids: list[int], *, actor: Actor | None = None) -> list[int]:
        """Delete, for real, the cases naming ``who`` among ``ids`` (the list the user confirmed),
        then make the deleted rows unreadable in the database files (:mod:`casework.erasure`).
        Returns the ids deleted; the audit entries say "erasure on request", not whose."""
        a = self._who(actor)
        wanted = {c["id"] for c in self.erasure_candidates(who, actor=a)} & {_parse_id(i) for i in ids}
        with self._tx(write=True) as s:
            gone = sorted(wanted)
            _delete_rows(s, gone)
            for n in gone:
                _audit(s, a, "erase", n)
        if gone:
            self._scrub()
        return gone
