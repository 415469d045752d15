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
:func:`make_template`, :func:`output_columns`, :func:`sample_rows`.
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
CASE_ID = "case_id"
OUTPUT_COLUMNS = (
    "status", "primary", "primary_label", "confidence", "confidence_band", "secondary", "ruled_out", "cannot_lead",
    "headline", "because", "next_step", "close_call", "reason", "safety_alert", "errors",
)
STATUSES = ("complete", "needs_answer", "cannot_recommend", "error")
OUTCOMES = (*INTERVENTION_IDS, "needs_answer", "cannot_recommend", "error")
POOL_MIN_KEYS = 2_000  # fewer distinct answer rows than this are triaged in-process
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


def _xlsx_records(data: bytes, name: str, messages: list[Message]) -> Iterator[list[Any]]:
    """Rows of the first sheet (or the one named ``cases``) as lists of cell values."""
    notes: list[Message] = []
    try:
        records = _fast_xlsx_records(data, name, notes)
    except BatchError:
        raise
    except Exception:  # noqa: BLE001 - anything unusual: let openpyxl read it (slower, or it names the problem)
        yield from _openpyxl_records(data, name, messages)
        return
    messages.extend(notes)
    yield from records


def _openpyxl_records(data: bytes, name: str, messages: list[Message]) -> Iterator[list[Any]]:
    import zipfile

    try:
        from openpyxl import load_workbook

        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError, IndexError) as exc:
        raise BatchError(
            f"{name}: not a readable Excel .xlsx workbook ({type(exc).__name__}). "
            "Open it in a spreadsheet and save it again as .xlsx, or save it as CSV."
        ) from None
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds on damaged files
        raise BatchError(f"{name}: not a readable Excel .xlsx workbook ({type(exc).__name__}: {exc})") from None
    try:
        sheets = wb.worksheets
        if not sheets:
            raise BatchError(f"{name}: the workbook has no sheets")
        ws = next((s for s in sheets if s.title.strip().lower() == "cases"), sheets[0])
        if len(sheets) > 1 and ws.title.strip().lower() != "cases":
            messages.append(Message("warning", f"{name}: the workbook has {len(sheets)} sheets; only the first, '{ws.title}', was read"))
        if not hasattr(ws, "iter_rows"):
            raise BatchError(f"{name}: the sheet '{ws.title}' is a chart, not a table")
        try:
            for values in ws.iter_rows(min_row=1, values_only=True):
                yield [_xlsx_value(v) for v in values]
        except BatchError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise BatchError(f"{name}: the sheet '{ws.title}' cannot be read ({type(exc).__name__}: {exc})") from None
    finally:
        wb.close()


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


# --------------------------------------------------------------------------- fast .xlsx reading and writing
#
# openpyxl reads a cell in about 30 microseconds and writes one in about 10; a batch of 10,000 rows
# has half a million cells. The sheet XML is therefore read with the expat parser straight into
# lists, and written as strings. Workbook structure, shared strings and date styles follow the
# Office Open XML spreadsheet format (ECMA-376 part 1, section 18) as openpyxl reads them; anything
# this reader does not understand falls back to openpyxl. Tests check both readers agree.

_XLSX_MAX_UNPACKED = 512 * 1024 * 1024  # bytes of sheet XML read at most (a "zip bomb" guard)
_NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_NS_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"


class _FallBack(Exception):
    """The fast reader met something it does not handle; openpyxl reads the file instead."""


def _local(tag: str) -> str:
    return tag.rpartition("}")[2].rpartition(":")[2]


