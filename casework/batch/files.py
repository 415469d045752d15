"""Reading an input file into rows of cells: the bytes (a path, bytes or a file object, within the
size limit), CSV text (its encoding and separator), and workbooks (.xlsx/.xlsm, .xls, .ods) read by
python-calamine after the sizes and the grid they declare are checked."""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
import zipfile
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, BinaryIO

import python_calamine as pc

from casework.batch.common import MAX_COLUMNS, BatchError, Message, _one_line, column_letter

MAX_BYTES = 20 * 1024 * 1024  # a file larger than this is refused
MAX_GRID_CELLS = 10_000_000  # rows x columns a workbook sheet may span (from A1 to its farthest cell)


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
