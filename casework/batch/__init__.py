"""Batch triage: a spreadsheet of cases (CSV or Excel) in, one result per row and a summary out.

One row is a case, one column per question id, an optional ``case_id`` column; any other column
(team, site, ...) is carried through. Each row is validated on its own: a bad value or a duplicate
case id is reported in that row's ``errors`` cell, naming the row and the column as a spreadsheet
shows them (the header is row 1), and every good row is still triaged. A file that cannot be used
at all (empty, binary, too big, no header ...) raises :class:`BatchError` with a plain message.
Results are exactly those of :func:`rules.consult.consult` for each row; speed comes from caching
identical answer rows and, for many distinct rows, worker processes.

The parts, each importing only those above it:

- :mod:`~casework.batch.common`: limits, column names, :class:`BatchError`, :class:`Message`, :class:`SheetRow`
- :mod:`~casework.batch.files`: the bytes of a file, CSV text, workbooks (python-calamine)
- :mod:`~casework.batch.reading`: :func:`read_table`, the header and the rows
- :mod:`~casework.batch.summary`: :func:`headline`, :func:`summarise`, :func:`format_summary`
- :mod:`~casework.batch.triage`: :func:`triage_rows` (and the worker processes)
- :mod:`~casework.batch.frame`: :func:`triage_frame`, for pandas
- :mod:`~casework.batch.writing`: :func:`write_table`, :func:`table_bytes`, :func:`make_template` (xlsxwriter)
- :mod:`~casework.batch.samples`: :func:`sample_rows`, :func:`worked_case_rows`
- :mod:`~casework.batch.run`: :func:`run_batch`, :class:`BatchRun`

The names below are those of the old single module. A limit or helper is looked up in the module
that defines it: to change one in a test, set it there (``casework.batch.triage.POOL_MIN_KEYS``).
"""

from __future__ import annotations

from casework.batch.common import (
    CASE_ID,
    GAP_COLUMNS,
    MAX_COLUMNS,
    MAX_ROWS,
    OUTCOMES,
    OUTPUT_COLUMNS,
    STATUSES,
    BatchError,
    Message,
    Progress,
    SheetRow,
    column_letter,
    neutralise,
)
from casework.batch.files import MAX_BYTES, MAX_GRID_CELLS, _sheet_records
from casework.batch.frame import FRAME_COLUMNS, triage_frame
from casework.batch.reading import read_table
from casework.batch.run import BatchRun, run_batch
from casework.batch.samples import rows_to_csv, sample_rows, worked_case_rows
from casework.batch.summary import format_summary, headline, outcome_of, row_messages, summarise, summary_rows
from casework.batch.triage import CHUNK_KEYS, POOL_MIN_KEYS, Outcome, triage_rows
from casework.batch.writing import (
    IN_MEMORY_ROWS,
    MAX_CELL_CHARS,
    make_template,
    output_columns,
    table_bytes,
    write_bytes,
    write_table,
)

__all__ = [
    "CASE_ID", "CHUNK_KEYS", "FRAME_COLUMNS", "GAP_COLUMNS", "IN_MEMORY_ROWS", "MAX_BYTES", "MAX_CELL_CHARS",
    "MAX_COLUMNS", "MAX_GRID_CELLS", "MAX_ROWS", "OUTCOMES", "OUTPUT_COLUMNS", "POOL_MIN_KEYS", "STATUSES",
    "BatchError", "BatchRun", "Message", "Outcome", "Progress", "SheetRow",
    "column_letter", "format_summary", "headline", "make_template", "neutralise", "outcome_of", "output_columns",
    "read_table", "row_messages", "rows_to_csv", "run_batch", "sample_rows", "summarise", "summary_rows",
    "table_bytes", "triage_frame", "triage_rows", "worked_case_rows", "write_bytes", "write_table",
    "_sheet_records",  # read by tests/test_batch.py
]