def _zip_path(base: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    parts = [p for p in (base.rpartition("/")[0] + "/" + target).split("/") if p and p != "."]
    out: list[str] = []
    for p in parts:
        if p == "..":
            if out:
                out.pop()
        else:
            out.append(p)
    return "/".join(out)


def _rels(zf, path: str) -> dict[str, tuple[str, str]]:
    """Relationships of a part: id -> (type, target path inside the zip)."""
    import xml.etree.ElementTree as ET

    folder, _, file = path.rpartition("/")
    rel_path = (folder + "/" if folder else "") + "_rels/" + file + ".rels"
    try:
        root = ET.fromstring(zf.read(rel_path))
    except KeyError:
        return {}
    out = {}
    for el in root:
        if _local(el.tag) == "Relationship":
            target = el.get("Target", "")
            if el.get("TargetMode") == "External":
                continue
            out[el.get("Id", "")] = (el.get("Type", ""), _zip_path(path, target))
    return out


def _expat(handlers: dict, stream, limit: int = _XLSX_MAX_UNPACKED, each: Callable[[], None] | None = None) -> None:
    import xml.parsers.expat

    p = xml.parsers.expat.ParserCreate()
    p.buffer_text = True

    def no_dtd(*_a):
        raise _FallBack("document type declarations are not expected in a workbook")

    p.StartDoctypeDeclHandler = no_dtd
    p.EntityDeclHandler = no_dtd
    for k, v in handlers.items():
        setattr(p, k, v)
    read = 0
    while True:
        chunk = stream.read(1 << 20)
        if not chunk:
            break
        read += len(chunk)
        if read > limit:
            raise BatchError("the workbook is too large once unpacked; save it as CSV or split it")
        p.Parse(chunk, False)
        if each:
            each()
    p.Parse(b"", True)
    if each:
        each()


def _shared_strings(zf, path: str | None) -> list[str]:
    if not path:
        return []
    out: list[str] = []
    parts: list[str] = []
    state = {"t": False, "rph": 0}

    def start(name, attrs):
        n = _local(name)
        if n == "si":
            parts.clear()
        elif n == "t" and not state["rph"]:
            state["t"] = True
        elif n == "rPh":
            state["rph"] += 1

    def end(name):
        n = _local(name)
        if n == "si":
            out.append("".join(parts))
        elif n == "t":
            state["t"] = False
        elif n == "rPh":
            state["rph"] -= 1

    def text(data):
        if state["t"]:
            parts.append(data)

    with zf.open(path) as fh:
        _expat({"StartElementHandler": start, "EndElementHandler": end, "CharacterDataHandler": text}, fh)
    return out


def _date_styles(zf, path: str | None) -> tuple[set[int], set[int]]:
    """Indexes of cell formats that show a date (and of those, a duration)."""
    import xml.etree.ElementTree as ET

    from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format, is_timedelta_format

    if not path:
        return set(), set()
    root = ET.fromstring(zf.read(path))
    custom = {}
    xfs: list[int] = []
    for el in root:
        n = _local(el.tag)
        if n == "numFmts":
            for f in el:
                custom[int(f.get("numFmtId", "-1"))] = f.get("formatCode", "")
        elif n == "cellXfs":
            xfs = [int(x.get("numFmtId", "0")) for x in el if _local(x.tag) == "xf"]
    dates, durations = set(), set()
    for i, fid in enumerate(xfs):
        code = custom.get(fid, BUILTIN_FORMATS.get(fid))
        if code and is_date_format(code):
            dates.add(i)
            if is_timedelta_format(code):
                durations.add(i)
    return dates, durations


def _column_index(ref: str) -> int:
    n = 0
    for ch in ref:
        o = ord(ch)
        if 65 <= o <= 90:
            n = n * 26 + o - 64
        elif 97 <= o <= 122:
            n = n * 26 + o - 96
        else:
            break
    return n - 1


def _fast_xlsx_records(data: bytes, name: str, messages: list[Message]) -> list[list[Any]]:
    import xml.etree.ElementTree as ET
    import zipfile

    from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900, from_excel

    zf = zipfile.ZipFile(io.BytesIO(data))
    root_rels = _rels(zf, "")
    wb_path = next((t for typ, t in root_rels.values() if typ.endswith("/officeDocument")), "xl/workbook.xml")
    wb = ET.fromstring(zf.read(wb_path))
    wb_rels = _rels(zf, wb_path)
    epoch = CALENDAR_WINDOWS_1900
    sheets: list[tuple[str, str]] = []
    for el in wb.iter():
        n = _local(el.tag)
        if n == "workbookPr" and el.get("date1904") in ("1", "true"):
            epoch = CALENDAR_MAC_1904
        elif n == "sheet":
            rid = el.get(f"{{{_NS_REL}}}id") or next((v for k, v in el.attrib.items() if _local(k) == "id"), "")
            sheets.append((el.get("name", ""), rid))
    if not sheets:
        raise BatchError(f"{name}: the workbook has no sheets")
    title, rid = next((s for s in sheets if s[0].strip().lower() == "cases"), sheets[0])
    if len(sheets) > 1 and title.strip().lower() != "cases":
        messages.append(Message("warning", f"{name}: the workbook has {len(sheets)} sheets; only the first, '{title}', was read"))
    typ, sheet_path = wb_rels.get(rid, ("", ""))
    if typ.endswith("/chartsheet"):
        raise BatchError(f"{name}: the sheet '{title}' is a chart, not a table")
    if not typ.endswith("/worksheet") or sheet_path not in zf.namelist():
        raise _FallBack("sheet part not found")
    sst_path = next((t for ty, t in wb_rels.values() if ty.endswith("/sharedStrings")), None)
    styles_path = next((t for ty, t in wb_rels.values() if ty.endswith("/styles")), None)
    sst = _shared_strings(zf, sst_path if sst_path in zf.namelist() else None)
    dates, durations = _date_styles(zf, styles_path if styles_path in zf.namelist() else None)

    records: list[list[Any]] = []
    nonblank = 0
    st: dict[str, Any] = {"row": 0, "cells": None, "col": -1, "t": "n", "s": 0, "text": None, "inline": False, "rph": 0}
    buf: list[str] = []

    class _Enough(Exception):
        pass

    def start(tag, attrs):
        n = tag.rpartition(":")[2]
        if n == "c":
            ref = attrs.get("r")
            st["col"] = min(_column_index(ref) if ref else st["col"] + 1, MAX_COLUMNS)
            st["t"] = attrs.get("t", "n")
            s = attrs.get("s")
            st["s"] = int(s) if s else 0
            st["text"] = None
            buf.clear()
        elif n == "v":
            st["text"] = "v"
            buf.clear()
        elif n == "t" and st["inline"] and not st["rph"]:
            st["text"] = "t"
        elif n == "is":
            st["inline"] = True
            buf.clear()
        elif n == "rPh":
            st["rph"] += 1
        elif n == "row":
            r = attrs.get("r")
            number = int(r) if r else st["row"] + 1
            while st["row"] + 1 < number:  # rows without cells: blank records keep row numbers right
                records.append([])
                st["row"] += 1
            st["row"] = number
            st["cells"] = []
            st["col"] = -1

    def end(tag):
        nonlocal nonblank
        n = tag.rpartition(":")[2]
        if n == "c":
            t = st["t"]
            raw = "".join(buf)
            if t == "inlineStr":
                value: Any = raw
            elif not raw:
                value = ""  # no cached value (e.g. a formula never calculated)
            elif t == "s":
                value = sst[int(raw)]
            elif t in ("str", "e", "d"):
                value = raw
            elif t == "b":
                value = raw.strip() in ("1", "true")
            else:
                value = float(raw) if ("." in raw or "E" in raw or "e" in raw) else int(raw)
                if st["s"] in dates:
                    try:
                        value = from_excel(value, epoch, timedelta=st["s"] in durations)
                    except (OverflowError, ValueError):
                        value = "#VALUE!"
                value = _xlsx_value(value)
            cells = st["cells"]
            col = st["col"]
            if col >= len(cells):
                cells.extend([""] * (col - len(cells)))
                cells.append(value)
            else:
                cells[col] = value
            st["inline"] = False
            st["text"] = None
        elif n in ("v", "t"):
            if n == "v" or st["text"] == "t":
                st["text"] = "done"
        elif n == "rPh":
            st["rph"] -= 1
        elif n == "row":
            cells = st["cells"]
            records.append(cells)
            if any(not _blank(v) for v in cells):
                nonblank += 1
            st["cells"] = None

    def text(d):
        if st["text"] in ("v", "t"):
            buf.append(d)

    def check():
        if nonblank > MAX_ROWS + 1:
            raise _Enough

    try:
        with zf.open(sheet_path) as fh:
            _expat(
                {"StartElementHandler": start, "EndElementHandler": end, "CharacterDataHandler": text}, fh, each=check
            )
    except _Enough:
        pass
    return records


def _fast_xlsx_bytes(sheets: Sequence[tuple[str, Sequence[Any], Iterable[Sequence[Any]]]]) -> bytes:
    """A workbook of plain sheets: (title, header, rows). Text is written as inline strings, the header
    in bold with the pane frozen below it. Cells should already be neutralised."""
    import zipfile
    from xml.sax.saxutils import escape, quoteattr

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        n = len(sheets)
        zf.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            + "".join(
                f'<Override PartName="/xl/worksheets/sheet{i}.xml" '
                'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
                for i in range(1, n + 1)
            )
            + "</Types>",
        )
        zf.writestr(
            "_rels/.rels",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<Relationships xmlns="{_NS_PKG_REL}">'
            f'<Relationship Id="rId1" Type="{_NS_REL}/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>",
        )
        zf.writestr(
            "xl/workbook.xml",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<workbook xmlns="{_NS_MAIN}" xmlns:r="{_NS_REL}"><sheets>'
            + "".join(
                f"<sheet name={quoteattr(title[:31])} sheetId=\"{i}\" r:id=\"rId{i}\"/>"
                for i, (title, _h, _r) in enumerate(sheets, 1)
            )
            + "</sheets></workbook>",
        )
        zf.writestr(
            "xl/_rels/workbook.xml.rels",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<Relationships xmlns="{_NS_PKG_REL}">'
            + "".join(
                f'<Relationship Id="rId{i}" Type="{_NS_REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
                for i in range(1, n + 1)
            )
            + f'<Relationship Id="rId{n + 1}" Type="{_NS_REL}/styles" Target="styles.xml"/>'
            "</Relationships>",
        )
        zf.writestr(
            "xl/styles.xml",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<styleSheet xmlns="{_NS_MAIN}">'
            '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
            '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
            '<fills count="2"><fill><patternFill patternType="none"/></fill>'
            '<fill><patternFill patternType="gray125"/></fill></fills>'
            '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
            '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
            '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
            '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>'
            '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
            "</styleSheet>",
        )
        for i, (_title, header, rows) in enumerate(sheets, 1):
            letters = [column_letter(j) for j in range(max(1, len(header)))]
            with zf.open(f"xl/worksheets/sheet{i}.xml", "w") as fh:
                fh.write(
                    (
                        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                        f'<worksheet xmlns="{_NS_MAIN}"><sheetViews><sheetView workbookViewId="0">'
                        '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
                        "</sheetView></sheetViews>"
                        f'<cols><col min="1" max="{max(1, len(header))}" width="16" customWidth="1"/></cols>'
                        "<sheetData>"
                    ).encode()
                )
                parts: list[str] = []
                for r, values in enumerate(itertools.chain([header], rows), 1):
                    style = ' s="1"' if r == 1 else ""
                    cells = []
                    for j, v in enumerate(values):
                        if v is None or v == "":
                            continue
                        if j >= len(letters):
                            letters.extend(column_letter(k) for k in range(len(letters), j + 1))
                        ref = f"{letters[j]}{r}"
                        if isinstance(v, bool):
                            cells.append(f'<c r="{ref}"{style} t="b"><v>{int(v)}</v></c>')
                        elif isinstance(v, (int, float)) and v == v and v not in (float("inf"), float("-inf")):
                            cells.append(f'<c r="{ref}"{style}><v>{v!r}</v></c>')
                        else:
                            s = escape(str(v), {"\r": "&#13;"})  # a bare CR would be read back as LF
                            space = ' xml:space="preserve"' if s[:1].isspace() or s[-1:].isspace() else ""
                            cells.append(f'<c r="{ref}"{style} t="inlineStr"><is><t{space}>{s}</t></is></c>')
                    parts.append(f'<row r="{r}">' + "".join(cells) + "</row>")
                    if len(parts) >= 500:
                        fh.write("".join(parts).encode("utf-8"))
                        parts.clear()
                fh.write(("".join(parts) + "</sheetData></worksheet>").encode("utf-8"))
    return out.getvalue()


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
    """Read a CSV or .xlsx file of cases: (rows, columns, messages).

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
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise BatchError(f"{name}: this is an old Excel .xls workbook; save it as .xlsx or as CSV (UTF-8)")
    is_csv = not data.startswith(b"PK\x03\x04")
    if not is_csv:
        records: Iterator[list[Any]] = _xlsx_records(data, name, messages)
    elif lower.endswith((".xlsx", ".xlsm")):
        raise BatchError(f"{name}: not a readable Excel .xlsx workbook (the content is not a workbook)")
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
        elif col != CASE_ID and raw:
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
            "safety_alert": "yes" if self.safety_alert else "",
            "errors": "",
        }


def _reason(rb, c) -> str:
    """One line: the primary's strongest rule rationale, the gate advice, or the next question."""
    if c.status == "needs_answer":
        q = c.next_question
        return f"next question: {q.id} ({_one_line(q.text)})"
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


