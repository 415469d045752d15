"""Measures of success (:func:`check_measures`, :func:`parse_target`) and checking a whole plan
before it is stored (:func:`validate_plan`)."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from typing import Any

from casework.plan.templates import (
    DIRECTIONS,
    MAX_PLAN_BYTES,
    MAX_TEXT,
    MEASURE_KEYS,
    PlanError,
    load_templates,
)
from knowledge.schema import INTERVENTION_IDS

# --------------------------------------------------------------------------- measures of success


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def _as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        s = value.strip()
        if not _ISO_DATE.match(s) or (len(s) > 10 and s[10] not in "T "):
            return None
        try:
            return dt.date.fromisoformat(s[:10])
        except ValueError:
            return None
    return None


def _short(text: str, n: int = 40) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"


def check_measures(measures: Any) -> list[str]:
    """What is wrong with a list of measures of success; an empty list means they are fine.

    Each measure needs a ``measure`` (what the person will do), a ``target`` (how well or how often)
    and a ``date`` (YYYY-MM-DD, by when). ``direction``, if given, is ``at_least`` or ``at_most``.
    """
    if measures is None or (isinstance(measures, list) and not measures):
        return ["add at least one measure of success, with a measure, a target and a date"]
    if not isinstance(measures, list):
        return [f"measures must be a list, not {type(measures).__name__}"]
    problems: list[str] = []
    seen: dict[str, int] = {}
    for i, m in enumerate(measures, 1):
        if not isinstance(m, Mapping):
            problems.append(f"measure {i}: expected a measure, a target and a date, not {type(m).__name__}")
            continue
        name = str(m.get("measure") or "").strip()
        label = f"measure {i}" + (f" ('{_short(name)}')" if name else "")
        if not name:
            problems.append(f"{label}: no measure (what will the person do?)")
        if not str(m.get("target") or "").strip():
            problems.append(f"{label}: no target (how well or how often, ideally a number)")
        raw_date = m.get("date")
        if raw_date in (None, "") or (isinstance(raw_date, str) and not raw_date.strip()):
            problems.append(f"{label}: no date (by when)")
        elif _as_date(raw_date) is None:
            problems.append(f"{label}: '{_short(str(raw_date))}' is not a date (write it as YYYY-MM-DD)")
        direction = m.get("direction")
        if direction not in (None, "") and direction not in DIRECTIONS:
            problems.append(f"{label}: direction must be at_least or at_most, not '{_short(str(direction))}'")
        if name:
            key = name.casefold()
            if key in seen:
                problems.append(f"{label}: the same measure as measure {seen[key]}")
            else:
                seen[key] = i
    return problems


_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?")


def parse_target(target: Any, direction: str | None = None) -> tuple[float | None, str]:
    """The threshold in a target (its first number) and whether the value must reach it
    (``at_least``) or stay within it (``at_most``, when the target says so in words from the data)."""
    text = str(target or "")
    cleaned = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)  # 1,000 -> 1000
    m = _NUMBER.search(cleaned)
    number = float(m.group()) if m else None
    if direction in DIRECTIONS:
        return number, direction
    low = text.casefold()
    words = load_templates().monitoring.at_most_words
    return number, ("at_most" if any(w.casefold() in low for w in words) else "at_least")


# --------------------------------------------------------------------------- checking a whole plan


def validate_plan(plan: Any) -> dict[str, Any]:
    """Check the shape of a (possibly edited) plan before it is stored; returns a JSON-clean copy.

    Only the shape is enforced (a mapping with a title and a list of sections; measures as a list of
    mappings of text): incomplete measures are allowed (see :func:`check_measures`), so nothing the
    user wrote is lost. Raises :class:`PlanError` naming each problem.
    """
    if not isinstance(plan, Mapping):
        raise PlanError(f"a plan must be a mapping, not {type(plan).__name__}")
    problems: list[str] = []
    try:
        raw = json.dumps(plan, ensure_ascii=False, default=_json_default, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise PlanError(f"the plan holds something that is not plain data ({exc})") from None
    if len(raw.encode("utf-8")) > MAX_PLAN_BYTES:
        raise PlanError(f"the plan is larger than {MAX_PLAN_BYTES} bytes")
    clean = json.loads(raw)
    iv = clean.get("intervention")
    if iv is not None and iv not in INTERVENTION_IDS:
        problems.append(f"intervention: unknown intervention '{_short(str(iv))}'")
    if not isinstance(clean.get("title", ""), str):
        problems.append("title: must be text")
    sections = clean.get("sections", [])
    if not isinstance(sections, list):
        problems.append("sections: must be a list")
        sections = []
    for i, s in enumerate(sections):
        if not isinstance(s, dict):
            problems.append(f"sections[{i}]: must be a mapping")
            continue
        for key in ("fields", "checklist", "items"):
            if key in s and not isinstance(s[key], list):
                problems.append(f"sections[{i}].{key}: must be a list")
        for j, f in enumerate(s.get("fields") or []):
            if not isinstance(f, dict) or not isinstance(f.get("value", ""), str):
                problems.append(f"sections[{i}].fields[{j}]: value must be text")
            elif len(f.get("value", "")) > MAX_TEXT:
                problems.append(f"sections[{i}].fields[{j}]: longer than {MAX_TEXT} characters")
        for j, it in enumerate(s.get("checklist") or []):
            if not isinstance(it, dict) or not isinstance(it.get("done", False), bool):
                problems.append(f"sections[{i}].checklist[{j}]: 'done' must be true or false")
        for j, it in enumerate(s.get("items") or []):
            if not isinstance(it, dict) or not all(
                isinstance(it.get(k, ""), str) for k in ("action", "owner", "due")
            ):
                problems.append(f"sections[{i}].items[{j}]: action, owner and due must be text")
    measures = clean.get("measures")
    if measures is not None:
        if not isinstance(measures, list):
            problems.append("measures: must be a list")
        else:
            for i, m in enumerate(measures, 1):
                if not isinstance(m, dict):
                    problems.append(f"measure {i}: must be a mapping with measure, target and date")
                    continue
                for k in (*MEASURE_KEYS, "direction", "baseline"):
                    v = m.get(k)
                    if v is not None and not isinstance(v, (str, int, float)):
                        problems.append(f"measure {i}: {k} must be text")
                    elif v is not None and len(str(v)) > MAX_TEXT:
                        problems.append(f"measure {i}: {k} is longer than {MAX_TEXT} characters")
                for k in MEASURE_KEYS:
                    m[k] = "" if m.get(k) is None else str(m[k])
    if problems:
        raise PlanError(problems)
    return clean


def _json_default(obj: Any) -> Any:
    if isinstance(obj, (dt.date, dt.datetime)):
        return obj.isoformat()
    raise TypeError(f"{type(obj).__name__} is not plain data")
