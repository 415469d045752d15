"""Case ids are never given twice; the server-side sign-in sessions.

- SQLite gave a deleted case's id to the next new case (a table without ``AUTOINCREMENT`` takes the
  largest id + 1), so the new case's "History of this case" showed the earlier case's owner and
  actions. The ``cases`` table is rebuilt with ``AUTOINCREMENT`` (Alembic's batch mode: new table,
  copy, drop, rename; the store runs SQLite migrations with foreign keys off, as SQLite's documented
  procedure for a table rebuild asks, and checks them afterwards), and the id counter starts above
  every id a case or an audit entry has ever named. PostgreSQL's sequence never goes back; it is
  moved above any id the audit log names all the same.
- ``sessions``: one row per sign-in (the identity cookie's ID token), checked on every run of the
  app, ended by a sign-out, a role removal, the ID token's expiry or the idle timeout
  (:mod:`casework.sessions`). No case content; the subject is the signed-in email.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 00:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HIGHEST = "SELECT max(n) FROM (SELECT max(id) AS n FROM cases UNION ALL SELECT max(case_id) FROM audit_log) AS ids"


def upgrade() -> None:
    bind = op.get_bind()
    highest = bind.exec_driver_sql(HIGHEST).scalar() or 0
    if bind.dialect.name == "sqlite":
        with op.batch_alter_table("cases", recreate="always", table_kwargs={"sqlite_autoincrement": True}):
            pass
        bind.exec_driver_sql("DELETE FROM sqlite_sequence WHERE name = 'cases'")
        bind.exec_driver_sql("INSERT INTO sqlite_sequence (name, seq) VALUES ('cases', ?)", (int(highest),))
    elif highest:
        bind.exec_driver_sql(
            "SELECT setval(pg_get_serial_sequence('cases', 'id'), "
            f"GREATEST({int(highest)}, (SELECT last_value FROM {_pg_sequence(bind)})))"
        )
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("subject", sa.String(320), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_why", sa.String(20), nullable=False, server_default=""),
        sa.Column("role", sa.String(20), nullable=False, server_default=""),
    )
    op.create_index("ix_sessions_subject", "sessions", ["subject"])


def _pg_sequence(bind) -> str:  # noqa: ANN001
    name = bind.exec_driver_sql("SELECT pg_get_serial_sequence('cases', 'id')").scalar()
    return str(name)


def downgrade() -> None:
    # the cases table keeps AUTOINCREMENT: revision 0003 works the same with it, and a rebuild here
    # would run under whatever foreign-key setting the caller's connection has
    op.drop_index("ix_sessions_subject", table_name="sessions")
    op.drop_table("sessions")