def _outcome(rb, comp, clean: Mapping[str, str], cache: dict) -> Outcome:
    """The result for one row of normalised answers, as consult() gives it (the same reading of
    answers saved before ``concern``, the same walk, settlement and safety level)."""
    from rules.consult import SEVERAL, Consultation, conclude, read_legacy, safety_level
    from rules.settle import settle

    given, legacy = read_legacy(clean)
    w = comp.walk(given)
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
    out = Outcome(
        status=c.status,
        primary=c.primary,
        confidence=c.confidence,
        secondary=tuple(c.secondary),
        ruled_out=tuple(r["intervention"] for r in d["ruled_out"]),
        reason=_reason(rb, c),
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


def _work_chunk(keys: list[tuple[tuple[str, str], ...]]) -> list[Outcome]:
    """Worker-process task: outcomes for a chunk of distinct answer rows."""
    from rules.evaluate import compiled
    from rules.model import load_rulebase

    rb = load_rulebase()
    comp = compiled(rb)
    cache = _WORKER_CACHE.setdefault(rb.version, {})  # lives as long as the worker process
    return [_outcome(rb, comp, dict(k), cache) for k in keys]


_WORKER_CACHE: dict[str, dict] = {}


def _normalise_cell(rb, qid: str, raw: Any) -> tuple[str | None, str | None]:
    """(value, None) or (None, problem) for one answer cell, by the consult() normaliser."""
    from rules.consult import AnswerError, normalise_answers

    if not isinstance(raw, (str, bool)):
        raw = str(raw)
    elif isinstance(raw, str) and raw.strip().lower() in ("true", "false"):
        # a spreadsheet's TRUE/FALSE cell saved as CSV text: read it as the boolean it was
        if {"yes", "no"} <= set(rb.knowledge.question(qid).option_values()):
            raw = raw.strip().lower() == "true"
    try:
        return normalise_answers({qid: raw}, rb)[qid], None
    except AnswerError as exc:
        problem = "; ".join(exc.problems)
        prefix = f"{qid}: "
        return None, problem[len(prefix):] if problem.startswith(prefix) else problem


class _CallbackFailed(Exception):
    """The progress callback raised (its exception is the cause); not a failure of the pool."""


def _mp_context():
    import multiprocessing

    # fork is fast, but forking a process that runs other threads (a Streamlit server) is unsafe
    if "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def triage_rows(
    rows: Sequence[Mapping[str, Any]], progress: Progress | None = None, workers: int = 1
) -> list[dict[str, Any]]:
    """Triage each row: the row's own columns plus ``status``, ``primary`` (id) and ``primary_label``,
    ``confidence`` (a whole percentage, "93%") and ``confidence_band`` (high / moderate / low),
    ``secondary``, ``ruled_out`` and ``cannot_lead`` (semicolon-joined ids), the plain summary
    (``headline``, ``because``, ``next_step``, ``close_call`` — what would decide a near tie, else
    empty), ``reason``, ``safety_alert`` and ``errors``. Cells without a value are empty strings.

    A row with a problem (a value not among the options, a duplicate case id, a problem found while
    reading it) gets status ``error`` and the problems in ``errors``; the other rows are triaged.
    ``progress(done, total)`` is called as rows are done (counting rows), first with done=0 and last
    with done=total. ``workers`` > 1 uses that many processes when there are many distinct rows
    (forked when the caller runs a single thread; otherwise spawned, which re-imports the caller's
    main module: guard it with ``if __name__ == "__main__"``). Should the pool fail, the rows are
    triaged in this process.
    """
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
                futures = {ex.submit(_work_chunk, [tuple(k) for k in ch]): ch for ch in chunks}
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
                results[k] = _outcome(rb, comp, dict(k), cache)
                done += by_key[k]
            if progress and j % step == 0:
                progress(min(done, total), total)

    out_rows: list[dict[str, Any]] = []
    for i, row in enumerate(rows):
        d = dict(row)
        key = row_key[i]
        if key is None:
            d.update({c: "" for c in OUTPUT_COLUMNS}, status="error", errors="; ".join(errors[i]))
        else:
            d.update(results[key].cells(rb))
        out_rows.append(d)
    if progress:
        progress(total, total)
    return out_rows


