"""Where the case database is and how it is opened: the URL (``TRIAGE_DATABASE_URL``, else the
SQLite file in ``TRIAGE_DATA_DIR``), an engine set up for SQLite or PostgreSQL, and the schema
migrations run under a lock in one transaction."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine

from casework.store.errors import StoreError
from casework.store.tables import TABLES

log = logging.getLogger("triage.store")

ENV_URL = "TRIAGE_DATABASE_URL"
ENV_DIR = "TRIAGE_DATA_DIR"
DEFAULT_DIR = "data"
DEFAULT_FILE = "triage.sqlite3"
MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
SCHEMA_HEAD = "0005"  # the newest migration; a test checks it against the migrations folder
_PG_MIGRATION_LOCK = 4_711_008  # advisory lock key held while migrating a PostgreSQL database



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
    from alembic.config import Config  # deferred on purpose: Alembic (~0.3 s) loads only to migrate

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def migrate(engine: Engine, revision: str = "head") -> str:
    """Bring the database to ``revision`` (the newest by default), under a lock, in one transaction.

    Refuses a database with our table names but no schema version (not made by this program) and one
    at a revision this program does not know (made by a newer version). Returns the revision reached.
    """
    from alembic.script import ScriptDirectory  # deferred on purpose, as in _alembic_config

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
    from alembic import command  # deferred on purpose, as in _alembic_config
    from alembic.runtime.migration import MigrationContext  # deferred on purpose, as above

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
