"""Access from the command line: the audit log, a case's history, assigning cases, retention and
erasure.

    triage audit export [-o audit.csv]        the whole audit log as CSV (standard output without -o)
    triage audit list [--case ID]             the audit log as lines (or --format json)
    triage cases history ID                   one case's own audit entries
    triage cases assign ID --owner EMAIL [--unit UNIT]
    triage cases purge [--months N] [--dry-run] [--yes]
    triage cases erase --who NAME [--dry-run] [--yes]
    triage settings [--format json]            the settings in force and where each came from

The command line is the local operator: it runs on the server with the database's own credentials,
may do everything, and is recorded in the audit log as ``local operator``. Purge and erase list
what will be deleted and ask before deleting (``--yes`` skips the question).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from casework.cli import EXIT_FAIL, EXIT_OK, EXIT_USAGE, UsageError, emit


def _months(args: argparse.Namespace) -> int:
    from casework.access import AccessConfigError
    from casework.settings import SettingsError, retention_months

    if args.months is not None:
        if args.months < 1:
            raise UsageError("--months: must be at least 1")
        return args.months
    try:
        return retention_months()  # the same rule and files as the app's Access page
    except (AccessConfigError, SettingsError) as exc:
        raise UsageError(str(exc)) from None


def _listing(rows: list[dict[str, Any]]) -> str:
    lines = []
    for r in rows:
        when = (r["updated_at"] or "")[:10]
        title = " ".join((r["title"] or "(untitled)").split())[:60]
        lines.append(f"  case {r['id']:>5}  last changed {when}  {r['status']:<6}  {title}")
    return "\n".join(lines)


def _confirm(question: str) -> bool:
    sys.stderr.write(question + " This cannot be undone. [y/N] ")
    sys.stderr.flush()
    return sys.stdin.readline().strip().lower() in ("y", "yes")


def _delete_listed(
    args: argparse.Namespace,
    rows: list[dict[str, Any]],
    what: str,
    delete: Callable[[list[int]], list[int]],
) -> int:
    """Show the cases that would go; unless --dry-run, ask (or --yes) and delete exactly those."""
    if args.format == "json" and (args.dry_run or not rows):
        emit({"would_delete" if args.dry_run else "deleted": [r["id"] for r in rows]}, "json")
        return EXIT_OK
    if not rows:
        sys.stdout.write(f"No cases {what}.\n")
        return EXIT_OK
    if args.format != "json" or not args.yes:
        sys.stderr.write(f"{len(rows)} case(s) {what}:\n{_listing(rows)}\n")
    if args.dry_run:
        return EXIT_OK
    if not args.yes and not _confirm(f"Delete these {len(rows)} case(s) with everything under them?"):
        sys.stderr.write("Nothing deleted.\n")
        return EXIT_FAIL
    gone = delete([r["id"] for r in rows])
    if args.format == "json":
        emit({"deleted": gone}, "json")
    else:
        sys.stdout.write(f"Deleted {len(gone)} case(s): {', '.join(map(str, gone)) or 'none'}.\n")
    return EXIT_OK


def add_case_actions(action: Callable[..., argparse.ArgumentParser], store_of, case_id_type) -> None:
    """Add history, assign, purge and erase to ``triage cases`` (called by casework.cli_cases)."""

    def cmd_history(args: argparse.Namespace) -> int:
        from casework.audit import describe

        entries = store_of(args).case_history(args.id)
        if args.format == "json":
            emit(entries, "json")
        else:
            emit("\n".join(describe(e) for e in entries) or "No entries.", "text")
        return EXIT_OK

    def cmd_assign(args: argparse.Namespace) -> int:
        store_of(args).assign_case(args.id, args.owner, args.unit)
        if args.format == "json":
            emit({"id": args.id, "owner": args.owner, "org_unit": args.unit}, "json")
        else:
            sys.stdout.write(f"Case {args.id} now belongs to {args.owner}" + (f" ({args.unit})" if args.unit else "") + ".\n")
        return EXIT_OK

    def cmd_purge(args: argparse.Namespace) -> int:
        months = _months(args)
        store = store_of(args)
        rows = store.purge_candidates(months)
        return _delete_listed(
            args, rows, f"past the retention period ({months} months without a change)",
            lambda ids: store.purge(months, ids),
        )

    def cmd_erase(args: argparse.Namespace) -> int:
        store = store_of(args)
        rows = store.erasure_candidates(args.who)
        return _delete_listed(args, rows, "about this person", lambda ids: store.erase(args.who, ids))

    a = action("history", cmd_history, "a case's own audit entries")
    a.add_argument("id", type=case_id_type)
    a = action("assign", cmd_assign, "give a case an owner and an organisation unit")
    a.add_argument("id", type=case_id_type)
    a.add_argument("--owner", required=True, metavar="EMAIL", help="the signed-in user's email")
    a.add_argument("--unit", metavar="UNIT", help="the organisation unit")
    a = action("purge", cmd_purge, "delete the cases past the retention period")
    a.add_argument("--months", type=int, help="retention in months (default: TRIAGE_RETENTION_MONTHS, "
                   "the access configuration's retention_months, else 24)")
    a.add_argument("--dry-run", action="store_true", help="only list what would be deleted")
    a.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    a = action("erase", cmd_erase, "delete every case about one person (the 'who' of the cases)")
    a.add_argument("--who", required=True, help="the person, as written in the cases' 'who'")
    a.add_argument("--dry-run", action="store_true", help="only list what would be deleted")
    a.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")


def cmd_audit(args: argparse.Namespace) -> int:
    from casework.audit import describe, to_csv
    from casework.store import CaseNotFound, Store, StoreError

    if getattr(args, "audit_action", None) is None:
        args.audit_parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        entries = Store(args.database).audit_entries(case_id=getattr(args, "case", None))
    except CaseNotFound as exc:
        raise UsageError(str(exc)) from None
    except StoreError as exc:
        sys.stderr.write(f"triage: error: {exc}\n")
        return EXIT_FAIL
    if args.audit_action == "export":
        text = to_csv(entries)
        if args.output:
            from casework.cli_report import write_output

            write_output(args.output, text.encode("utf-8"))
            sys.stderr.write(f"{len(entries)} audit entries written to {args.output}\n")
        else:
            sys.stdout.write(text)
    elif args.format == "json":
        emit(entries, "json")
    else:
        emit("\n".join(f"case {e['case_id'] or '-':>5}  {describe(e)}" for e in entries) or "No entries.", "text")
    return EXIT_OK


def cmd_settings(args: argparse.Namespace) -> int:
    from casework.access import AccessConfigError
    from casework.settings import SettingsError, in_force

    try:
        rows = in_force()
    except (SettingsError, AccessConfigError) as exc:
        sys.stderr.write(f"triage: error: {exc}\n")
        return EXIT_FAIL
    if args.format == "json":
        emit(rows, "json")
    else:
        emit("\n".join(f"{r['setting']:<14} {r['value']}  ({r['from']})" for r in rows), "text")
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    st = sub.add_parser("settings", help="the settings in force (environment, secrets.toml, defaults)")
    st.add_argument("--format", choices=["json", "text"], default="text")
    st.set_defaults(func=cmd_settings)
    p = sub.add_parser("audit", help="the audit log: who did what to which case (no case content)")
    p.add_argument("--database", metavar="URL", help="SQLAlchemy URL of the case database")
    p.set_defaults(func=cmd_audit, audit_parser=p, audit_action=None)
    acts = p.add_subparsers(metavar="ACTION")
    e = acts.add_parser("export", help="the audit log as CSV")
    e.add_argument("-o", "--output", help="write to this file instead of standard output")
    e.add_argument("--case", type=int, help="only the entries of this case id")
    e.set_defaults(audit_action="export")
    ls = acts.add_parser("list", help="the audit log as lines")
    ls.add_argument("--case", type=int, help="only the entries of this case id")
    ls.add_argument("--format", choices=["json", "text"], default="text")
    ls.set_defaults(audit_action="list")
