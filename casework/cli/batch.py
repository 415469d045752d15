"""``triage batch``: triage a CSV or Excel file of cases, write the results, print a summary.

    triage batch cases.csv -o results.xlsx [--group-by team] [--format json] [--workers N] [--empty-as-dont-know]
    triage batch --template template.xlsx

Warnings about the file and the problems of single rows go to standard error; the summary goes to
standard output (``--format json`` for scripts). A progress bar is drawn on standard error when it
is a terminal. Exit code 0: every row triaged; 1: some rows had problems (their ``errors`` cell
says which; the other rows are in the output); 2: the file or the options cannot be used.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from casework.cli.common import EXIT_FAIL, EXIT_OK, UsageError, add_format, emit

MAX_ROW_MESSAGES = 20  # problems of single rows printed to standard error; the rest are in the file


def _workers(value: str) -> int:
    if value == "auto":
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        try:
            busy = os.getloadavg()[0]
        except OSError:
            busy = 0.0
        return max(1, min(cpus, 8, round(cpus - busy)))
    try:
        n = int(value)
    except ValueError:
        raise UsageError(f"--workers must be a whole number or 'auto', not {value!r}") from None
    if not 1 <= n <= 64:
        raise UsageError("--workers must be between 1 and 64")
    return n


def _out_format(path: str, what: str) -> str:
    ext = Path(path).suffix.lower()
    if ext not in (".csv", ".xlsx"):
        raise UsageError(f"{what} '{path}' must end in .csv or .xlsx")
    return ext[1:]


class ProgressBar:
    """A one-line progress bar on a terminal (drawn at most ten times a second)."""

    def __init__(self, stream=sys.stderr, width: int = 30):
        self.stream, self.width, self.last = stream, width, 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self.last < 0.1:
            return
        self.last = now
        frac = done / total if total else 1.0
        fill = int(frac * self.width)
        self.stream.write(f"\r[{'#' * fill}{'.' * (self.width - fill)}] {done:,}/{total:,} rows")
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()


def cmd_batch(args: argparse.Namespace) -> int:
    from casework import batch  # deferred: heavy (the rule base)

    if args.template:
        fmt = _out_format(args.template, "the template")
        batch.write_bytes(batch.make_template(fmt), args.template)
        sys.stderr.write(f"triage: template written to {args.template}\n")
        if not args.file:
            return EXIT_OK
    if not args.file:
        raise UsageError("give the file of cases: triage batch IN -o OUT (or --template PATH for an empty one)")
    if not args.output:
        raise UsageError("give the results file with -o OUT (.csv or .xlsx)")
    fmt = _out_format(args.output, "the results file")
    src, dst = Path(args.file), Path(args.output)
    if dst.exists() and src.exists() and os.path.samefile(src, dst):
        raise UsageError("the results file must not be the input file (that would overwrite your cases)")
    workers = _workers(args.workers)

    try:
        rows, columns, messages = batch.read_table(src)
    except batch.BatchError as exc:
        raise UsageError(str(exc)) from None
    group_by = args.group_by
    if group_by is not None and group_by not in columns:
        match = [c for c in columns if c.lower() == group_by.strip().lower()]
        if not match:
            raise UsageError(f"no column named '{group_by}' to group by; the columns are {', '.join(columns)}")
        group_by = match[0]
    for m in messages:
        sys.stderr.write(f"triage: warning: {m}\n")

    progress = ProgressBar() if sys.stderr.isatty() else None
    results = batch.triage_rows(rows, progress=progress, workers=workers, empty_as_dont_know=args.empty_as_dont_know)
    summary = batch.summarise(results, group_by)
    batch.write_table(results, batch.output_columns(columns), dst, fmt, summary=summary)

    problems = batch.row_messages(results)
    for line in problems[:MAX_ROW_MESSAGES]:
        sys.stderr.write(f"triage: {line}\n")
    if len(problems) > MAX_ROW_MESSAGES:
        sys.stderr.write(f"triage: ... and {len(problems) - MAX_ROW_MESSAGES:,} more problems (see the errors column)\n")
    bad = summary["by_status"]["error"]
    if args.format == "json":
        emit({**summary, "input": str(src), "output": str(dst), "warnings": [str(m) for m in messages]}, "json")
    else:
        emit(batch.format_summary(summary) + f"\nresults written to {dst}", "text")
    return EXIT_FAIL if bad else EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "batch",
        help="triage a CSV or Excel file of cases (one row a case, one column a question id)",
        description="Triage every row of a CSV, .xlsx, .xls or .ods file and write the results as CSV or .xlsx. "
        "Warnings and the problems of single rows go to standard error, the summary to standard output. "
        "Exit code 0: every row triaged; 1: some rows had problems (see the errors column; the other rows "
        "are in the results); 2: the file or the options cannot be used.",
    )
    p.add_argument("file", nargs="?", metavar="IN", help="CSV, .xlsx, .xls or .ods file of cases")
    p.add_argument("-o", "--output", metavar="OUT", help="results file: .csv or .xlsx")
    p.add_argument("--template", metavar="PATH",
                   help="write an empty template (.csv or .xlsx) with case_id, every question id and the gap columns")
    add_format(p, "text", "json", help="summary format on standard output")
    p.add_argument("--group-by", metavar="COLUMN", help="also count the outcomes per value of this column")
    p.add_argument(
        "--empty-as-dont-know",
        action="store_true",
        help="take a blank cell (or a question with no column) as \"don't know\", so every row is finished",
    )
    p.add_argument(
        "--workers",
        default="auto",
        metavar="N",
        help="worker processes for many distinct rows, 1 to 64 (default auto: the free cores, at most 8)",
    )
    p.set_defaults(func=cmd_batch)
