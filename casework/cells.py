"""Spreadsheet safety for every table the tool writes (the batch results, the audit log's CSV): a text
cell a spreadsheet would run as a formula is written as plain text. A module of its own, so that a
writer of one table does not load the batch package (pandas, the rule base) to use it."""

from __future__ import annotations

from typing import Any

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """A text cell that a spreadsheet would run as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value
