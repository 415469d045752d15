"""The audit log: who did what to which case, when, in which role — and never what the case says.

Append-only: the store only ever inserts rows (in the same transaction as the change they record),
and the database itself refuses to change or delete them (triggers made by migration 0003, on
SQLite and PostgreSQL). An entry holds the time, the actor (email or ``local operator``), their
role, the action (one of :data:`ACTIONS`), the case id and a short detail from a fixed vocabulary
(a file format, a retention period, "search", an import's origin: "from case 12, rule base 2026.3" — the
file's case id and rule-base version, letters and digits only) — no title, person, notes, answers or
results.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Mapping
from typing import Any

from casework.cells import neutralise  # the spreadsheet-safety rule of the batch results too

ACTIONS = {
    "create": "created the case",
    "import": "imported the case",
    "view": "opened the case",
    "change": "changed the case details",
    "rediagnose": "re-diagnosed the case",
    "plan": "saved the plan",
    "monitoring": "changed the monitoring log",
    "export": "exported the case",
    "assign": "assigned the case",
    "delete": "deleted the case",
    "purge": "deleted the case: past the retention period",
    "erase": "deleted the case: erasure on request",
    "refused": "was refused the case (not theirs)",
    "sign_in": "signed in",
    "sign_out": "signed out (every session of theirs ended)",
    "list": "listed the cases (detail \"search\": searched them; never what was listed or searched for)",
    "unknown_user": "signed in but is not in the access configuration",
}
CSV_COLUMNS = ("id", "at", "actor", "role", "action", "case_id", "detail")
VIEW_COALESCE = dt.timedelta(minutes=15)  # one "view" entry per actor and case in this window


def entry_dict(row: Any) -> dict[str, Any]:
    """An audit row (``casework.store.AuditRow``) as plain data."""
    at = row.at if row.at.tzinfo else row.at.replace(tzinfo=dt.timezone.utc)
    return {
        "id": row.id,
        "at": at.astimezone(dt.timezone.utc).isoformat(timespec="seconds"),
        "actor": row.actor,
        "role": row.role,
        "action": row.action,
        "case_id": row.case_id,
        "detail": row.detail,
    }


def describe(entry: Mapping[str, Any]) -> str:
    """One line for a person: "2026-12-01 20:15 alice@example.org (team_leader) opened the case"."""
    what = ACTIONS.get(entry["action"], entry["action"])
    detail = f" — {entry['detail']}" if entry.get("detail") else ""
    return f"{entry['at'][:16].replace('T', ' ')} {entry['actor']} ({entry['role']}) {what}{detail}"


def to_csv(entries: Iterable[Mapping[str, Any]]) -> str:
    """The entries as CSV (UTF-8 with BOM for spreadsheets); text cells that a spreadsheet would run
    as a formula get a leading apostrophe."""
    buf = io.StringIO()
    buf.write("\ufeff")
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(CSV_COLUMNS)

    for e in entries:
        w.writerow(["" if e.get(c) is None else neutralise(e.get(c)) for c in CSV_COLUMNS])
    return buf.getvalue()
