"""``triage audit``: the audit log, who did what to which case (never case content).

    triage audit export [-o audit.csv] [--case ID]   the audit log as CSV (standard output without -o)
    triage audit list [--case ID] [--format json]    the audit log as lines

A case's own entries are also shown by ``triage cases history ID``.
"""

from __future__ import annotations

import argparse
import sys

from casework.audit import describe, to_csv
from casework.cli.common import (
    EXIT_OK,
    EXIT_USAGE,
    CommandFailed,
    UsageError,
    add_database,
    add_format,
    paragraphs,
    reply,
    write_output,
)


def cmd_audit(args: argparse.Namespace) -> int:
    from casework.store import CaseNotFound, Store, StoreError  # deferred: heavy (SQLAlchemy)

    if getattr(args, "audit_action", None) is None:
        args.audit_parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        entries = Store(args.database).audit_entries(case_id=getattr(args, "case", None))
    except CaseNotFound as exc:
        raise UsageError(str(exc)) from None
    except StoreError as exc:
        raise CommandFailed(str(exc)) from None
    if args.audit_action == "export":
        text = to_csv(entries)
        if args.output:
            write_output(args.output, text.encode("utf-8"))
            sys.stderr.write(f"{len(entries)} audit entries written to {args.output}\n")
        else:
            sys.stdout.write(text)
        return EXIT_OK
    return reply(args.format, entries,
                 lambda: "\n".join(f"case {e['case_id'] or '-':>5}  {describe(e)}" for e in entries) or "No entries.")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "audit",
        help="the audit log: who did what to which case (no case content)",
        description="The audit log: who did what to which case, never case content.\n\n"
        + paragraphs(__doc__, 1, 2),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_database(p)
    p.set_defaults(func=cmd_audit, audit_parser=p, audit_action=None)
    acts = p.add_subparsers(metavar="ACTION")
    e = acts.add_parser("export", help="the audit log as CSV")
    e.add_argument("-o", "--output", help="write to this file instead of standard output")
    e.add_argument("--case", type=int, help="only the entries of this case id")
    e.set_defaults(audit_action="export")
    ls = acts.add_parser("list", help="the audit log as lines")
    ls.add_argument("--case", type=int, help="only the entries of this case id")
    add_format(ls)
    ls.set_defaults(audit_action="list")
