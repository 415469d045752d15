"""Batch triage: a spreadsheet of cases (CSV or Excel) in, one result per row and a summary out.

One row is a case, one column per question id, an optional ``case_id`` column; any other column
(team, site, ...) is carried through. Each row is validated on its own: a bad value or a duplicate
case id is reported in that row's ``errors`` cell, naming the row and the column as a spreadsheet
shows them (the header is row 1), and every good row is still triaged. A file that cannot be used
at all (empty, binary, too big, no header ...) raises :class:`BatchError` with a plain message.

Results are exactly those of :func:`rules.consult.consult` for each row: the same answer
normaliser, the same adaptive walk (:mod:`rules.evaluate`), the plain-Python firing that is
tested equal to the experta engine, the same settlement (:mod:`rules.settle`) and the same
``ruled_out`` logic (a :class:`~rules.consult.Consultation` is built from the settled result).
Speed comes from caching identical answer rows and, for many distinct rows, worker processes.

Public API: :func:`read_table`, :func:`triage_rows`, :func:`write_table`, :func:`summarise`,
:func:`make_template`, :func:`output_columns`, :func:`sample_rows`; for pandas, :func:`triage_frame`.

Workbooks (.xlsx, .xls, .ods) are read with python-calamine and written with xlsxwriter.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import io
import itertools
import os
import random
import re
import secrets
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, BinaryIO

from knowledge.schema import INTERVENTION_IDS

MAX_BYTES = 20 * 1024 * 1024  # a file larger than this is refused
MAX_ROWS = 50_000  # data rows (below the header)
MAX_COLUMNS = 500
MAX_CELL_CHARS = 32_767  # what one spreadsheet cell can hold
MAX_GRID_CELLS = 10_000_000  # rows x columns a workbook sheet may span (from A1 to its farthest cell)
CASE_ID = "case_id"
GAP_COLUMNS = ("gap_measure", "gap_current", "gap_target", "gap_unit", "gap_by")  # see casework.gap
OUTPUT_COLUMNS = (  # the plain words first (what a reader looks for), the ids after them
    "headline", "next_step", "because", "confidence_band", "reason", "missing", "safety_alert", "close_call", "errors",
    "primary_label", "status", "primary", "confidence", "secondary", "ruled_out", "cannot_lead",
)
STATUSES = ("complete", "needs_answer", "cannot_recommend", "error")
OUTCOMES = (*INTERVENTION_IDS, "needs_answer", "cannot_recommend", "error")
POOL_MIN_KEYS = 2_000  # fewer distinct answer rows than this are triaged in-process
IN_MEMORY_ROWS = 10_000  # results .xlsx of up to this many rows are written in xlsxwriter's faster in-memory mode
CHUNK_KEYS = 500  # distinct answer rows per worker task
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
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


# --------------------------------------------------------------------------- spreadsheet safety


def neutralise(value: Any) -> Any:
    """A text cell that a spreadsheet would run as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


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


# --------------------------------------------------------------------------- reading


def _load_bytes(source: str | os.PathLike | bytes | bytearray | BinaryIO, name: str | None) -> tuple[bytes, str]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        name = name or "uploaded file"
    elif hasattr(source, "read"):
        data = source.read(MAX_BYTES + 1)  # type: ignore[union-attr]
        name = name or getattr(source, "name", None) or "uploaded file"
    else:
        path = Path(source)  # type: ignore[arg-type]
        name = name or path.name
        try:
            if path.is_dir():
                raise BatchError(f"{name}: is a folder, not a file")
            size = path.stat().st_size
        except FileNotFoundError:
            raise BatchError(f"{name}: no such file") from None
        except PermissionError:
            raise BatchError(f"{name}: permission denied") from None
        if size > MAX_BYTES:
            raise BatchError(_too_big(name, size))
        try:
            with open(path, "rb") as fh:
                data = fh.read(MAX_BYTES + 1)
        except OSError as exc:
            raise BatchError(f"{name}: cannot be read ({exc.strerror or exc})") from None
    if len(data) > MAX_BYTES:
        raise BatchError(_too_big(name, len(data)))
    return data, str(name)


def _too_big(name: str, size: int) -> str:
    return (
        f"{name}: the file is {size / 1024 / 1024:.1f} MB; the limit is {MAX_BYTES // 1024 // 1024} MB. "
        "Split it into smaller files."
    )


