"""The case store: saved cases with their answers, every consultation, the plan and the monitoring log.

SQLAlchemy 2. By default a SQLite file in a data folder (``./data/triage.sqlite3``; the folder can be
set with ``TRIAGE_DATA_DIR``), or any SQLAlchemy URL in ``TRIAGE_DATABASE_URL`` (for example
``postgresql+psycopg://user@127.0.0.1:5432/triage`` or ``sqlite:///path/to/file``). SQLite runs in WAL
mode with foreign keys on, write transactions take the write lock up front (``BEGIN IMMEDIATE``) so
concurrent writers queue instead of failing, and deleted content is overwritten (``secure_delete``).

The schema is managed by the Alembic migrations in ``casework/migrations``; they run by themselves the
first time a store touches an empty or older database, under a lock, inside one transaction (so an
upgrade either completes or leaves the database as it was).

Every problem reaches the caller as a :class:`StoreError` with a plain message (database busy,
unreachable, not a case database, case not found, bad data); a failed save rolls back completely.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import os
import re
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import exc as sa_exc
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from casework.access import LOCAL_OPERATOR, Actor
from casework.answers_io import MAX_HEADER_CHARS
from casework.audit import VIEW_COALESCE, entry_dict
from casework.erasure import matching_fields, scrub_after_delete, words
from casework.plan import PlanError, normalise_entry, validate_plan
from casework.plan import progress as plan_progress
from knowledge.schema import INTERVENTION_IDS
from rules.consult import AnswerError, Consultation, consult, normalise_answers
from rules.model import load_rulebase

log = logging.getLogger("triage.store")

ENV_URL = "TRIAGE_DATABASE_URL"
ENV_DIR = "TRIAGE_DATA_DIR"
DEFAULT_DIR = "data"
DEFAULT_FILE = "triage.sqlite3"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SCHEMA_HEAD = "0005"  # the newest migration; a test checks it against the migrations folder
EXPORT_FORMAT = "intervention-triage-case"
EXPORT_VERSION = 1
CASE_STATUSES = ("open", "closed")
_PG_MIGRATION_LOCK = 4_711_008  # advisory lock key held while migrating a PostgreSQL database


class StoreError(Exception):
    """The case store cannot do what was asked; the message says why in plain words."""


class CaseNotFound(StoreError):
    """No case with that id."""


class CaseDataError(StoreError):
    """The data given for a case is not usable; ``problems`` lists each problem."""

    def __init__(self, problems: list[str] | str):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("; ".join(self.problems))


# --------------------------------------------------------------------------- tables


class Base(DeclarativeBase):
    pass


class CaseRow(Base):
    __tablename__ = "cases"
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(sa.Text, server_default="")
    who: Mapped[str] = mapped_column(sa.Text, server_default="")
    notes: Mapped[str] = mapped_column(sa.Text, server_default="")
    status: Mapped[str] = mapped_column(sa.String(20), server_default="open")
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True))
    result_status: Mapped[str | None] = mapped_column(sa.String(20))
    primary_intervention: Mapped[str | None] = mapped_column(sa.String(40))
    confidence: Mapped[float | None] = mapped_column(sa.Float)
    owner: Mapped[str | None] = mapped_column(sa.String(320))  # None: the admin-only bucket
    org_unit: Mapped[str | None] = mapped_column(sa.String(100))
    gap: Mapped[dict | None] = mapped_column(sa.JSON)  # migration 0005: {measure, current, target, unit, by}
    outcome: Mapped[str | None] = mapped_column(sa.String(20))  # see casework.outcomes.OUTCOMES
    closed_on: Mapped[dt.date | None] = mapped_column(sa.Date)
    __table_args__ = (
        sa.Index("ix_cases_primary_intervention", "primary_intervention"),
        sa.Index("ix_cases_updated_at", "updated_at"),
        sa.Index("ix_cases_owner", "owner"),
        sa.Index("ix_cases_org_unit", "org_unit"),
        {"sqlite_autoincrement": True},  # a deleted case's id is never given again (migration 0004)
    )


class AnswerRow(Base):
    __tablename__ = "answers"
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    question_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    value: Mapped[str] = mapped_column(sa.String(64))
    position: Mapped[int] = mapped_column(sa.Integer)


class ConsultationRow(Base):
    __tablename__ = "consultations"
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True))
    answers: Mapped[dict] = mapped_column(sa.JSON)
    result: Mapped[dict] = mapped_column(sa.JSON)
    rulebase_version: Mapped[str] = mapped_column(sa.String(64))
    status: Mapped[str] = mapped_column(sa.String(20))
    primary_intervention: Mapped[str | None] = mapped_column(sa.String(40))
    confidence: Mapped[float | None] = mapped_column(sa.Float)


class PlanRow(Base):
    __tablename__ = "plans"
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"))
    intervention: Mapped[str | None] = mapped_column(sa.String(40))
    plan: Mapped[dict] = mapped_column(sa.JSON)
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True))
    __table_args__ = (sa.UniqueConstraint("case_id", name="uq_plans_case_id"),)


class MonitoringRow(Base):
    __tablename__ = "monitoring_entries"
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    entry_date: Mapped[dt.date] = mapped_column(sa.Date)
    kind: Mapped[str] = mapped_column(sa.String(16))
    measure: Mapped[str] = mapped_column(sa.Text, server_default="")
    value: Mapped[float | None] = mapped_column(sa.Float)
    note: Mapped[str] = mapped_column(sa.Text, server_default="")
    events: Mapped[list] = mapped_column(sa.JSON)
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True))


class AuditRow(Base):
    """The audit log (see :mod:`casework.audit`): append-only, no case content."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), index=True)
    actor: Mapped[str] = mapped_column(sa.String(320))
    role: Mapped[str] = mapped_column(sa.String(20))
    action: Mapped[str] = mapped_column(sa.String(20))
    case_id: Mapped[int | None] = mapped_column(sa.Integer, index=True)  # no foreign key: entries outlive the case
    detail: Mapped[str] = mapped_column(sa.String(80), server_default="")


