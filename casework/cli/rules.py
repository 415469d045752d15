"""``triage rules``: the decision table, one row a rule and one column a condition."""

from __future__ import annotations

import argparse
import sys

from casework.cli.common import EXIT_OK, add_format


def cmd_rules(args: argparse.Namespace) -> int:
    from rules.table import decision_table_csv, decision_table_markdown  # deferred: heavy (the rule base)

    text = decision_table_csv() if args.format == "csv" else decision_table_markdown()
    if args.output:
        with open(args.output, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "rules",
        help="export the decision table (one row a rule, one column a condition)",
        description="The decision table of the rule base: one row a rule, one column a condition, as Markdown "
        "(default) or CSV.",
    )
    add_format(p, "csv", "markdown", default="markdown")
    p.add_argument("-o", "--output", help="write to this file instead of standard output")
    p.set_defaults(func=cmd_rules)