def _decode(data: bytes, name: str, messages: list[Message]) -> str:
    """Text of a CSV file: UTF-8 (with or without BOM), UTF-16 with BOM, else Windows-1252 with a warning."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise BatchError(f"{name}: starts like UTF-16 text but cannot be read as UTF-16") from None
    if b"\x00" in data[:65536]:
        raise BatchError(
            f"{name}: this is a binary file, not a CSV text file or an .xlsx workbook. "
            "Save the sheet as CSV (UTF-8) or as an Excel .xlsx workbook."
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            raise BatchError(
                f"{name}: the text is neither UTF-8 nor Windows-1252 (unreadable byte at position {exc.start}). "
                "Save the sheet as 'CSV UTF-8'."
            ) from None
        messages.append(
            Message(
                "warning",
                f"{name}: the file is not UTF-8, so it was read as Windows-1252 (cp1252). Check accented "
                "letters in the results; saving the sheet as 'CSV UTF-8' avoids this.",
            )
        )
    sample = text[:65536]
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\t\r\n\f")
    if sample and controls > max(3, len(sample) // 100):
        raise BatchError(
            f"{name}: this is a binary file, not a CSV text file. "
            "Save the sheet as CSV (UTF-8) or as an Excel .xlsx workbook."
        )
    return text


def _sniff_delimiter(text: str) -> str:
    first = next((line for line in text[:65536].splitlines() if line.strip()), "")
    counts = {d: first.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _csv_records(data: bytes, name: str, messages: list[Message]) -> Iterator[list[Any]]:
    text = _decode(data, name, messages)
    if not text.strip():
        raise BatchError(f"{name}: the file is empty")
    delimiter = _sniff_delimiter(text)
    hint = re.match(r"sep=(.)\r?\n", text)  # Excel's "sep=;" first line, which Excel does not show as a row
    if hint:
        delimiter, text = hint.group(1), text[hint.end():]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        yield from reader
    except csv.Error as exc:
        raise BatchError(f"{name}: row {reader.line_num}: the CSV cannot be read ({exc})") from None


# Workbooks are read by python-calamine (the Rust calamine library): .xlsx/.xlsm, .xls and .ods.
# Before calamine unpacks a zip-based workbook, the sizes its parts declare and (.xlsx) the grid its
# cells span are checked; the rows then become Python values one at a time, so reading stops at the
# row limit. The only sheet XML this module still looks at is that cell-reference scan (see _check_zip).

_ZIP_MAX_UNPACKED = 512 * 1024 * 1024  # bytes a zip-based workbook may unpack to
_KINDS = {"xlsx": "Excel .xlsx workbook", "xls": "old Excel .xls workbook", "ods": "OpenDocument .ods spreadsheet"}


def _workbook_kind(data: bytes, name: str) -> str:
    """'xlsx', 'ods' or 'xls' for a workbook (by its content), '' for text."""
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        return "xls"
    if not data.startswith(b"PK\x03\x04"):
        return ""
    if b"mimetypeapplication/vnd.oasis.opendocument.spreadsheet" in data[:200] or name.lower().endswith(".ods"):
        return "ods"
    return "xlsx"


def _unreadable(name: str, kind: str, why: str) -> BatchError:
    return BatchError(
        f"{name}: not a readable {_KINDS[kind]} ({why}). "
        "Open it in a spreadsheet and save it again as .xlsx, or save it as CSV."
    )


def _check_zip(data: bytes, name: str, kind: str) -> None:
    """Refuse a zip-based workbook that would unpack to too much, or (.xlsx) whose cells span a
    larger grid than :data:`MAX_GRID_CELLS`: calamine allocates the whole bounding box of the cells
    at once, and an allocation that fails aborts the process (a 10 KB file with one cell in A1 and
    one in XFD1048576 asks for 512 GB). The cell references are found by a pattern over the sheet
    parts, read in blocks; reading the values is left to calamine."""
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
            unpacked = sum(i.file_size for i in infos)
            if unpacked > _ZIP_MAX_UNPACKED:
                raise BatchError(
                    f"{name}: the workbook unpacks to {unpacked / 1024 / 1024:,.0f} MB; at most "
                    f"{_ZIP_MAX_UNPACKED // 1024 // 1024} MB are read. Save it as CSV or split it."
                )
            if kind != "xlsx":
                return
            for info in infos:
                if info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml"):
                    rows, cols = _grid_of(zf, info)
                    if rows * cols > MAX_GRID_CELLS:
                        raise BatchError(
                            f"{name}: a sheet has cells as far as row {rows:,}, column {column_letter(cols - 1)}; "
                            f"a sheet of at most {MAX_GRID_CELLS:,} cells is read. Delete the "
                            "stray cells far from the table, or save the sheet as CSV."
                        )
    except BatchError:
        raise
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, KeyError) as exc:
        raise _unreadable(name, kind, f"the zip container is damaged: {type(exc).__name__}") from None


# <row r="12"> and <c r="AB12">: the row and the column of each reference. Written with a space
# before r=, as every writer does, the patterns are found by a fast literal search; a part with
# another white-space character there is read with the general patterns.
_REF_PATTERNS = {
    True: (re.compile(rb' r="[A-Z]{0,3}([0-9]{1,7})"'), re.compile(rb' r="([A-Z]{1,3})[0-9]')),
    False: (re.compile(rb'\sr="[A-Z]{0,3}([0-9]{1,7})"'), re.compile(rb'\sr="([A-Z]{1,3})[0-9]')),
}
_OTHER_SPACE_R = re.compile(rb'[\t\r\n]r="')


def _grid_of(zf, info) -> tuple[int, int]:
    """(last row, last column), 1-based, that the cells of one sheet part reach."""
    rows: set[bytes] = set()
    cols: set[bytes] = set()
    tail = b""
    with zf.open(info) as fh:
        while block := fh.read(1 << 22):
            chunk = tail + block
            row_ref, col_ref = _REF_PATTERNS[_OTHER_SPACE_R.search(chunk) is None]
            rows.update(row_ref.findall(chunk))
            cols.update(col_ref.findall(chunk))
            tail = chunk[-32:]
    last_col = 0
    for letters in cols:
        c = 0
        for ch in letters:
            c = c * 26 + ch - 64
        last_col = max(last_col, c)
    return max(map(int, rows), default=0), max(last_col, 1)


def _sheet_records(data: bytes, name: str, kind: str, messages: list[Message]) -> Iterator[list[Any]]:
    """Rows of the sheet named ``cases`` (else the first sheet) as lists of cell values, from A1 on."""
    import python_calamine as pc

    if kind != "xls":
        _check_zip(data, name, kind)
    try:
        wb = pc.CalamineWorkbook.from_filelike(io.BytesIO(data))
    except pc.PasswordError:
        raise BatchError(f"{name}: the workbook is protected by a password; save a copy without one") from None
    except Exception as exc:  # noqa: BLE001 - calamine names the problem in its own exception types
        raise _unreadable(name, kind, _one_line(f"{type(exc).__name__}: {exc}")[:200]) from None
    try:
        sheets = wb.sheets_metadata
        if not sheets:
            raise BatchError(f"{name}: the workbook has no sheets")
        meta = next((s for s in sheets if s.name.strip().lower() == "cases"), sheets[0])
        if len(sheets) > 1 and meta.name.strip().lower() != "cases":
            messages.append(
                Message("warning", f"{name}: the workbook has {len(sheets)} sheets; only the first, '{meta.name}', was read")
            )
        if meta.typ != pc.SheetTypeEnum.WorkSheet:
            raise BatchError(f"{name}: the sheet '{meta.name}' is a chart, not a table")
        try:
            sheet = wb.get_sheet_by_name(meta.name)
        except Exception as exc:  # noqa: BLE001
            raise BatchError(f"{name}: the sheet '{meta.name}' cannot be read ({type(exc).__name__}: {exc})") from None
    finally:
        wb.close()
    if sheet.width > MAX_COLUMNS:
        raise BatchError(f"{name}: the file has {sheet.width:,} columns; at most {MAX_COLUMNS} are read")
    start = sheet.start or (0, 0)
    rows, cols = start[0] + sheet.height, start[1] + sheet.width
    if rows * cols > MAX_GRID_CELLS:  # .ods and .xls: their repeated rows and cells are known only now
        raise BatchError(
            f"{name}: the sheet spans {rows:,} rows and {cols:,} columns; a sheet of at most "
            f"{MAX_GRID_CELLS:,} cells is read. Delete the stray cells far from the table, or save it as CSV."
        )
    lead = [""] * sheet.start[1] if sheet.start else []  # rows come padded from row 1, not from column A
    for values in sheet.iter_rows():  # one row at a time: a file over the row limit stops early
        yield [*lead, *(v if v.__class__ is str else _xlsx_value(v) for v in values)]


def _xlsx_value(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return int(v)
    if isinstance(v, (datetime, date, time)):
        return v.isoformat()
    if isinstance(v, (str, int, float, bool)):
        return v
    return str(v)


# --------------------------------------------------------------------------- reading: the header and rows


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def _canonical(header: str) -> str:
    return re.sub(r"[\s\-]+", "_", header.strip().lower())


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
    from rules.model import load_rulebase

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


# --------------------------------------------------------------------------- triage


@dataclass(frozen=True)
class Outcome:
    status: str
    primary: str | None
    confidence: float | None
    secondary: tuple[str, ...]
    ruled_out: tuple[str, ...]
    reason: str
    safety_alert: bool
    cannot_lead: tuple[str, ...] = ()
    summary: tuple[tuple[str, str], ...] = ()  # the result's plain summary, as batch cells
    missing: tuple[str, ...] = ()  # needs_answer: the questions still open on the row's path

    def cells(self, rb) -> dict[str, str]:
        """The result columns of a row, for people: labels beside ids, confidence as a whole
        percentage, empty cells empty (never "None")."""
        name = rb.knowledge.interventions
        return {
            "status": self.status,
            "primary": self.primary or "",
            "primary_label": name[self.primary].name if self.primary else "",
            "confidence": "" if self.confidence is None else f"{self.confidence:.0%}",
            "secondary": _LIST_SEP.join(self.secondary),
            "ruled_out": _LIST_SEP.join(self.ruled_out),
            "cannot_lead": _LIST_SEP.join(self.cannot_lead),
            **dict(self.summary),
            "reason": self.reason,
            "missing": _LIST_SEP.join(self.missing),
            "safety_alert": "yes" if self.safety_alert else "",
            "errors": "",
        }


def headline(result: Mapping[str, Any], rb=None) -> str:
    """One line saying what the result is: the consultation's own ``summary.headline`` when the
    result has a summary, else a short line made from its status and primary.

    ``result`` is a consultation's :meth:`~rules.consult.Consultation.to_dict` or any mapping with
    ``status``, ``primary`` (``{intervention}``), ``secondary`` and ``cannot_recommend`` /
    ``next_question`` as that gives them.
    """
    summary = result.get("summary")
    line = summary.get("headline") if isinstance(summary, Mapping) else getattr(summary, "headline", None)
    if line:
        return _one_line(line)
    if rb is None:
        from rules.model import load_rulebase

        rb = load_rulebase()
    names = rb.knowledge.interventions
    status = result.get("status")
    if status == "complete" and result.get("primary"):
        iv = result["primary"]["intervention"]
        also = [names[s["intervention"]].name for s in result.get("secondary") or []]
        return f"Recommended: {names[iv].name}" + (f", with {' and '.join(also)}" if also else "")
    cannot = result.get("cannot_recommend")
    if status == "cannot_recommend" and cannot:
        lean = cannot.get("lean")
        return f"Cannot recommend yet: {_one_line(cannot['label'])}" + (
            f" (the answers lean to {names[lean].name})" if lean in names else ""
        )
    if status == "needs_answer" and result.get("next_question"):
        return f"More answers needed, next: {_one_line(result['next_question']['text'])}"
    return ""


def _reason(rb, c, missing: Sequence[str] = ()) -> str:
    """One line: the primary's strongest rule rationale, the gate advice, or the next question."""
    if c.status == "needs_answer":
        q = c.next_question
        more = len(missing) - 1
        also = f"; {more} more open on this row's path (see missing)" if more > 0 else ""
        return f"next question: {q.id} ({_one_line(q.text)}){also}"
    if c.status == "cannot_recommend":
        g = rb.gates[c.gate]
        if c.gate == "check_first":
            lean = f" (leaning to {rb.knowledge.interventions[c.lean].name})" if c.lean else ""
            return _one_line(f"{g.label}{lean}: " + "; ".join(x["what"] for x in c.checks(rb)))
        return _one_line(f"{g.label}. {g.advice}")
    steps = c.settled.evidence.get(c.primary) or []
    if not steps:
        return ""
    best = max(steps, key=lambda s: s.cf)  # first of the strongest
    rule = rb.by_id[best.rule]
    return _one_line(rule.rationale) or rule.id


