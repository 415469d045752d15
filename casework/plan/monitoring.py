"""Monitoring: an entry checked (:func:`normalise_entry`), the follow-up that fits a plan, the
events of instruction, and progress against each measure (:func:`progress`)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from casework.gap import field_problems
from casework.plan.measures import _as_date, _short, parse_target
from casework.plan.templates import MAX_TEXT, N_EVENTS, PlanError, load_templates
from rules.model import RuleBase, load_rulebase

# --------------------------------------------------------------------------- monitoring


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    date: dt.date
    kind: Literal["measure", "session", "follow_up"] = "measure"
    measure: str = Field(default="", max_length=MAX_TEXT)
    value: float | None = None
    note: str = Field(default="", max_length=MAX_TEXT)
    events: list[int] = []


def normalise_entry(entry: Any) -> dict[str, Any]:
    """Check one monitoring entry and return it in a canonical form.

    A ``measure`` entry: ``date``, ``measure`` (the measure it records), ``value`` (a number),
    optional ``note``. A ``session`` entry: ``date``, ``events`` (the events of instruction done in
    the session, numbers 1-8, or eight true/false ticks), optional ``note``. Raises :class:`PlanError`.
    """
    if not isinstance(entry, Mapping):
        raise PlanError(f"a monitoring entry must be a mapping, not {type(entry).__name__}")
    data = dict(entry)
    data.pop("id", None)
    data.pop("created_at", None)
    problems: list[str] = []
    value = data.get("value")
    if isinstance(value, bool):
        problems.append("value: must be a number, not true/false")
    elif isinstance(value, str):
        text = value.strip().rstrip("%").strip().replace(",", ".") if value.strip() else ""
        if not text:
            data["value"] = None
        else:
            try:
                data["value"] = float(text)
            except ValueError:
                problems.append(f"value: '{_short(value)}' is not a number")
    if isinstance(data.get("value"), float) and not math.isfinite(data["value"]):
        problems.append("value: must be a finite number")
    events = data.get("events")
    if isinstance(events, list) and events and all(isinstance(e, bool) for e in events):
        if len(events) != N_EVENTS:
            problems.append(f"events: {len(events)} ticks given, expected {N_EVENTS}")
        data["events"] = [i for i, ticked in enumerate(events, 1) if ticked]
    if isinstance(data.get("date"), str):
        data["date"] = data["date"].strip()[:10]
    if data.get("measure") is None:
        data["measure"] = ""
    if data.get("note") is None:
        data["note"] = ""
    if problems:
        raise PlanError(problems)
    try:
        e = _Entry.model_validate(data)
    except ValidationError as exc:
        raise PlanError(field_problems(exc, top="entry")) from None
    if e.kind == "measure":
        if not e.measure.strip():
            problems.append("measure: say which measure this value is for")
        if e.value is None:
            problems.append("value: a number is needed for a measure entry")
    elif e.kind == "follow_up":
        if not e.note.strip():
            problems.append("note: say what happened")
    else:
        bad = [x for x in e.events if not 1 <= x <= N_EVENTS]
        if bad:
            problems.append(f"events: {bad} are not event numbers 1-{N_EVENTS}")
    if problems:
        raise PlanError(problems)
    return {
        "date": e.date.isoformat(),
        "kind": e.kind,
        "measure": e.measure.strip() if e.kind == "measure" else "",
        "value": e.value if e.kind == "measure" else None,
        "note": e.note,
        "events": sorted(set(e.events)) if e.kind == "session" else [],
    }


def follow_up_for(plan: Mapping[str, Any] | None) -> dict[str, str] | None:
    """The follow-up entry that fits a plan's intervention ({label, prompt}), from the plan or, for a
    plan saved before it had one, from its template; None for coaching (sessions) and gates."""
    if not isinstance(plan, Mapping):
        return None
    if isinstance(plan.get("follow_up"), Mapping):
        return {k: str(plan["follow_up"].get(k) or "") for k in ("label", "prompt")}
    tpl = load_templates().plans.get(plan.get("intervention") or "")
    return tpl.follow_up.model_dump() if tpl and tpl.follow_up else None


def event_titles(rb: RuleBase | None = None) -> list[str]:
    """The titles of the eight events of instruction, from the knowledge data."""
    rb = rb or load_rulebase()
    return [s.title for s in rb.knowledge.processes["events_of_instruction"].steps]


def progress(
    plan: Mapping[str, Any] | None, entries: list[Mapping[str, Any]], today: dt.date | None = None
) -> dict[str, Any]:
    """Progress against each measure of success, and what the coaching sessions covered.

    For each measure of the plan: the recorded values over time, the latest value, whether the target
    is met (``None`` when the target has no number or nothing is recorded), whether the review date
    has passed, a ``state`` (met | review_passed | on_track | no_values | no_number) and the feedback
    message for that state from ``knowledge/plans.yaml`` (recognise achievement, or further coaching).
    Entries for measures not in the plan are listed under ``unmatched``.
    """
    today = today or dt.date.today()
    texts = load_templates().monitoring
    titles = event_titles()
    clean = []
    for e in entries:
        try:
            clean.append(normalise_entry(e))
        except PlanError:
            continue  # stored entries were validated when saved; skip anything malformed
    clean.sort(key=lambda e: e["date"])
    measures = [m for m in (plan or {}).get("measures") or [] if isinstance(m, Mapping)]
    out_measures = []
    matched: set[int] = set()
    for m in measures:
        name = str(m.get("measure") or "").strip()
        if not name:
            continue
        number, direction = parse_target(m.get("target"), m.get("direction"))
        values = []
        for idx, e in enumerate(clean):
            if e["kind"] == "measure" and e["measure"].casefold() == name.casefold():
                matched.add(idx)
                values.append({"date": e["date"], "value": e["value"], "note": e["note"]})
        latest = values[-1]["value"] if values else None
        met: bool | None = None
        if number is not None and latest is not None:
            met = latest >= number if direction == "at_least" else latest <= number
        review = _as_date(m.get("date"))
        passed = review is not None and today > review
        if met:
            state = "met"
        elif not values:
            state = "review_passed" if passed else "no_values"
        elif number is None:
            state = "no_number"
        elif passed:
            state = "review_passed"
        else:
            state = "on_track"
        out_measures.append(
            {
                "measure": name,
                "target": str(m.get("target") or ""),
                "target_value": number,
                "direction": direction,
                "date": review.isoformat() if review else str(m.get("date") or ""),
                "values": values,
                "latest": latest,
                "met": met,
                "review_passed": passed,
                "state": state,
                "message": getattr(texts, state).strip(),
            }
        )
    unmatched = [
        {"date": e["date"], "measure": e["measure"], "value": e["value"], "note": e["note"]}
        for idx, e in enumerate(clean)
        if e["kind"] == "measure" and idx not in matched
    ]
    sessions = []
    for e in clean:
        if e["kind"] != "session":
            continue
        done = [titles[i - 1] for i in e["events"]]
        missing = [t for i, t in enumerate(titles, 1) if i not in e["events"]]
        sessions.append(
            {
                "date": e["date"],
                "events": e["events"],
                "done": done,
                "missing": missing,
                "complete": not missing,
                "note": e["note"],
                "message": "" if not missing else texts.session_incomplete.strip(),
            }
        )
    return {
        "today": today.isoformat(),
        "measures": out_measures,
        "unmatched": unmatched,
        "sessions": sessions,
        "follow_ups": [{"date": e["date"], "note": e["note"]} for e in clean if e["kind"] == "follow_up"],
    }
