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

The parts: :mod:`~casework.store.tables` (the models), :mod:`~casework.store.engine` (URL, engine,
migrations), :mod:`~casework.store.rows` (what the parts share), :mod:`~casework.store.base` (one
transaction per call, who acts), and the methods of :class:`Store` by concept:
:mod:`~casework.store.cases`, :mod:`~casework.store.plans`, :mod:`~casework.store.transfer` (export
and import), :mod:`~casework.store.retention` (audit, retention, erasure) and
:mod:`~casework.store.gap_outcome`.
"""

from __future__ import annotations

from casework.store.base import ActingStore, StoreBase, log
from casework.store.cases import CaseMethods
from casework.store.engine import (
    DEFAULT_DIR,
    DEFAULT_FILE,
    ENV_DIR,
    ENV_URL,
    MIGRATIONS_DIR,
    SCHEMA_HEAD,
    _alembic_config,
    describe_url,
    make_engine,
    migrate,
    resolve_url,
)
from casework.store.errors import CaseDataError, CaseNotFound, StoreError
from casework.store.gap_outcome import GapOutcomeMethods
from casework.store.plans import PlanMethods
from casework.store.retention import RetentionMethods
from casework.store.rows import CASE_STATUSES, _audit, _consultation_row, _now, retention_cutoff, visible_to
from casework.store.tables import (
    CHILD_TABLES,
    TABLES,
    AnswerRow,
    AuditRow,
    Base,
    CaseRow,
    ConsultationRow,
    MonitoringRow,
    PlanRow,
    SessionRow,
)
from casework.store.transfer import EXPORT_FORMAT, EXPORT_VERSION, TransferMethods, export_data

__all__ = [
    "CASE_STATUSES", "CHILD_TABLES", "DEFAULT_DIR", "DEFAULT_FILE", "ENV_DIR", "ENV_URL", "EXPORT_FORMAT",
    "EXPORT_VERSION", "MIGRATIONS_DIR", "SCHEMA_HEAD", "TABLES",
    "ActingStore", "AnswerRow", "AuditRow", "Base", "CaseDataError", "CaseNotFound", "CaseRow",
    "ConsultationRow", "MonitoringRow", "PlanRow", "SessionRow", "Store", "StoreError",
    "describe_url", "export_data", "log", "make_engine", "migrate", "resolve_url", "retention_cutoff",
    "visible_to",
    # private, used by casework.sessions, the benches and the tests
    "_alembic_config", "_audit", "_consultation_row", "_now",
]


class Store(TransferMethods, CaseMethods, PlanMethods, RetentionMethods, GapOutcomeMethods, StoreBase):
    """Saved cases. ``Store(url=None)`` uses :func:`resolve_url`. Thread-safe: one store (one
    connection pool) can serve many threads; every method runs in its own transaction.

    Every method acts for someone: the ``actor`` keyword, else the store's own ``actor`` (by default
    :data:`casework.access.LOCAL_OPERATOR`, the command line and the local app). A store made with
    ``actor=None`` (the shared app's) refuses any call that does not say who acts. A case the actor
    may not see is refused with the same message as a case that does not exist; every change, view,
    export and refusal is written to the audit log in the same transaction.
    :meth:`acting` gives a view of the store bound to one actor (what the pages use).
    """