def _outcome(rb, comp, clean: Mapping[str, str], cache: dict, dont_know: bool = False) -> Outcome:
    """The result for one row of normalised answers, as consult() gives it (the same reading of
    answers saved before ``concern``, the same walk, settlement and safety level). With
    ``dont_know``, every question the row leaves open on its path is answered "don't know"."""
    from knowledge.schema import DONT_KNOW
    from rules.consult import SEVERAL, Consultation, conclude, read_legacy, safety_level
    from rules.settle import settle

    given, legacy = read_legacy(clean)
    w = comp.walk(given, fill=DONT_KNOW if dont_know else None)
    safety = safety_level(clean)
    key = (frozenset(w.accepted.items()), safety, legacy is not None)
    hit = cache.get(key)
    if hit is not None:
        return hit
    fired, findings = comp.fire(w.accepted)
    nq = rb.knowledge.question(w.next_question) if w.next_question else None
    if nq is not None and SEVERAL in findings:
        nq = nq.for_group()  # worded for a group, as consult() asks it
    overturns: list = []
    if nq is None:
        st, overturns = conclude(rb, w.accepted, fired)
    else:
        st = settle(rb, fired, w.accepted)
    c = Consultation(
        status="needs_answer" if nq is not None else st.status,
        answers=dict(w.accepted),
        ignored={},
        next_question=nq,
        fired=fired,
        trace=[],
        findings=sorted(findings),
        settled=st,
        rulebase_version=rb.version,
        stopped_by=w.stopped_by,
        overturns=overturns,
        legacy=legacy,
        safety=safety,
    )
    d = c.to_dict(rb)
    sm = d["summary"]
    missing = tuple(d["missing"])
    out = Outcome(
        status=c.status,
        primary=c.primary,
        confidence=c.confidence,
        secondary=tuple(c.secondary),
        ruled_out=tuple(r["intervention"] for r in d["ruled_out"]),
        reason=_reason(rb, c, missing),
        missing=missing,
        safety_alert=c.safety_alert,
        cannot_lead=tuple(r["intervention"] for r in d["cannot_lead"]),
        summary=(
            ("confidence_band", (d["primary"] or {}).get("confidence_band") or ""),
            ("headline", _one_line(sm["headline"])),
            ("because", _one_line(" ".join(sm["because"]))),
            ("next_step", _one_line(sm["next_step"])),
            ("close_call", _one_line(sm["decides"]) if sm["close_call"] else ""),
        ),
    )
    cache[key] = out
    return out


