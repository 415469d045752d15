"""Writing results: CSV (UTF-8 with BOM) or .xlsx (xlsxwriter) with every text cell neutralised,
written through a temporary file; the empty template a batch starts from."""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import os
import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import xlsxwriter

from casework.batch.common import (
    CASE_ID,
    GAP_COLUMNS,
    MAX_ROWS,
    OUTPUT_COLUMNS,
    BatchError,
    _one_line,
    neutralise,
)
from casework.batch.summary import summary_rows
from rules.model import load_rulebase

MAX_CELL_CHARS = 32_767  # what one spreadsheet cell can hold
IN_MEMORY_ROWS = 10_000  # results .xlsx of up to this many rows are written in xlsxwriter's faster in-memory mode


def output_columns(columns: Sequence[str]) -> list[str]:
    """The columns of a results table: the case id, the result columns (plain words first), then the
    other input columns (the answers by question id last)."""
    lead = [CASE_ID] if CASE_ID in columns else []
    return lead + list(OUTPUT_COLUMNS) + [c for c in columns if c not in OUTPUT_COLUMNS and c != CASE_ID]


_ILLEGAL_XLSX = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")  # not allowed in XML


def _cell_text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return repr(v)
    return str(v)


def _xlsx_text(v: str) -> str:
    """A text cell as a workbook may hold it: no XML-illegal characters, at most 32,767
    characters, neutralised."""
    v = _ILLEGAL_XLSX.sub("", v)
    if len(v) > MAX_CELL_CHARS:
        v = v[: MAX_CELL_CHARS - 1] + "…"
    return neutralise(v)


def _fmt_of(dest: Any, fmt: str | None) -> str:
    if fmt:
        f = fmt.lower().lstrip(".")
    else:
        f = Path(str(getattr(dest, "name", dest))).suffix.lower().lstrip(".")
    if f in ("xlsx", "excel"):
        return "xlsx"
    if f in ("csv", "txt", ""):
        return "csv"
    raise BatchError(f"unknown output format '{f}': use .csv or .xlsx")


def table_bytes(rows: Iterable[Mapping[str, Any]], columns: Sequence[str], fmt: str, summary: dict | None = None) -> bytes:
    """The table as the bytes of a CSV (UTF-8 with BOM, for spreadsheets) or .xlsx file."""
    fmt = _fmt_of(None, fmt)
    if fmt == "csv":
        buf = io.StringIO(newline="")
        w = csv.writer(buf)
        w.writerow([neutralise(c) for c in columns])
        for r in rows:
            w.writerow([neutralise(_cell_text(r.get(c))) for c in columns])
        return codecs.BOM_UTF8 + buf.getvalue().encode("utf-8")

    sheets: list[tuple[str, Sequence[Any], Iterable[Sequence[Any]]]] = [
        ("results", columns, ([r.get(c) for c in columns] for r in rows))
    ]
    if summary is not None:
        head, *body = summary_rows(summary)
        sheets.append(("summary", head, body))
    # xlsxwriter's in-memory mode writes each distinct text once (shared strings), about a quarter
    # faster, but holds every cell until the end (about 4 MB per 1,000 result rows); a larger or
    # unsized table is written in constant memory, row by row
    small = hasattr(rows, "__len__") and len(rows) <= IN_MEMORY_ROWS  # type: ignore[arg-type]
    return _xlsx_bytes(sheets, constant_memory=not small)


def _workbook(out: BinaryIO, constant_memory: bool = True):
    """An xlsxwriter workbook that writes every string as a string: never a formula, a number or a link."""
    return xlsxwriter.Workbook(
        out,
        {
            "constant_memory": constant_memory,  # rows are written out as they come, in order
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
            "nan_inf_to_errors": True,
            "in_memory": not constant_memory,
        },
    )


def _xlsx_bytes(sheets: Sequence[tuple[str, Sequence[Any], Iterable[Sequence[Any]]]], constant_memory: bool = True) -> bytes:
    """A workbook of plain sheets: (title, header, rows), the header in bold with the pane frozen
    below it. Text is neutralised (:func:`neutralise`) and written with ``write_string``."""
    out = io.BytesIO()
    wb = _workbook(out, constant_memory=constant_memory)
    bold = wb.add_format({"bold": True})
    for title, header, rows in sheets:
        ws = wb.add_worksheet(title[:31])
        ws.freeze_panes(1, 0)
        ws.set_column(0, max(0, len(header) - 1), 16)
        put_s, put_n, put_b = ws.write_string, ws.write_number, ws.write_boolean
        text: dict[str, str] = {}  # cell values repeat a lot (ids, answers, statuses)
        for r, values in enumerate(itertools.chain([header], rows)):
            style = bold if r == 0 else None
            for j, v in enumerate(values):
                if v is None or v == "":
                    continue  # no cell at all: smaller files, faster to read
                if v.__class__ is str:
                    t = text.get(v)
                    if t is None:
                        t = text[v] = _xlsx_text(v)
                    put_s(r, j, t, style)
                elif isinstance(v, bool):
                    put_b(r, j, v, style)
                elif isinstance(v, (int, float)) and v == v and v not in (float("inf"), float("-inf")):
                    put_n(r, j, v, style)
                else:
                    put_s(r, j, _xlsx_text(_cell_text(v)), style)
    wb.close()
    return out.getvalue()