class SessionRow(Base):
    """A sign-in session (see :mod:`casework.sessions`): no case content."""

    __tablename__ = "sessions"
    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)  # a hash of the ID token's identity
    subject: Mapped[str] = mapped_column(sa.String(320), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True))
    last_seen: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True))
    expires_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    ended_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    ended_why: Mapped[str] = mapped_column(sa.String(20), server_default="")
    role: Mapped[str] = mapped_column(sa.String(20), server_default="")  # the role at sign-in ("none": unknown)


CHILD_TABLES = (AnswerRow, ConsultationRow, PlanRow, MonitoringRow)
TABLES = ("cases", "answers", "consultations", "plans", "monitoring_entries")


# --------------------------------------------------------------------------- engine and URL


def resolve_url(url: str | None = None) -> str:
    """The database URL: ``url`` if given, else ``TRIAGE_DATABASE_URL``, else the SQLite file
    ``triage.sqlite3`` in ``TRIAGE_DATA_DIR`` (default ``./data``)."""
    if url and url.strip():
        return url.strip()
    env = os.environ.get(ENV_URL, "").strip()
    if env:
        return env
    folder = Path(os.environ.get(ENV_DIR, "").strip() or DEFAULT_DIR).expanduser()
    return f"sqlite:///{(folder / DEFAULT_FILE).resolve()}"


def _parse_url(url: str) -> sa.URL:
    try:
        u = sa.make_url(url)
    except (sa_exc.ArgumentError, ValueError):
        raise StoreError(
            "the database URL is not valid; use e.g. sqlite:///path/to/triage.sqlite3 or "
            "postgresql+psycopg://user@host:5432/dbname"
        ) from None
    if u.drivername in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+psycopg")  # psycopg 3 is the driver installed
    if u.get_backend_name() not in ("sqlite", "postgresql"):
        raise StoreError(f"the case store supports SQLite and PostgreSQL, not '{u.get_backend_name()}'")
    return u