def _work_chunk(keys: list[tuple[tuple[str, str], ...]], dont_know: bool = False) -> list[Outcome]:
    """Worker-process task: outcomes for a chunk of distinct answer rows."""
    from rules.evaluate import compiled
    from rules.model import load_rulebase

    rb = load_rulebase()
    comp = compiled(rb)
    cache = _WORKER_CACHE.setdefault((rb.version, dont_know), {})  # lives as long as the worker process
    return [_outcome(rb, comp, dict(k), cache, dont_know) for k in keys]


_WORKER_CACHE: dict[tuple[str, bool], dict] = {}


def _normalise_cell(rb, qid: str, raw: Any) -> tuple[str | None, str | None]:
    """(value, None) or (None, problem) for one answer cell, by the consult() normaliser."""
    from rules.consult import AnswerError, normalise_answers

    if not isinstance(raw, (str, bool)):
        raw = str(raw)
    elif isinstance(raw, str) and raw.strip().lower() in ("true", "false"):
        # a spreadsheet's TRUE/FALSE cell saved as CSV text: read it as the boolean it was
        if {"yes", "no"} <= set(rb.knowledge.question(qid).option_values()):
            raw = raw.strip().lower() == "true"
    if isinstance(raw, str):  # the label the app shows is accepted as well as the value
        raw = _labels(rb).get((qid, _label_key(raw)), raw)
    try:
        return normalise_answers({qid: raw}, rb)[qid], None
    except AnswerError as exc:
        problem = "; ".join(exc.problems)
        prefix = f"{qid}: "
        return None, problem[len(prefix):] if problem.startswith(prefix) else problem