def write_table(
    rows: Iterable[Mapping[str, Any]],
    columns: Sequence[str],
    dest: str | os.PathLike | BinaryIO,
    fmt: str | None = None,
    summary: dict | None = None,
) -> None:
    """Write the results as CSV or .xlsx (``fmt``, else from the file name) to a path or binary buffer.

    Every text cell that a spreadsheet would run as a formula is neutralised (leading apostrophe).
    A path is written to a temporary file first and then renamed, so a failure leaves no half file.
    With ``summary`` (from :func:`summarise`) an .xlsx file gets a second sheet with the counts.
    """
    write_bytes(table_bytes(rows, columns, _fmt_of(dest, fmt), summary), dest)


def write_bytes(data: bytes, dest: str | os.PathLike | BinaryIO) -> None:
    """Write ``data`` to a binary buffer, or to a path through a temporary file and a rename."""
    if hasattr(dest, "write"):
        dest.write(data)  # type: ignore[union-attr]
        return
    path = Path(dest)  # type: ignore[arg-type]
    try:
        mode: int | None = path.stat().st_mode & 0o777
    except OSError:
        mode = None  # a new file: the usual permissions (umask)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise BatchError(f"{path}: cannot be written ({exc.strerror or exc})") from None
        raise


# --------------------------------------------------------------------------- template


def make_template(fmt: str = "csv") -> bytes:
    """An empty batch file: ``case_id``, every question id and the optional gap columns
    (``gap_measure``, ``gap_current``, ``gap_target``, ``gap_unit``, ``gap_by``) as the header row.

    The .xlsx template has a drop-down of the allowed values in each question column and a second
    sheet, ``questions``, listing each question's text, allowed values and their labels (a label, as
    the app shows it, is accepted in a cell as well as the value), and what each gap column holds.
    """
    kb = load_rulebase().knowledge
    columns = [CASE_ID, *(q.id for q in kb.questions), *GAP_COLUMNS]
    fmt = _fmt_of(None, fmt)
    if fmt == "csv":
        return table_bytes([], columns, "csv")

    out = io.BytesIO()
    wb = _workbook(out, constant_memory=False)  # validations and column widths are set after the cells
    bold = wb.add_format({"bold": True})
    ws = wb.add_worksheet("cases")
    ws.write_row(0, 0, columns, bold)
    ws.freeze_panes(1, 1)
    ws.set_column(0, 0, 14)
    for i, q in enumerate(kb.questions, start=1):
        ws.set_column(i, i, max(12, len(q.id) + 2))
        values = q.option_values()
        ws.data_validation(
            1, i, MAX_ROWS, i,
            {
                "validate": "list",
                "source": values,
                "ignore_blank": True,
                "error_title": q.id[:32],
                "error_message": ("Choose one of: " + ", ".join(values))[:255],
            },
        )
    qs = wb.add_worksheet("questions")
    qs.write_row(0, 0, ["question id", "stage", "question", "allowed values", "meaning of the values", "help"], bold)
    for r, q in enumerate(kb.questions, start=1):
        qs.write_row(r, 0, [
            q.id,
            q.stage,
            _one_line(q.text),
            ", ".join(q.option_values()),
            "; ".join(f"{o.value} = {o.label}" for o in q.options),
            _one_line(q.help),
        ])
    gap_help = {
        "gap_measure": "what is measured (e.g. first-call resolution)",
        "gap_current": "where it stands now (a number)",
        "gap_target": "where it should be (a number)",
        "gap_unit": "the unit (e.g. %, calls a day)",
        "gap_by": "by when (YYYY-MM-DD)",
    }
    for r, col in enumerate(GAP_COLUMNS, start=len(kb.questions) + 1):
        qs.write_row(r, 0, [col, "gap (optional)", gap_help[col], "", "", "The gap in numbers; a measure is needed "
                            "once any other gap column is filled in."])
    for j, width in enumerate((24, 14, 70, 36, 80, 80)):
        qs.set_column(j, j, width)
    wb.close()
    return out.getvalue()
