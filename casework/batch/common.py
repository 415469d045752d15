"""What every part of the batch shares: the limits and column names, the errors and messages
about an input file, a sheet's row, and the small cell helpers (spreadsheet safety, blanks)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

from casework.cells import neutralise  # noqa: F401 - re-exported: the batch's name for it
from knowledge.schema import INTERVENTION_IDS

MAX_ROWS = 50_000  # data rows (below the header)
MAX_COLUMNS = 500
CASE_ID = "case_id"
GAP_COLUMNS = ("gap_measure", "gap_current", "gap_target", "gap_unit", "gap_by")  # see casework.gap
OUTPUT_COLUMNS = (  # the plain words first (what a reader looks for), the ids after them
    "headline", "next_step", "because", "confidence_band", "reason", "missing", "safety_alert", "close_call", "errors",
    "primary_label", "status", "primary", "confidence", "secondary", "ruled_out", "cannot_lead",
)
STATUSES = ("complete", "needs_answer", "cannot_recommend", "error")
OUTCOMES = (*INTERVENTION_IDS, "needs_answer", "cannot_recommend", "error")
_LIST_SEP = ";"

Progress = Callable[[int, int], Any]


class BatchError(ValueError):
    """The file cannot be used at all; the message says why, in plain words."""


@dataclass(frozen=True)
class Message:
    """A problem or note about the input. ``level`` is "error" (the row is not triaged) or "warning"."""

    level: str
    text: str
    row: int | None = None
    column: str | None = None

    def __str__(self) -> str:
        where = []
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column}")
        return (", ".join(where) + ": " if where else "") + self.text

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class SheetRow(dict):
    """One data row of a sheet: column -> cell value, plus the row number a spreadsheet shows
    (``line``) and problems found while reading it (``problems``, each naming row and column)."""

    def __init__(self, values: Iterable[tuple[str, Any]] = (), line: int = 0, problems: list[str] | None = None):
        super().__init__(values)
        self.line = line
        self.problems = problems or []

    def __reduce__(self):
        return (SheetRow, (list(self.items()), self.line, list(self.problems)))



# --------------------------------------------------------------------------- cells



def column_letter(index: int) -> str:
    """Spreadsheet letter of a 0-based column index (0 -> A, 26 -> AA)."""
    s = ""
    n = index + 1
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")



def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def _canonical(header: str) -> str:
    return re.sub(r"[\s\-]+", "_", header.strip().lower())