def describe_url(url: str) -> str:
    """Where the data lives, for messages: the file path for SQLite, the URL without password otherwise."""
    try:
        u = _parse_url(url)
    except StoreError:
        return "(invalid URL)"
    if u.get_backend_name() == "sqlite":
        return u.database or ":memory:"
    return u.render_as_string(hide_password=True)


def make_engine(url: str, timeout: float = 10.0) -> Engine:
    """An engine for ``url`` set up for the store (SQLite pragmas and locking; PostgreSQL timeouts)."""
    u = _parse_url(url)
    if u.get_backend_name() == "sqlite":
        db = u.database or ""
        # hide_parameters: case data never appears in error messages or in the log
        kwargs: dict[str, Any] = {
            "connect_args": {"timeout": timeout, "check_same_thread": False},
            "hide_parameters": True,
        }
        if db in ("", ":memory:"):
            kwargs["poolclass"] = sa.pool.StaticPool  # one shared in-memory database (tests only)
        elif not db.startswith("file:"):
            path = Path(db).expanduser()
            try:
                path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                if not path.exists():  # personal data: readable by the owner only
                    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
            except OSError as exc:
                raise StoreError(f"cannot create the case database {path}: {exc.strerror}") from None
        engine = sa.create_engine(u, **kwargs)

        @sa.event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn, _record) -> None:  # noqa: ANN001
            dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (see _on_begin)
            cur = dbapi_conn.cursor()
            for pragma in ("foreign_keys=ON", "journal_mode=WAL", "synchronous=NORMAL", "secure_delete=ON"):
                cur.execute(f"PRAGMA {pragma}")
            cur.close()

        @sa.event.listens_for(engine, "begin")
        def _on_begin(conn) -> None:  # noqa: ANN001
            conn.exec_driver_sql(conn.get_execution_options().get("sqlite_begin", "BEGIN"))

        return engine
    return sa.create_engine(
        u, pool_pre_ping=True, hide_parameters=True, connect_args={"connect_timeout": max(1, int(timeout))}
    )


def _alembic_config():
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def migrate(engine: Engine, revision: str = "head") -> str:
    """Bring the database to ``revision`` (the newest by default), under a lock, in one transaction.

    Refuses a database with our table names but no schema version (not made by this program) and one
    at a revision this program does not know (made by a newer version). Returns the revision reached.
    """
    from alembic.script import ScriptDirectory

    cfg = _alembic_config()
    script = ScriptDirectory.from_config(cfg)
    target = script.get_current_head() if revision == "head" else revision
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:  # a table rebuild (migration 0004) must not cascade: SQLite's procedure, foreign keys off
            conn.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
        try:
            with conn.execution_options(sqlite_begin="BEGIN IMMEDIATE").begin():
                current = _migrate_in(conn, cfg, script, target)
                if sqlite and conn.exec_driver_sql("PRAGMA foreign_key_check").first() is not None:
                    raise StoreError("the schema upgrade would break links between cases and their data; nothing was changed")
        finally:
            if sqlite:
                conn.connection.driver_connection.execute("PRAGMA foreign_keys=ON")
    if current == target:
        return current
    log.info("case database migrated from %s to %s", current, target)
    return target


def _migrate_in(conn: sa.Connection, cfg: Any, script: Any, target: str) -> str | None:
    """The body of :func:`migrate`, inside its transaction; returns the revision found."""
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK})")
    current = MigrationContext.configure(conn).get_current_revision()
    if current == target:
        return current
    if current is None:
        ours = set(sa.inspect(conn).get_table_names()) & set(TABLES)
        if ours:
            raise StoreError(
                f"the database has tables named {sorted(ours)} but no schema version: it was not made by "
                "intervention-triage; use another database or data folder"
            )
    else:
        try:
            known = script.get_revision(current) is not None
        except Exception:  # noqa: BLE001 - alembic raises several kinds for an unknown revision
            known = False
        if not known:
            raise StoreError(
                f"the case database is at schema version '{current}', which this version of "
                "intervention-triage does not know (it was written by a newer version); upgrade the program"
            )
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, target)
    return current


# --------------------------------------------------------------------------- helpers

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
    from dateutil.relativedelta import relativedelta

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


