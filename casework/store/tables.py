"""The tables of the case store (SQLAlchemy 2 models). The schema itself is made and changed by the
Alembic migrations in ``casework/migrations``; a test checks the two agree."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


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
    outcome: Mapped[str | None] = mapped_column(sa.String(20))  # see casework.closing.OUTCOMES
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
