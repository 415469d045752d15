"""What every command of ``triage`` shares: the exit codes, the two errors a command raises, and
the output helpers (JSON or text on standard output, a file written whole, a yes/no question)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

EXIT_OK = 0  # done
EXIT_FAIL = 1  # not done: declined, database unavailable, rows with problems, rule-base errors
EXIT_USAGE = 2  # bad input: a file, an option or a value that cannot be used
EXIT_INTERRUPTED = 130  # Ctrl-C


class UsageError(Exception):
    """Bad input from the user; printed as 'triage: error: ...' with exit code 2."""


class CommandFailed(Exception):
    """The command could not be done (e.g. the database is unavailable); printed as
    'triage: error: ...' with exit code 1."""


def emit(obj: Any, fmt: str) -> None:
    """``obj`` on standard output: as indented JSON with ``fmt == "json"``, else as text."""
    if fmt == "json":
        sys.stdout.write(json.dumps(obj, indent=2, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(str(obj) + ("" if str(obj).endswith("\n") else "\n"))


def reply(fmt: str, data: Any, text: str | Callable[[], str]) -> int:
    """A command's answer on standard output: ``data`` as JSON with ``--format json``, else ``text``.
    Either may be a function that makes it (only the one shown is made). Returns :data:`EXIT_OK`."""
    out = data if fmt == "json" else text
    emit(out() if callable(out) else out, fmt)
    return EXIT_OK


def paragraphs(doc: str | None, start: int, stop: int | None = None) -> str:
    """Paragraphs ``start:stop`` of a module docstring as help text (``code`` marks as 'code')."""
    return "\n\n".join((doc or "").split("\n\n")[start:stop]).replace("``", "'")


def add_format(parser: argparse.ArgumentParser, *choices: str, default: str = "text", help: str | None = None) -> None:  # noqa: A002
    """The ``--format`` option (JSON or text unless ``choices`` are given)."""
    parser.add_argument("--format", choices=list(choices or ("json", "text")), default=default, help=help)


def add_database(parser: argparse.ArgumentParser) -> None:
    """The ``--database URL`` option of the commands that read the case database."""
    parser.add_argument(
        "--database",
        metavar="URL",
        help="SQLAlchemy URL of the case database (default: TRIAGE_DATABASE_URL, else the SQLite file in "
        "TRIAGE_DATA_DIR or ./data)",
    )


def confirm(question: str) -> bool:
    """Ask ``question`` on standard error (it cannot be undone); True only for y or yes."""
    sys.stderr.write(question + " This cannot be undone. [y/N] ")
    sys.stderr.flush()
    return sys.stdin.readline().strip().lower() in ("y", "yes")


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
