"""One batch from file to results: :func:`run_batch` reads a file and triages every row into a
:class:`BatchRun`."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from casework.batch.common import OUTPUT_COLUMNS, Message, Progress
from casework.batch.reading import read_table
from casework.batch.summary import summarise
from casework.batch.triage import triage_rows
from casework.batch.writing import output_columns
from rules.model import load_rulebase


@dataclass
class BatchRun:
    """Everything one batch produced: input columns, result rows, messages and the summary."""

    name: str
    columns: list[str]
    results: list[dict[str, Any]]
    messages: list[Message] = field(default_factory=list)

    @property
    def out_columns(self) -> list[str]:
        return output_columns(self.columns)

    def summary(self, group_by: str | None = None) -> dict[str, Any]:
        return summarise(self.results, group_by)

    def carried_columns(self) -> list[str]:
        """Input columns that are neither question ids nor results (e.g. team): what one can group by."""
        qids = load_rulebase().knowledge.question_index
        return [c for c in self.columns if c not in qids and c not in OUTPUT_COLUMNS]

    def error_count(self) -> int:
        return sum(1 for r in self.results if r.get("status") == "error")

    def counts(self) -> Counter:
        return Counter(r.get("status") for r in self.results)


def run_batch(
    source: str | os.PathLike | bytes | BinaryIO, name: str | None = None, progress: Progress | None = None,
    workers: int = 1, empty_as_dont_know: bool = False,
) -> BatchRun:
    """Read a file and triage every row (raises :class:`BatchError` when the file is unusable);
    ``empty_as_dont_know`` as in :func:`triage_rows`."""
    if name is None and isinstance(source, (str, os.PathLike)):
        name = Path(source).name
    rows, columns, messages = read_table(source, name)
    results = triage_rows(rows, progress=progress, workers=workers, empty_as_dont_know=empty_as_dont_know)
    return BatchRun(name=name or "uploaded file", columns=columns, results=results, messages=messages)
