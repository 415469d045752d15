"""``triage report FILE -o report.pdf|.html|.md|.docx``: the justification report for a case.

FILE is an answers file, a worked-case file or a case exported with ``triage cases export`` (then its
saved plan and monitoring log go into the report too). The format comes from the output file's
suffix, or ``--format``; without ``-o`` a Markdown or HTML report goes to standard output.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from casework.cli import EXIT_OK, UsageError

SUFFIXES = {".md": "md", ".markdown": "md", ".html": "html", ".htm": "html", ".pdf": "pdf", ".docx": "docx"}


def case_from_file(path: str) -> dict:
    """The case in an answers, worked-case or exported-case file, as ``render_report`` takes it."""
    from casework.answers_io import AnswersFileError, read_answers_file

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


def write_output(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (a temporary file in the same folder, then renamed),
    readable by the owner only when the file is new: reports and exports hold personal data."""
    target = Path(path)
    if target.is_dir():
        raise UsageError(f"{target} is a folder; give a file name")
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise UsageError(f"the folder {folder} does not exist")
    mode = target.stat().st_mode & 0o777 if target.exists() else 0o600
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_or_print(text: str, output: str | None, done: str) -> None:
    """``text`` to the file ``output`` (see :func:`write_output`; then ``done`` with ``{}`` filled by
    the file name on standard error), or to standard output when no file is given."""
    if output:
        write_output(output, text.encode("utf-8"))
        sys.stderr.write(done.format(output) + "\n")
    else:
        sys.stdout.write(text)


def cmd_report(args: argparse.Namespace) -> int:
    from casework.report import FORMATS, ReportError, render_report

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
        description=__doc__.split("\n\n")[1] if __doc__ else None,
    )
    p.add_argument("file", help="answers file, worked-case file or exported case (YAML or JSON)")
    p.add_argument("-o", "--output", help="output file: .md, .html, .pdf or .docx")
    p.add_argument(
        "--format",
        choices=["md", "html", "pdf", "docx"],
        help="format (default: from the -o suffix, else md)",
    )
    p.set_defaults(func=cmd_report)