def _label_key(text: str) -> str:
    return " ".join(text.replace("\u2019", "'").casefold().split())


_LABELS: dict[str, dict[tuple[str, str], str]] = {}


def _labels(rb) -> dict[tuple[str, str], str]:
    """(question id, label as typed) -> option value, for every question (per rule-base version)."""
    table = _LABELS.get(rb.version)
    if table is None:
        table = _LABELS[rb.version] = {
            (q.id, _label_key(o.label)): o.value for q in rb.knowledge.questions for o in q.options
        }
    return table


class _CallbackFailed(Exception):
    """The progress callback raised (its exception is the cause); not a failure of the pool."""


def _mp_context():
    import multiprocessing

    # fork is fast, but forking a process that runs other threads (a Streamlit server) is unsafe
    if "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def triage_rows(
    rows: Sequence[Mapping[str, Any]], progress: Progress | None = None, workers: int = 1,
    empty_as_dont_know: bool = False,
) -> list[dict[str, Any]]:
    """Triage each row: the row's own columns plus ``status``, ``primary`` (id) and ``primary_label``,
    ``confidence`` (a whole percentage, "93%") and ``confidence_band`` (high / moderate / low),
    ``secondary``, ``ruled_out`` and ``cannot_lead`` (semicolon-joined ids), the plain summary
    (``headline``, ``because``, ``next_step``, ``close_call`` — what would decide a near tie, else
    empty), ``reason``, ``missing`` (for a row that needs more answers: every question still open on
    its path, semicolon-joined, as the path would go if each were answered "don't know"),
    ``safety_alert`` and ``errors``. Cells without a value are empty strings.

    ``empty_as_dont_know``: a question the row leaves blank (or has no column for) is answered
    "don't know" wherever the path reaches it, so every row is finished (complete or cannot
    recommend yet) — what a reader who knows no more than the sheet would answer.

    A row with a problem (a value not among the options, a duplicate case id, a problem found while
    reading it) gets status ``error`` and the problems in ``errors``; the other rows are triaged.
    ``progress(done, total)`` is called as rows are done (counting rows), first with done=0 and last
    with done=total. ``workers`` > 1 uses that many processes when there are many distinct rows
    (forked when the caller runs a single thread; otherwise spawned, which re-imports the caller's
    main module: guard it with ``if __name__ == "__main__"``). Should the pool fail, the rows are
    triaged in this process.
    """
    from rules.model import load_rulebase

    rb = load_rulebase()
    outcomes, errors = _triage(rows, progress, workers, empty_as_dont_know)
    out_rows: list[dict[str, Any]] = []
    for i, (row, o, problems) in enumerate(zip(rows, outcomes, errors, strict=True)):
        d = dict(row)
        if o is None:
            d.update({c: "" for c in OUTPUT_COLUMNS}, status="error", errors="; ".join(problems))
        else:
            d.update(o.cells(rb))
        gap_problems = _gap_problems(row, getattr(row, "line", 0) or i + 2)
        if gap_problems:  # the result stands (the answers are fine); the gap's problems are named
            d["errors"] = "; ".join(x for x in (d.get("errors"), *gap_problems) if x)
        out_rows.append(d)
    if progress:
        progress(len(rows), len(rows))
    return out_rows


def _gap_problems(row: Mapping[str, Any], line: int) -> list[str]:
    """The problems of a row's gap columns (``gap_measure`` … ``gap_by``; see casework.gap)."""
    from casework.gap import BATCH_COLUMNS, GapError, from_batch_row, parse_gap

    if not any(c in BATCH_COLUMNS for c in row):
        return []
    try:
        parse_gap(from_batch_row(row), f"row {line}, gap")
    except GapError as exc:
        return exc.problems
    return []