# --------------------------------------------------------------------------- the store


class Store:
    """Saved cases. ``Store(url=None)`` uses :func:`resolve_url`. Thread-safe: one store (one
    connection pool) can serve many threads; every method runs in its own transaction.

    Every method acts for someone: the ``actor`` keyword, else the store's own ``actor`` (by default
    :data:`casework.access.LOCAL_OPERATOR`, the command line and the local app). A store made with
    ``actor=None`` (the shared app's) refuses any call that does not say who acts. A case the actor
    may not see is refused with the same message as a case that does not exist; every change, view,
    export and refusal is written to the audit log in the same transaction.
    :meth:`acting` gives a view of the store bound to one actor (what the pages use).
    """

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

    def __enter__(self) -> Store:
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

    # ------------------------------------------------------------------ cases

    def _owner_unit(self, a: Actor, owner: str | None, org_unit: str | None) -> tuple[str | None, str | None]:
        """The owner and unit of a new case: the actor's own; an admin may name others."""
        if owner is None and org_unit is None:
            return a.owner_id, a.unit
        self._admin(a, "save a case for someone else")
        return (_text(owner).strip().lower() or None), (_text(org_unit).strip() or None)

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
        now = _now()
        with self._tx(write=True) as s:
            row = CaseRow(
                title=h["title"],
                who=h["who"],
                notes=h["notes"],
                status=h["status"],
                created_at=now,
                updated_at=now,
                owner=own,
                org_unit=unit,
            )
            s.add(row)
            s.flush()
            self._put_answers(s, row.id, given)
            s.add(_consultation_row(row.id, c, given))
            self._set_summary(row, c.status, c.primary, c.confidence)
            row.updated_at = now
            _audit(s, a, "create", row.id)
            return row.id

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

    def _scrub(self) -> dict[str, Any]:
        """After a deletion: no deleted text left readable in the live database files (the write-ahead
        log folded in and truncated on SQLite; the case tables rewritten on PostgreSQL)."""
        return scrub_after_delete(self.engine)

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

    # ------------------------------------------------------------------ plan and monitoring

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

    # ------------------------------------------------------------------ export and import

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

    # ------------------------------------------------------------------ audit, retention, erasure

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

    # ------------------------------------------------------------------ gap and outcome (issue 20)

    def set_gap(self, case_id: Any, gap: Any, *, actor: Actor | None = None) -> dict[str, Any] | None:
        """Set (or, with None or all fields blank, clear) the case's gap in numbers
        {measure, current, target, unit, by}; returns it as stored."""
        from casework.gap import GapError, gap_dict, parse_gap

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
        from casework.outcomes import OutcomeError, check_outcome

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
            raise CaseDataError(
                [f"{'.'.join(str(p) for p in err['loc']) or 'case'}: {err['msg']}" for err in exc.errors()]
            ) from None
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
            row = CaseRow(
                title=h["title"],
                who=h["who"],
                notes=h["notes"],
                status=h["status"],
                created_at=now,
                updated_at=now,
                owner=own,
                org_unit=unit,
                **gap_outcome,
            )
            s.add(row)
            s.flush()
            self._put_answers(s, row.id, given)
            s.add(_consultation_row(row.id, fresh, given))
            self._set_summary(row, fresh.status, fresh.primary, fresh.confidence)
            row.updated_at = now
            if plan is not None:
                s.add(_plan_row(row.id, plan, now))
            for e in entries:
                s.add(_monitoring_row(row.id, e, now))
            s.flush()
            _audit(s, a, "import", row.id, origin)
            return row.id


def _imported_gap_outcome(ex: _Export, problems: list[str]) -> dict[str, Any]:
    """The gap and outcome of an imported case, checked (problems added to ``problems``)."""
    from casework.gap import GapError, gap_dict, parse_gap
    from casework.outcomes import OUTCOMES

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

    def __init__(self, store: Store, actor: Actor):
        self._store = store
        self.actor = actor

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._store, name)
        if name in self.ACTING:
            return functools.partial(attr, actor=self.actor)
        return attr
