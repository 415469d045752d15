"""The plumbing every part of the store stands on: the engine and its schema made ready once, one
transaction per call with database errors turned into plain messages, who acts and what they may
see (a case someone may not see is refused as a case that does not exist, and recorded), and a
view of the store bound to one actor (:class:`ActingStore`)."""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy import select
from sqlalchemy.orm import Session

from casework.access import LOCAL_OPERATOR, Actor
from casework.erasure import scrub_after_delete
from casework.store.engine import SCHEMA_HEAD, describe_url, make_engine, migrate, resolve_url
from casework.store.errors import CaseNotFound, StoreError
from casework.store.rows import _audit, _entry_dict, _iso, _now, _parse_id, _summary, _text
from casework.store.tables import AnswerRow, CaseRow, ConsultationRow, MonitoringRow, PlanRow

log = logging.getLogger("triage.store")


class StoreBase:
    """What every method of :class:`casework.store.Store` relies on (see there)."""

    def __init__(self, url: str | None = None, *, timeout: float = 10.0, actor: Actor | None = LOCAL_OPERATOR):
        self.actor = actor
        self.url = resolve_url(url)
        self.where = describe_url(self.url)
        self.engine = make_engine(self.url, timeout)
        self._write_engine = self.engine.execution_options(sqlite_begin="BEGIN IMMEDIATE")
        self._ready = False
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ plumbing

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> StoreBase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    def _friendly(self, exc: BaseException) -> StoreError:
        """A plain message for a database error (the details go to the log). The message names the
        database and the driver's words (for administrators); ``plain`` says the same without them
        (for everyone else)."""
        out = self._friendly_full(exc)
        low = str(out)
        out.plain = (
            "the case database is busy; try again in a moment, nothing was changed" if " is busy" in low
            else "the case database cannot be used right now; nothing was changed (your administrator "
            "finds the details in the server log)"
        )
        return out

    def _friendly_full(self, exc: BaseException) -> StoreError:
        log.debug("database error", exc_info=exc)
        orig = getattr(exc, "orig", None) or exc
        lines = str(orig).strip().splitlines()
        msg = lines[0] if lines else type(orig).__name__
        low = msg.lower()
        where = self.where
        if "locked" in low or "busy" in low:
            return StoreError(
                f"the case database {where} is busy: another program or window is writing to it. "
                "Try again in a moment; nothing was changed."
            )
        if "unable to open" in low:
            return StoreError(
                f"cannot open the case database file {where}: check that the folder exists and can be written to"
            )
        if "readonly" in low or "read-only" in low:
            return StoreError(f"the case database {where} is read-only; nothing was changed")
        if "not a database" in low or "malformed" in low:
            return StoreError(f"{where} is not a case database, or it is damaged")
        if "disk" in low and "full" in low:
            return StoreError(f"the disk holding {where} is full; nothing was changed")
        if isinstance(exc, sa_exc.IntegrityError):
            return StoreError(f"could not save to the case database ({msg}); nothing was changed")
        if isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError)) and self.backend != "sqlite":
            return StoreError(f"cannot use the case database at {where}: {msg}")
        return StoreError(f"the case database {where} failed: {msg}; nothing was changed")

    def ensure_ready(self) -> None:
        """Create or upgrade the schema if needed (done by every operation on first use)."""
        if self._ready:
            return
        with self._lock:
            if self._ready:
                return
            try:
                if self._schema_version() != SCHEMA_HEAD:
                    migrate(self.engine)
            except StoreError:
                raise
            except sa_exc.SQLAlchemyError as exc:
                raise self._friendly(exc) from None
            self._ready = True

    def _schema_version(self) -> str | None:
        """The schema revision, read directly (cheap); None when there is no version table."""
        with self.engine.connect() as conn:
            if not sa.inspect(conn).has_table("alembic_version"):
                return None
            return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()

    def acting(self, actor: Actor) -> ActingStore:
        """This store with every call made for ``actor``."""
        return ActingStore(self, actor)

    def _who(self, actor: Actor | None) -> Actor:
        a = actor if actor is not None else self.actor
        if not isinstance(a, Actor):
            raise StoreError("the case store was called without saying who acts; nothing was done")
        return a

    @staticmethod
    def _admin(a: Actor, what: str) -> None:
        if not a.is_admin:
            raise StoreError(f"only an administrator may {what}")

    @contextmanager
    def _tx(self, write: bool = False) -> Iterator[Session]:
        self.ensure_ready()
        session = Session(self._write_engine if write else self.engine, expire_on_commit=False)
        refused = None
        try:
            with session.begin():
                yield session
        except sa_exc.SQLAlchemyError as exc:
            raise self._friendly(exc) from None
        except CaseNotFound as exc:
            refused = getattr(exc, "refused", None)
            raise
        finally:
            session.close()
            if refused is not None:  # someone else's case: say "not found", and record the attempt
                self._record(refused[1], "refused", refused[0])

    def _record(self, actor: Actor, action: str, case_id: int | None = None, detail: str = "") -> None:
        """An audit entry in a transaction of its own."""
        with self._tx(write=True) as s:
            _audit(s, actor, action, case_id, detail)

    def _case(self, s: Session, case_id: Any, actor: Actor) -> CaseRow:
        n = _parse_id(case_id)
        row = s.get(CaseRow, n)
        if row is None:
            raise CaseNotFound(f"no case with id {n}")
        if not actor.may_see(row.owner, row.org_unit):
            exc = CaseNotFound(f"no case with id {n}")  # the same words as a missing case
            exc.refused = (n, actor)
            raise exc
        return row

    def _put_answers(self, s: Session, case_id: int, answers: Mapping[str, str]) -> None:
        s.execute(sa.delete(AnswerRow).where(AnswerRow.case_id == case_id))
        s.add_all(
            AnswerRow(case_id=case_id, question_id=q, value=v, position=i)
            for i, (q, v) in enumerate(answers.items())
        )
        s.flush()

    @staticmethod
    def _set_summary(row: CaseRow, status: str, primary: str | None, confidence: float | None) -> None:
        row.result_status, row.primary_intervention, row.confidence = status, primary, confidence
        row.updated_at = _now()

    def _owner_unit(self, a: Actor, owner: str | None, org_unit: str | None) -> tuple[str | None, str | None]:
        """The owner and unit of a new case: the actor's own; an admin may name others."""
        if owner is None and org_unit is None:
            return a.owner_id, a.unit
        self._admin(a, "save a case for someone else")
        return (_text(owner).strip().lower() or None), (_text(org_unit).strip() or None)

    def _load(self, s: Session, row: CaseRow) -> dict[str, Any]:
        answers = s.scalars(
            select(AnswerRow).where(AnswerRow.case_id == row.id).order_by(AnswerRow.position)
        ).all()
        cons = s.scalars(
            select(ConsultationRow).where(ConsultationRow.case_id == row.id).order_by(ConsultationRow.id)
        ).all()
        plan = s.scalar(select(PlanRow).where(PlanRow.case_id == row.id))
        entries = s.scalars(
            select(MonitoringRow)
            .where(MonitoringRow.case_id == row.id)
            .order_by(MonitoringRow.entry_date, MonitoringRow.id)
        ).all()
        out = _summary(row)
        out.update(
            notes=row.notes,
            gap=row.gap,
            answers={a.question_id: a.value for a in answers},
            result=cons[-1].result if cons else None,
            consultations=[
                {
                    "id": x.id,
                    "created_at": _iso(x.created_at),
                    "rulebase_version": x.rulebase_version,
                    "status": x.status,
                    "primary": x.primary_intervention,
                    "confidence": x.confidence,
                    "answers": x.answers,
                    "result": x.result,
                }
                for x in cons
            ],
            plan=plan.plan if plan else None,
            plan_updated_at=_iso(plan.updated_at) if plan else None,
            monitoring=[_entry_dict(m) for m in entries],
        )
        return out

    def _scrub(self) -> dict[str, Any]:
        """After a deletion: no deleted text left readable in the live database files (the write-ahead
        log folded in and truncated on SQLite; the case tables rewritten on PostgreSQL)."""
        return scrub_after_delete(self.engine)


class ActingStore:
    """A :class:`Store` bound to one actor: the same methods, each called with ``actor=`` filled in
    (what the pages use: ``get_store()`` returns the shared store acting for the signed-in user)."""

    ACTING = frozenset(
        {
            "create_case", "update_case", "assign_case", "get_case", "list_cases", "rediagnose",
            "delete_case", "counts", "save_plan", "get_plan", "add_monitoring", "update_monitoring",
            "delete_monitoring",
            "progress", "export_case", "record_export", "import_case", "record_event", "audit_entries",
            "case_history", "purge_candidates", "purge", "erasure_candidates", "erase",
            "set_gap", "close_case", "reopen_case", "outcome_rows",
        }
    )

    def __init__(self, store: StoreBase, actor: Actor):
        self._store = store
        self.actor = actor

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._store, name)
        if name in self.ACTING:
            return functools.partial(attr, actor=self.actor)
        return attr