def _triage(
    rows: Sequence[Mapping[str, Any]], progress: Progress | None, workers: int, dont_know: bool = False
) -> tuple[list[Outcome | None], list[list[str]]]:
    """(the outcome of each row, or None for a row with problems; the problems of each row)."""
    from rules.evaluate import compiled
    from rules.model import load_rulebase

    rb = load_rulebase()
    comp = compiled(rb)
    qindex = rb.knowledge.question_index
    total = len(rows)
    if progress:
        progress(0, total)

    memo: dict[tuple, tuple[str | None, str | None]] = {}
    first_line: dict[str, int] = {}
    row_key: list[frozenset | None] = [None] * total
    errors: list[list[str]] = [[] for _ in range(total)]
    by_key: dict[frozenset, int] = {}  # distinct answer rows -> how many rows have them
    for i, row in enumerate(rows):
        line = getattr(row, "line", 0) or i + 2
        problems = errors[i]
        problems.extend(getattr(row, "problems", ()))
        clean: dict[str, str] = {}
        for col, raw in row.items():
            if col in qindex:
                if _blank(raw):
                    continue
                mk = (col, raw.__class__, raw)
                hit = memo.get(mk)
                if hit is None:
                    hit = memo[mk] = _normalise_cell(rb, col, raw)
                value, problem = hit
                if problem:
                    problems.append(f"row {line}, column {col}: {problem}")
                elif value is not None:
                    clean[col] = value
            elif col == CASE_ID and not _blank(raw):
                cid = str(raw).strip()
                if cid in first_line:
                    problems.append(f"row {line}, column {CASE_ID}: duplicate case id '{cid}' (first on row {first_line[cid]})")
                else:
                    first_line[cid] = line
        if not problems:
            key = frozenset(clean.items())
            row_key[i] = key
            by_key[key] = by_key.get(key, 0) + 1

    done = total - sum(by_key.values())  # rows with errors are done already
    results: dict[frozenset, Outcome] = {}
    keys = list(by_key)
    step = max(50, len(keys) // 100)
    pooled = False
    if workers > 1 and len(keys) >= POOL_MIN_KEYS:
        try:
            from concurrent.futures import ProcessPoolExecutor, as_completed

            chunks = [keys[j : j + CHUNK_KEYS] for j in range(0, len(keys), CHUNK_KEYS)]
            with ProcessPoolExecutor(max_workers=workers, mp_context=_mp_context()) as ex:
                futures = {ex.submit(_work_chunk, [tuple(k) for k in ch], dont_know): ch for ch in chunks}
                for fut in as_completed(futures):
                    ch = futures[fut]
                    for k, out in zip(ch, fut.result(), strict=True):
                        results[k] = out
                    done += sum(by_key[k] for k in ch)
                    if progress:
                        try:
                            progress(done, total)
                        except Exception as exc:
                            raise _CallbackFailed from exc
            pooled = True
        except _CallbackFailed as exc:  # the caller's own error: theirs to see
            raise exc.__cause__ from None
        except Exception:  # noqa: BLE001 - a failed pool must not lose the batch: finish in-process
            pooled = False
    if not pooled:
        cache: dict = {}
        for j, k in enumerate(keys, 1):
            if k not in results:
                results[k] = _outcome(rb, comp, dict(k), cache, dont_know)
                done += by_key[k]
            if progress and j % step == 0:
                progress(min(done, total), total)

    return [None if k is None else results[k] for k in row_key], errors


FRAME_COLUMNS = ("status", "primary", "primary_label", "confidence", "secondary", "ruled_out", "summary",
                 "missing", "safety_alert", "errors")


def triage_frame(df, progress: Progress | None = None, workers: int = 1, empty_as_dont_know: bool = False):
    """Triage a pandas DataFrame of cases: one result row per input row, in the same order and with
    the same index.

    The columns named after question ids (``gap_defined`` ..., or spelt as a spreadsheet header
    such as ``Gap Defined``) are the answers; missing values (NaN, None, empty text) are
    unanswered. Every input column is carried through unchanged; an input column with the name of
    a result column is renamed ``input_<name>``. Added: ``status`` (complete, needs_answer,
    cannot_recommend, or error for a row with a bad value), ``primary`` (intervention id; missing,
    as pandas shows it, without one), ``primary_label``, ``confidence`` (float, NaN without a primary), ``secondary`` and
    ``ruled_out`` (lists of intervention ids), ``summary`` (one line, see :func:`headline`),
    ``missing`` (list of question ids still open on the path of a row that needs more answers, see
    :func:`triage_rows`), ``safety_alert`` (bool) and ``errors`` (the problems of an error row, else ""). The results are
    those of :func:`rules.consult.consult` on each row's answers. ``empty_as_dont_know=True`` takes
    missing values as "don't know" (every row is finished; see :func:`triage_rows`).
    """
    import pandas as pd

    from rules.model import load_rulebase

    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"triage_frame() takes a pandas DataFrame, not {type(df).__name__}")
    rb = load_rulebase()
    qids = rb.knowledge.question_index
    names = rb.knowledge.interventions
    answer_col: dict[Any, str] = {}  # input column -> question id (or case_id)
    for col in df.columns:
        canon = _canonical(str(col))
        if (canon in qids or canon == CASE_ID) and canon not in answer_col.values():
            answer_col[col] = canon
    cells = df[list(answer_col)].astype(object).where(df[list(answer_col)].notna(), "")
    rows = [SheetRow(zip(answer_col.values(), values, strict=True), line=i + 2) for i, values in
            enumerate(cells.itertuples(index=False, name=None))]
    outcomes, errors = _triage(rows, progress, workers, empty_as_dont_know)
    if progress:
        progress(len(rows), len(rows))

    out = df.rename(columns={c: f"input_{c}" for c in df.columns if c in FRAME_COLUMNS})
    out["status"] = [o.status if o else "error" for o in outcomes]
    out["primary"] = [o.primary if o else None for o in outcomes]
    out["primary_label"] = [names[o.primary].name if o and o.primary else None for o in outcomes]
    out["confidence"] = pd.Series([o.confidence if o else None for o in outcomes], index=df.index, dtype=float)
    out["secondary"] = [list(o.secondary) if o else [] for o in outcomes]
    out["ruled_out"] = [list(o.ruled_out) if o else [] for o in outcomes]
    out["summary"] = ""
    out["missing"] = [list(o.missing) if o else [] for o in outcomes]
    out["safety_alert"] = [bool(o and o.safety_alert) for o in outcomes]
    out["errors"] = [
        "" if o else "; ".join(m.replace(f"row {i + 2}, ", f"index {label!r}, ", 1) for m in p)
        for i, (label, o, p) in enumerate(zip(df.index, outcomes, errors, strict=True))
    ]
    out["summary"] = [_frame_summary(o, rb) if o else "Not triaged: " + e for o, e in zip(outcomes, out["errors"], strict=True)]
    return out