def row_messages(results: Iterable[Mapping[str, Any]]) -> list[str]:
    """Every problem reported in the ``errors`` cells, one per entry."""
    out = []
    for r in results:
        if r.get("errors"):
            out.extend(str(r["errors"]).split("; row "))
    return [m if m.startswith("row ") else "row " + m for m in out]


def output_columns(columns: Sequence[str]) -> list[str]:
    """The columns of a results table: the input columns, then the result columns."""
    return [c for c in columns if c not in OUTPUT_COLUMNS] + list(OUTPUT_COLUMNS)


# --------------------------------------------------------------------------- writing

_ILLEGAL_XLSX = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")  # not allowed in XML


def _cell_text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return repr(v)
    return str(v)


def _xlsx_cell(v: Any) -> Any:
    if v is None or v == "":
        return None  # no cell at all: smaller files, faster to read
    if isinstance(v, str):
        v = _ILLEGAL_XLSX.sub("", v)
        if len(v) > MAX_CELL_CHARS:
            v = v[: MAX_CELL_CHARS - 1] + "…"
        return neutralise(v)
    return v


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
        (
            "results",
            [_xlsx_cell(c) for c in columns],
            ([_xlsx_cell(r.get(c)) for c in columns] for r in rows),
        )
    ]
    if summary is not None:
        head, *body = summary_rows(summary)
        sheets.append(("summary", [_xlsx_cell(v) for v in head], ([_xlsx_cell(v) for v in row] for row in body)))
    return _fast_xlsx_bytes(sheets)


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
    """An empty batch file: ``case_id`` and every question id as the header row.

    The .xlsx template has a drop-down of the allowed values in each question column and a second
    sheet, ``questions``, listing each question's text and allowed values.
    """
    from rules.model import load_rulebase

    kb = load_rulebase().knowledge
    columns = [CASE_ID, *(q.id for q in kb.questions)]
    fmt = _fmt_of(None, fmt)
    if fmt == "csv":
        return table_bytes([], columns, "csv")

    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = Workbook()
    ws = wb.active
    ws.title = "cases"
    ws.append(columns)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.freeze_panes = "B2"
    ws.column_dimensions["A"].width = 14
    for i, q in enumerate(kb.questions, start=1):
        letter = column_letter(i)
        ws.column_dimensions[letter].width = max(12, len(q.id) + 2)
        dv = DataValidation(type="list", formula1='"' + ",".join(q.option_values()) + '"', allow_blank=True)
        dv.error = "Choose one of: " + ", ".join(q.option_values())
        dv.errorTitle = q.id
        dv.add(f"{letter}2:{letter}{MAX_ROWS + 1}")
        ws.add_data_validation(dv)
    qs = wb.create_sheet("questions")
    qs.append(["question id", "stage", "question", "allowed values", "meaning of the values", "help"])
    for cell in qs[1]:
        cell.font = Font(bold=True)
    for q in kb.questions:
        qs.append(
            [
                q.id,
                q.stage,
                _one_line(q.text),
                ", ".join(q.option_values()),
                "; ".join(f"{o.value} = {o.label}" for o in q.options),
                _one_line(q.help),
            ]
        )
    for letter, width in zip("ABCDEF", (24, 14, 70, 36, 80, 80), strict=True):
        qs.column_dimensions[letter].width = width
    out = io.BytesIO()
    wb.save(out)
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
    source: str | os.PathLike | bytes | BinaryIO, name: str | None = None, progress: Progress | None = None, workers: int = 1
) -> BatchRun:
    """Read a file and triage every row (raises :class:`BatchError` when the file is unusable)."""
    if name is None and isinstance(source, (str, os.PathLike)):
        name = Path(source).name
    rows, columns, messages = read_table(source, name)
    results = triage_rows(rows, progress=progress, workers=workers)
    return BatchRun(name=name or "uploaded file", columns=columns, results=results, messages=messages)
