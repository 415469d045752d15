"""The header and the rows of a file of cases: question columns found (and renamed to their
question id), carried columns kept, each row's own problems named by row and column."""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterator
from typing import Any, BinaryIO

from casework.batch.common import (
    CASE_ID,
    GAP_COLUMNS,
    MAX_COLUMNS,
    MAX_ROWS,
    OUTPUT_COLUMNS,
    BatchError,
    Message,
    SheetRow,
    _blank,
    _canonical,
    _plural,
    column_letter,
)
from casework.batch.files import _KINDS, _csv_records, _load_bytes, _sheet_records, _workbook_kind
from rules.model import load_rulebase


def _row_list(numbers: list[int], limit: int = 10) -> str:
    shown = ", ".join(str(n) for n in numbers[:limit])
    return shown + (f" and {len(numbers) - limit:,} more" if len(numbers) > limit else "")


def read_table(
    source: str | os.PathLike | bytes | bytearray | BinaryIO, name: str | None = None
) -> tuple[list[SheetRow], list[str], list[Message]]:
    """Read a CSV, .xlsx/.xlsm, .xls or .ods file of cases: (rows, columns, messages).

    ``source`` is a path, the file's bytes or a binary file object; ``name`` (the file name) picks
    the format together with the content and is used in messages. Question columns are renamed to
    their question id (``Gap Defined`` -> ``gap_defined``). ``messages`` holds warnings about the
    file (misspelt columns, encoding, short rows); problems of single rows are in each row's
    ``problems``. Raises :class:`BatchError` when the file cannot be used at all.
    """
    data, name = _load_bytes(source, name)
    messages: list[Message] = []
    lower = name.lower()
    if not data.strip():
        raise BatchError(f"{name}: the file is empty")
    kind = _workbook_kind(data, name)
    is_csv = not kind
    if kind:
        records: Iterator[list[Any]] = _sheet_records(data, name, kind, messages)
    elif lower.endswith((".xlsx", ".xlsm", ".xls", ".ods")):
        what = _KINDS["ods" if lower.endswith(".ods") else "xls" if lower.endswith(".xls") else "xlsx"]
        raise BatchError(f"{name}: not a readable {what} (the content is not a workbook)")
    else:
        records = _csv_records(data, name, messages)

    qids = load_rulebase().knowledge.question_index
    header_raw = next(records, None)
    if header_raw is not None and all(_blank(v) for v in header_raw):
        raise BatchError(
            f"{name}: no header row: row 1 is empty. Row 1 must hold the column names "
            "(case_id and the question ids); download the template to start from."
        )
    if header_raw is None:
        raise BatchError(f"{name}: the file is empty")
    header = [str(v).strip() if not _blank(v) else "" for v in header_raw]
    while header and not header[-1] and len(header) > MAX_COLUMNS:
        header.pop()
    if len(header) > MAX_COLUMNS:
        raise BatchError(f"{name}: the file has {len(header):,} columns; at most {MAX_COLUMNS} are read")

    columns: list[str] = []
    used: dict[str, int] = {}  # name -> 0-based column index
    unnamed: list[str] = []
    question_cols = 0
    for i, raw in enumerate(header):
        letter = column_letter(i)
        col = raw or f"column_{letter}"
        if not raw:
            unnamed.append(col)
        canon = _canonical(col)
        if canon in qids or canon == CASE_ID:
            if col != canon:
                messages.append(Message("warning", f"column {letter} '{raw}' is read as {canon}"))
            col = canon
        elif col in OUTPUT_COLUMNS:
            new = "input_" + col
            messages.append(
                Message("warning", f"column {letter} '{col}' has the name of a result column; it is carried through as '{new}'")
            )
            col = new
        if col in used:
            base, k = col, 2
            while f"{base} ({k})" in used:
                k += 1
            new = f"{base} ({k})"
            first = column_letter(used[base])
            what = " the answers are read from column " + first + ";" if base in qids else ""
            messages.append(
                Message("warning", f"column {letter} '{raw}' repeats column {first};{what} it is carried through as '{new}'")
            )
            col = new
        elif col in qids:
            question_cols += 1
        elif col != CASE_ID and raw and col not in GAP_COLUMNS:  # gap columns are carried through, checked
            close = difflib.get_close_matches(canon, list(qids), n=1, cutoff=0.8)
            if close:
                messages.append(
                    Message(
                        "warning",
                        f"column {letter} '{raw}' is not a question id; did you mean {close[0]}? "
                        "It is carried through, not read as answers.",
                    )
                )
        used[col] = i
        columns.append(col)

    if question_cols == 0:
        option_words = {v for q in qids.values() for v in q.option_values()}
        looks_like_data = sum(1 for h in header if _canonical(h) in option_words) >= max(1, len(header) // 2)
        hint = (
            "row 1 looks like answers, not a header. " if looks_like_data else ""
        ) + "Row 1 must hold the column names: case_id and question ids such as " + ", ".join(list(qids)[:3])
        raise BatchError(f"{name}: no column is a question id; {hint}. Download the template to start from.")

    ncols = len(columns)
    rows: list[SheetRow] = []
    short_rows: list[int] = []
    extra_cols: dict[str, int] = {}  # workbook columns right of the header that hold values
    width = ncols
    for line, cells in enumerate(records, start=2):
        if not cells or all(_blank(v) for v in cells):
            continue
        if len(rows) >= MAX_ROWS:
            raise BatchError(
                f"{name}: the file has more than {MAX_ROWS:,} rows of cases; split it into smaller files"
            )
        problems: list[str] = []
        if len(cells) > ncols and not is_csv:
            # a workbook cell right of the header: a column without a name, carried through
            for j in range(ncols, len(cells)):
                if not _blank(cells[j]) and f"column_{column_letter(j)}" not in extra_cols:
                    extra_cols[f"column_{column_letter(j)}"] = j
            row = SheetRow(zip(columns, cells[:ncols], strict=True), line=line, problems=problems)
            row.update((c, cells[j]) for c, j in extra_cols.items() if j < len(cells))
            rows.append(row)
            continue
        if len(cells) > ncols:
            extra = cells[ncols:]
            if any(not _blank(v) for v in extra):
                problems.append(
                    f"row {line}: the row has {len(cells)} cells but the header has {ncols} columns; "
                    "a separator inside a value may have shifted the cells, so the row is not triaged"
                )
                width = max(width, len(cells))
            cells = cells[:ncols]
        elif len(cells) < ncols:
            if is_csv:  # a workbook stores no trailing empty cells; a CSV row normally has them all
                short_rows.append(line)
            cells = list(cells) + [""] * (ncols - len(cells))
        row = SheetRow(zip(columns, cells, strict=True), line=line, problems=problems)
        rows.append(row)
    if rows and is_csv:
        last = rows[-1]
        if any(isinstance(v, str) and "\n" in v for v in last.values()) and data.count(b'"') % 2 == 1:
            last.problems.append(
                f"row {last.line}: a quoted cell is never closed, so the rest of the file was read into one cell; "
                "the row is not triaged"
            )
    for col, _j in sorted(extra_cols.items(), key=lambda kv: kv[1]):
        columns.append(col)
        unnamed.append(col)
    for col in unnamed:  # a column without a name: dropped when empty, else carried through
        if all(_blank(r.get(col)) for r in rows):
            columns.remove(col)
            for r in rows:
                r.pop(col, None)
        else:
            messages.append(Message("warning", f"column {col[7:]} has no name in row 1; it is carried through as '{col}'"))
    if short_rows:
        messages.append(
            Message(
                "warning",
                f"{_plural(len(short_rows), 'row')} ({_row_list(short_rows)}) have fewer cells than the header; "
                "the missing cells were read as empty",
            )
        )
    if width > ncols:
        messages.append(Message("warning", "some rows have more cells than the header; they are reported in the errors column"))
    if not rows:
        messages.append(Message("warning", f"{name}: there are no cases below the header"))
    return rows, columns, messages