def _frame_summary(o: Outcome, rb) -> str:
    """The consultation's summary headline (kept in the outcome), or one made from status and primary."""
    return headline(
        {
            "summary": {"headline": dict(o.summary).get("headline")},
            "status": o.status,
            "primary": {"intervention": o.primary} if o.primary else None,
            "secondary": [{"intervention": iv} for iv in o.secondary],
        },
        rb,
    )


def row_messages(results: Iterable[Mapping[str, Any]]) -> list[str]:
    """Every problem reported in the ``errors`` cells, one per entry."""
    out = []
    for r in results:
        if r.get("errors"):
            out.extend(str(r["errors"]).split("; row "))
    return [m if m.startswith("row ") else "row " + m for m in out]


def output_columns(columns: Sequence[str]) -> list[str]:
    """The columns of a results table: the case id, the result columns (plain words first), then the
    other input columns (the answers by question id last)."""
    lead = [CASE_ID] if CASE_ID in columns else []
    return lead + list(OUTPUT_COLUMNS) + [c for c in columns if c not in OUTPUT_COLUMNS and c != CASE_ID]


# --------------------------------------------------------------------------- writing

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
    import xlsxwriter

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


# --------------------------------------------------------------------------- summary


def outcome_of(row: Mapping[str, Any]) -> str:
    """The primary intervention of a complete row, else its status."""
    status = row.get("status") or "error"
    return row.get("primary") or status if status == "complete" else status


def summarise(results: Sequence[Mapping[str, Any]], group_by: str | None = None) -> dict[str, Any]:
    """Counts over the triaged rows: per status, per primary intervention, per outcome (the primary
    of complete rows, else the status), secondary and ruled-out mentions, safety alerts; with
    ``group_by`` a crosstab of outcome per value of that column (blank values as "(blank)")."""
    if group_by is not None and results and group_by not in results[0]:
        raise BatchError(
            f"no column named '{group_by}' to group by; the columns are "
            + ", ".join(c for c in results[0] if c not in OUTPUT_COLUMNS)
        )
    by_status = dict.fromkeys(STATUSES, 0)
    by_primary = dict.fromkeys(INTERVENTION_IDS, 0)
    by_outcome = dict.fromkeys(OUTCOMES, 0)
    secondary = dict.fromkeys(INTERVENTION_IDS, 0)
    ruled_out = dict.fromkeys(INTERVENTION_IDS, 0)
    groups: dict[str, dict[str, int]] = {}
    safety = 0
    for r in results:
        status = r.get("status") or "error"
        by_status[status] = by_status.get(status, 0) + 1
        outcome = outcome_of(r)
        if outcome in by_primary:
            by_primary[outcome] += 1
        by_outcome[outcome] = by_outcome.get(outcome, 0) + 1
        for iv in filter(None, str(r.get("secondary") or "").split(_LIST_SEP)):
            secondary[iv] = secondary.get(iv, 0) + 1
        for iv in filter(None, str(r.get("ruled_out") or "").split(_LIST_SEP)):
            ruled_out[iv] = ruled_out.get(iv, 0) + 1
        if r.get("safety_alert"):
            safety += 1
        if group_by is not None:
            g = r.get(group_by)
            g = "(blank)" if _blank(g) else str(g).strip()
            counts = groups.setdefault(g, dict.fromkeys(OUTCOMES, 0))
            counts[outcome] = counts.get(outcome, 0) + 1
    return {
        "rows": len(results),
        "by_status": by_status,
        "by_primary": by_primary,
        "by_outcome": by_outcome,
        "secondary": secondary,
        "ruled_out": ruled_out,
        "safety_alerts": safety,
        "group_by": group_by,
        "groups": {g: {"rows": sum(groups[g].values()), "by_outcome": groups[g]} for g in sorted(groups)},
    }


