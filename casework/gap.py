"""The gap in numbers: what is measured, where it stands, where it should be, and by when.

A case may carry an optional structured gap beside its free-text notes: ``{measure, current, target,
unit, by}`` (answers files: a ``gap`` mapping; batch sheets: the columns ``gap_measure``,
``gap_current``, ``gap_target``, ``gap_unit``, ``gap_by``; the store: the ``gap`` column of a case).
Validated with pydantic; every problem names the field.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

GAP_FIELDS = ("measure", "current", "target", "unit", "by")
BATCH_COLUMNS = {f"gap_{k}": k for k in GAP_FIELDS}
MAX_GAP_TEXT = 200


class GapError(ValueError):
    """The gap given is not usable; ``problems`` names each field."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))


class Gap(BaseModel):
    """The performance gap as numbers. ``measure`` is required once any other field is given."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    measure: str = Field(min_length=1, max_length=MAX_GAP_TEXT)
    current: float | None = None
    target: float | None = None
    unit: str = Field(default="", max_length=40)
    by: dt.date | None = None

    @field_validator("current", "target")
    @classmethod
    def _finite(cls, v: float | None) -> float | None:
        if v is not None and not math.isfinite(v):
            raise ValueError("must be a finite number")
        return v

    @property
    def direction(self) -> str | None:
        """``at_least`` when the target is above the current value, ``at_most`` when below."""
        if self.current is None or self.target is None or self.current == self.target:
            return None
        return "at_least" if self.target > self.current else "at_most"

    def reached(self, value: float | None) -> bool | None:
        """Whether ``value`` reaches the target (None when that cannot be told)."""
        if value is None or self.target is None:
            return None
        if self.direction == "at_most":
            return value <= self.target
        return value >= self.target

    def number(self, x: float | None) -> str:
        if x is None:
            return "not known"
        text = f"{x:g}"
        return f"{text} {self.unit}".strip() if self.unit else text

    def sentence(self) -> str:
        """The gap in one line: "First-call resolution: 62 % now, 80 % by 2027-03-31"."""
        parts = [f"{self.number(self.current)} now"]
        if self.target is not None:
            parts.append(f"target {self.number(self.target)}" + (f" by {self.by.isoformat()}" if self.by else ""))
        elif self.by:
            parts.append(f"by {self.by.isoformat()}")
        return f"{self.measure}: " + ", ".join(parts)

    def size(self) -> str:
        """The distance to close, in words ("18 % to gain"), or empty."""
        if self.current is None or self.target is None or self.current == self.target:
            return ""
        diff = abs(self.target - self.current)
        word = "to gain" if self.direction == "at_least" else "to reduce"
        return f"{self.number(diff)} {word}"


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip()) or (isinstance(v, float) and math.isnan(v))


def parse_gap(data: Any, where: str = "gap") -> Gap | None:
    """A :class:`Gap` from a mapping (empty or all-blank: None). Raises :class:`GapError`."""
    if data is None:
        return None
    if isinstance(data, Gap):
        return data
    if not isinstance(data, Mapping):
        raise GapError([f"{where}: must be a mapping with {', '.join(GAP_FIELDS)}, not {type(data).__name__}"])
    clean = {k: (None if _blank(v) else v) for k, v in data.items()}
    if all(v is None for v in clean.values()):
        return None
    clean = {k: v for k, v in clean.items() if v is not None or k in GAP_FIELDS}
    if isinstance(clean.get("by"), dt.datetime):
        clean["by"] = clean["by"].date()
    for k in ("current", "target"):
        if isinstance(clean.get(k), str):
            clean[k] = clean[k].replace(",", "").strip()
    if clean.get("unit") is None:
        clean.pop("unit", None)
    try:
        return Gap.model_validate(clean)
    except ValidationError as exc:
        raise GapError(field_problems(exc, f"{where}.{{field}}: {{msg}}", {
            "missing": "say what is measured when giving numbers for the gap",
            "extra_forbidden": f"unknown field (allowed: {', '.join(GAP_FIELDS)})",
        })) from None


def field_problems(exc: ValidationError, template: str = "{field}: {msg}", messages: Mapping[str, str] | None = None,
                   top: str = "(top)") -> list[str]:
    """pydantic's errors as plain lines naming the field: ``template`` with ``{field}`` (the dotted
    path, ``top`` for the whole object) and ``{msg}`` (pydantic's message, or ``messages[error type]``
    when given)."""
    out = []
    for e in exc.errors():
        field = ".".join(str(x) for x in e["loc"]) or top
        out.append(template.format(field=field, msg=(messages or {}).get(e["type"], e["msg"])))
    return out


def gap_dict(gap: Gap | None) -> dict[str, Any] | None:
    """Plain JSON data for a gap (dates as ISO text), or None."""
    return None if gap is None else gap.model_dump(mode="json")


def from_batch_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """The gap fields found in a batch row (columns ``gap_measure`` … ``gap_by``)."""
    return {field: row[col] for col, field in BATCH_COLUMNS.items() if col in row}
