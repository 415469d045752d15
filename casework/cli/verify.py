"""``triage verify``: the rule base checked for defects, gaps, conflicts and coverage."""

from __future__ import annotations

import argparse

from casework.cli.common import EXIT_FAIL, EXIT_OK, add_format, emit


def cmd_verify(args: argparse.Namespace) -> int:
    from rules.verify import (  # deferred: heavy (the rule base)
        format_report,
        verify,
    )

    report = verify()
    emit(report if args.format == "json" else format_report(report), args.format)
    return EXIT_OK if not report["errors"] else EXIT_FAIL


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "verify",
        help="check the rule base for defects, gaps, conflicts and coverage",
        description="Check the rule base for defects, gaps, conflicts and coverage. "
        "Exit code 0 when it finds no errors, 1 when it does.",
    )
    add_format(p)
    p.set_defaults(func=cmd_verify)
