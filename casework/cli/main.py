"""The ``triage`` parser built from the static list of commands, and :func:`main`, which runs one
and turns every error into a message and an exit code (never a traceback)."""

from __future__ import annotations

import argparse
import logging
import sys

import casework.cli.audit as audit
import casework.cli.batch as batch
import casework.cli.cases as cases
import casework.cli.consult as consult
import casework.cli.outcomes as outcomes
import casework.cli.practice as practice
import casework.cli.questions as questions
import casework.cli.report as report
import casework.cli.rules as rules
import casework.cli.settings as settings
import casework.cli.verify as verify
from casework.cli.common import EXIT_FAIL, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, CommandFailed, UsageError

# One module a command, in the order ``triage --help`` lists them; each has register(subparsers).
COMMANDS = (questions, consult, verify, rules, batch, report, cases, settings, audit, practice, outcomes)

EPILOG = (
    "Run 'triage COMMAND --help' for a command's options. Exit codes: 0 done; 1 not done (declined, "
    "database unavailable, rows with problems, rule-base errors); 2 bad input (a file, option or value "
    "that cannot be used)."
)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="triage",
        description="Which intervention fits a workplace performance gap, and why.",
        epilog=EPILOG,
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        command.register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse already printed the message
        return int(exc.code or 0)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(args.func(args) or 0)
    except UsageError as exc:
        sys.stderr.write(f"triage: error: {exc}\n")
        return EXIT_USAGE
    except CommandFailed as exc:
        sys.stderr.write(f"triage: error: {exc}\n")
        return EXIT_FAIL
    except KeyboardInterrupt:
        sys.stderr.write("\ntriage: interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK
    except (OSError, ValueError) as exc:  # unreadable files, malformed data: name the problem
        sys.stderr.write(f"triage: error: {exc}\n")
        return EXIT_USAGE
    except Exception as exc:  # noqa: BLE001 - last resort: a message, not a traceback
        logging.getLogger("triage").debug("internal error", exc_info=True)
        sys.stderr.write(f"triage: internal error: {type(exc).__name__}: {exc}\n")
        return EXIT_FAIL
