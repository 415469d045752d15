"""``triage report FILE -o report.pdf|.html|.md|.docx``: the justification report for a case.

FILE is an answers file, a worked-case file or a case exported with ``triage cases export`` (then its
saved plan and monitoring log go into the report too). The format comes from the output file's
suffix, or ``--format``; without ``-o`` a Markdown or HTML report goes to standard output.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from casework.cli.common import EXIT_OK, UsageError, paragraphs, write_output

SUFFIXES = {".md": "md", ".markdown": "md", ".html": "html", ".htm": "html", ".pdf": "pdf", ".docx": "docx"}


def case_from_file(path: str) -> dict:
    """The case in an answers, worked-case or exported-case file, as ``render_report`` takes it."""
    from casework.answers_io import AnswersFileError, read_answers_file  # deferred: heavy (pydantic, YAML)

    try:
        f = read_answers_file(path)
    except AnswersFileError as exc:
        raise UsageError(str(exc)) from None
    notes = f.notes or str(f.extra.get("narrative") or "")
    case = {"title": f.title, "who": f.who, "notes": notes, "answers": f.answers}
    if f.extra.get("gap") is not None:
        case["gap"] = f.extra["gap"]
    if isinstance(f.extra.get("plan"), dict):
        case["plan"] = f.extra["plan"]
    if isinstance(f.extra.get("monitoring"), list):
        case["monitoring"] = f.extra["monitoring"]
    return case


def cmd_report(args: argparse.Namespace) -> int:
    from casework.report import FORMATS, ReportError, render_report  # deferred: heavy (fpdf2, python-docx)

    fmt = args.format
    if args.output and not fmt:
        suffix = Path(args.output).suffix.lower()
        fmt = SUFFIXES.get(suffix)
        if fmt is None:
            raise UsageError(
                f"cannot tell the report format from '{suffix or args.output}': end the file name in "
                ".md, .html, .pdf or .docx, or give --format"
            )
    fmt = fmt or "md"
    if fmt not in FORMATS:
        raise UsageError(f"unknown format '{fmt}': use one of {', '.join(FORMATS)}")
    if not args.output and fmt in ("pdf", "docx"):
        raise UsageError(f"a {fmt.upper()} report needs an output file: add -o report.{fmt}")
    case = case_from_file(args.file)
    try:
        data = render_report(case, fmt)
    except ReportError as exc:
        raise UsageError(f"{args.file}: {exc}") from None
    if args.output:
        write_output(args.output, data)
        sys.stderr.write(f"report written to {args.output} ({len(data):,} bytes)\n")
    else:
        sys.stdout.write(data.decode("utf-8"))
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="justification report for a case (Markdown, HTML, PDF or Word)",
        description=paragraphs(__doc__, 1, 2),
    )
    p.add_argument("file", metavar="FILE", help="answers file, worked-case file or exported case (YAML or JSON)")
    p.add_argument("-o", "--output", help="output file: .md, .html, .pdf or .docx")
    p.add_argument(
        "--format",
        choices=["md", "html", "pdf", "docx"],
        help="format (default: from the -o suffix, else md)",
    )
    p.set_defaults(func=cmd_report)
