"""Closing a case: the outcomes a case can close with and the closing date, checked. The store
records them (``Store.close_case``); :mod:`casework.outcomes` counts them across cases."""

from __future__ import annotations

import datetime as dt
from typing import Any

OUTCOMES = ("closed", "partly", "not_closed", "stopped")
OUTCOME_LABELS = {
    "closed": "Gap closed",
    "partly": "Partly closed",
    "not_closed": "Not closed",
    "stopped": "Stopped",
}


class OutcomeError(ValueError):
    """An outcome or a closing date that cannot be used; the message names it."""


def check_outcome(outcome: Any, on: Any = None, today: dt.date | None = None) -> tuple[str, dt.date]:
    """The outcome and closing date checked: ``outcome`` one of :data:`OUTCOMES` (labels and
    spaces or dashes accepted, e.g. "not closed"), ``on`` a date or YYYY-MM-DD (default today, not in
    the future)."""
    today = today or dt.date.today()
    text = str(outcome or "").strip().lower().replace(" ", "_").replace("-", "_")
    by_label = {v.lower().replace(" ", "_"): k for k, v in OUTCOME_LABELS.items()}
    value = text if text in OUTCOMES else by_label.get(text)
    if value is None:
        shown = str(outcome)[:30]
        raise OutcomeError(f"outcome '{shown}' is not one of {', '.join(OUTCOMES)}")
    if on is None or (isinstance(on, str) and not on.strip()):
        day = today
    elif isinstance(on, dt.datetime):
        day = on.date()
    elif isinstance(on, dt.date):
        day = on
    else:
        try:
            day = dt.date.fromisoformat(str(on).strip()[:10])
        except ValueError:
            raise OutcomeError(f"closing date '{str(on)[:30]}' is not a date (use YYYY-MM-DD)") from None
    if day > today:
        raise OutcomeError(f"closing date {day.isoformat()} is in the future")
    return value, day