def summary_rows(summary: Mapping[str, Any]) -> list[list[Any]]:
    """The summary as a table (header first): one row per outcome, a column per group if grouped."""
    groups = summary.get("groups") or {}
    names = list(groups)
    head = ["outcome", "rows", *names]
    out: list[list[Any]] = [head]
    for o in OUTCOMES:
        out.append([o, summary["by_outcome"].get(o, 0), *(groups[g]["by_outcome"].get(o, 0) for g in names)])
    out.append(["total", summary["rows"], *(groups[g]["rows"] for g in names)])
    return out


def format_summary(summary: Mapping[str, Any]) -> str:
    """The summary as plain text for a terminal."""
    n = summary["rows"] or 1
    lines = [f"{summary['rows']:,} rows"]
    for o in OUTCOMES:
        c = summary["by_outcome"].get(o, 0)
        if c:
            lines.append(f"  {o:<22}{c:>8,}  {c / n:6.1%}")
    if summary["safety_alerts"]:
        lines.append(f"  possible risk of harm: {summary['safety_alerts']:,} rows (safety_alert = yes): act on these first")
    if summary.get("group_by"):
        lines.append(f"by {summary['group_by']}:")
        for g, d in summary["groups"].items():
            parts = ", ".join(f"{o} {c:,}" for o, c in d["by_outcome"].items() if c)
            lines.append(f"  {g}: {d['rows']:,} rows ({parts})")
    return "\n".join(lines)


# --------------------------------------------------------------------------- template


def make_template(fmt: str = "csv") -> bytes:
    """An empty batch file: ``case_id``, every question id and the optional gap columns
    (``gap_measure``, ``gap_current``, ``gap_target``, ``gap_unit``, ``gap_by``) as the header row.

    The .xlsx template has a drop-down of the allowed values in each question column and a second
    sheet, ``questions``, listing each question's text, allowed values and their labels (a label, as
    the app shows it, is accepted in a cell as well as the value), and what each gap column holds.
    """
    from rules.model import load_rulebase

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


# --------------------------------------------------------------------------- example data


def sample_rows(n: int, seed: int = 0, random_share: float = 0.2, extra: bool = True) -> list[dict[str, str]]:
    """``n`` random valid cases for trying the batch and for the benchmark.

    Most rows answer the questions along the adaptive path with random options (as a person
    answering the questions would); ``random_share`` of them fill random questions at random.
    With ``extra``, each row gets a ``case_id`` and a ``team`` column.
    """
    from rules.evaluate import compiled
    from rules.model import load_rulebase

    rb = load_rulebase()
    kb = rb.knowledge
    comp = compiled(rb)
    rng = random.Random(seed)
    options = {q.id: q.option_values() for q in kb.questions}
    teams = ["north", "south", "east", "west", "central"]
    rows = []
    for i in range(n):
        answers: dict[str, str] = {}
        if rng.random() < random_share:
            for qid, opts in options.items():
                if rng.random() < 0.6:
                    answers[qid] = rng.choice(opts)
        else:
            while True:
                nq = comp.walk(answers).next_question
                if nq is None:
                    break
                answers[nq] = rng.choice(options[nq])
        row: dict[str, str] = {}
        if extra:
            row[CASE_ID] = f"C{i + 1:06d}"
            row["team"] = rng.choice(teams)
        row.update(answers)
        rows.append(row)
    return rows


def rows_to_csv(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None) -> bytes:
    """Plain rows (e.g. from :func:`sample_rows`) as the bytes of a batch CSV with every question column."""
    from rules.model import load_rulebase

    if columns is None:
        qids = [q.id for q in load_rulebase().knowledge.questions]
        seen: dict[str, None] = {}
        for r in rows:
            for c in r:
                if c not in qids:
                    seen.setdefault(c, None)
        columns = [*seen, *qids]
    return table_bytes(rows, columns, "csv")


def worked_case_rows() -> list[dict[str, str]]:
    """The worked cases of the knowledge base as batch rows (case_id = the case id)."""
    from knowledge.loader import load_knowledge

    return [{CASE_ID: c.id, **c.answers} for c in load_knowledge().cases]


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
        from rules.model import load_rulebase

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
