"""``triage verify``: the rule base checked for defects, gaps, conflicts and coverage."""

from __future__ import annotations

import argparse
from pathlib import Path

from casework.cli.common import EXIT_FAIL, EXIT_OK, UsageError, add_format, emit


def cmd_verify(args: argparse.Namespace) -> int:
    from rules.verify import (  # deferred: heavy (the rule base)
        format_report,
        verify,
    )

    folder = None
    if args.rules is not None:
        folder = Path(args.rules)
        if not folder.is_dir():
            raise UsageError(f"{args.rules}: not a folder of rule files")
        if not (folder / "vocabulary.yaml").is_file():
            raise UsageError(f"{args.rules}: no vocabulary.yaml in this folder (copy the rules folder to start a draft)")
    report = verify(folder)
    emit(report if args.format == "json" else format_report(report), args.format)
    return EXIT_OK if not report["errors"] else EXIT_FAIL


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "verify",
        help="check the rule base for defects, gaps, conflicts and coverage",
        description="Check the rule base for defects, gaps, conflicts and coverage. "
        "Exit code 0 when it finds no errors, 1 when it does.",
    )
    p.add_argument(
        "--rules", metavar="FOLDER",
        help="check a draft rule folder instead of the shipped rule base: its vocabulary.yaml, every other "
        "*.yaml as rule files, and evidence.yaml and base_rates.yaml where present (start from a copy of rules/)",
    )
    add_format(p)
    p.set_defaults(func=cmd_verify)
