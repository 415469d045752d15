"""``triage cases``: the saved cases from the command line.

    triage cases save FILE          an answers or worked-case file becomes a new case (consulted and
                                    stored); the new id is printed alone on the last line
    triage cases list               the cases, newest first (--search, --intervention, --status)
    triage cases show ID            one case: header, answers, result, history, plan, progress
    triage cases export ID [-o F]   the case as JSON (standard output, or the file F)
    triage cases import FILE        an exported case becomes a new case; prints the new id last
    triage cases delete ID [--yes]  delete the case and everything under it (asks first)
    triage cases close ID --outcome VALUE [--on DATE]   close a case: closed, partly, not_closed, stopped
    triage cases reopen ID          open a closed case again
    triage cases history ID         the case's own audit entries (who did what, when)
    triage cases assign ID --owner EMAIL [--unit UNIT]   give a case an owner (and unit)
    triage cases purge [--months N] [--dry-run] [--yes]  delete the cases past the retention period
    triage cases erase --who NAME [--dry-run] [--yes]    delete every case about one person (on request)

The command line acts as the "local operator" (it runs where the database is, with its own
credentials): it may do everything, and the audit log records it as such. Purge and erase list what
will be deleted and ask before deleting (``--yes`` skips the question).

``--format json`` gives JSON for scripts (``list`` gives a list of objects with at least id and
title). The database is the one the store chooses (``TRIAGE_DATABASE_URL``, or the SQLite file in
``TRIAGE_DATA_DIR``, default ``./data``), or ``--database URL``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from casework.access import AccessConfigError
from casework.audit import describe
from casework.cli.common import (
    EXIT_FAIL,
    EXIT_OK,
    EXIT_USAGE,
    CommandFailed,
    UsageError,
    add_database,
    add_format,
    confirm,
    emit,
    paragraphs,
    reply,
    write_or_print,
)
from casework.closing import OUTCOME_LABELS, OUTCOMES
from casework.settings import SettingsError, retention_months

MAX_IMPORT_BYTES = 5_000_000


def _store(args: argparse.Namespace):
    from casework.store import Store  # deferred: heavy (SQLAlchemy)

    return Store(args.database)


def _case_id(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a case id (case ids are whole numbers)") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"'{text}' is not a case id (case ids start at 1)")
    return n


def _name(iv: str | None) -> str:
    from knowledge.loader import load_knowledge  # deferred: heavy (pydantic, YAML)

    if not iv:
        return "—"
    kb = load_knowledge()
    return kb.interventions[iv].name if iv in kb.interventions else iv


def _result_line(status: str | None, primary: str | None, confidence: float | None) -> str:
    if status == "complete" and primary:
        return f"{_name(primary)} ({confidence:.0%})" if confidence is not None else _name(primary)
    return {"cannot_recommend": "cannot recommend yet", "needs_answer": "needs another answer"}.get(
        status or "", "—"
    )


# --------------------------------------------------------------------------- handlers


def cmd_save(args: argparse.Namespace) -> int:
    from casework.answers_io import AnswersFileError, read_answers_file  # deferred: heavy (pydantic, YAML)
    from casework.gap import GapError, parse_gap  # deferred: heavy (pydantic)

    try:
        f = read_answers_file(args.file)
    except AnswersFileError as exc:
        raise UsageError(str(exc)) from None

    notes = f.notes or str(f.extra.get("narrative") or "")
    try:
        gap = parse_gap(f.extra.get("gap"), f"{args.file}: gap")
    except GapError as exc:
        raise UsageError("; ".join(exc.problems)) from None
    store = _store(args)
    cid = store.create_case(
        {"title": f.title, "who": f.who, "notes": notes}, f.answers, owner=args.owner, org_unit=args.unit
    )
    if gap is not None:
        store.set_gap(cid, gap)
    case = store.get_case(cid)
    result = _result_line(case["result_status"], case["primary"], case["confidence"])
    return reply(
        args.format,
        {"id": cid, "title": case["title"], "status": case["result_status"], "primary": case["primary"],
         "confidence": case["confidence"]},
        f"Saved case {cid}: {case['title'] or '(untitled)'} — {result}\n{cid}",
    )


def cmd_list(args: argparse.Namespace) -> int:
    store = _store(args)
    rows = store.list_cases(text=args.search, intervention=args.intervention, status=args.status)
    if args.format == "json":
        emit(rows, "json")
        return EXIT_OK
    if not rows:
        sys.stdout.write(
            "No saved cases" + (" match" if (args.search or args.intervention or args.status) else "") + ".\n"
        )
        return EXIT_OK
    lines = [f"{'id':>5}  {'updated':<16}  {'status':<6}  {'result':<28}  title"]
    for r in rows:
        when = (r["updated_at"] or "")[:16].replace("T", " ")
        result = _result_line(r["result_status"], r["primary"], r["confidence"])
        title = " ".join((r["title"] or "(untitled)").split())
        lines.append(f"{r['id']:>5}  {when:<16}  {r['status']:<6}  {result[:28]:<28}  {title[:70]}")
    sys.stdout.write("\n".join(lines) + "\n")
    return EXIT_OK


def format_case(case: dict[str, Any], prog: dict[str, Any]) -> str:
    from casework.gap import parse_gap  # deferred: heavy (pydantic)
    from knowledge.loader import load_knowledge  # deferred: heavy (pydantic, YAML)

    kb = load_knowledge()
    out = [f"Case {case['id']}: {case['title'] or '(untitled)'}"]
    out.append(
        f"  about: {case['who'] or '—'}   status: {case['status']}   created: {case['created_at'][:16]}   "
        f"updated: {case['updated_at'][:16]}"
    )
    if case.get("gap"):
        out.append(f"  gap: {parse_gap(case['gap']).sentence()}")
    if case.get("outcome"):
        out.append(f"  outcome: {case['outcome']} (closed {case.get('closed_on') or '—'})")
    if case["notes"]:
        out += ["", "Notes:"] + ["  " + line for line in case["notes"].splitlines()]
    out += ["", f"Result: {_result_line(case['result_status'], case['primary'], case['confidence'])}"]
    res = case.get("result") or {}
    if res.get("secondary"):
        out.append("  also: " + ", ".join(_name(s["intervention"]) for s in res["secondary"]))
    for r in res.get("ruled_out") or []:
        out.append(f"  not {_name(r['intervention'])}: {r['reason']}")
    out += ["", "Answers:"]
    for q, v in case["answers"].items():
        if q in kb.question_index:
            out.append(f"  {kb.question(q).text}\n      {kb.question(q).label_of(v)}")
        else:
            out.append(f"  {q}: {v}")
    out += ["", f"Consultations ({len(case['consultations'])}):"]
    for x in case["consultations"]:
        out.append(
            f"  {x['created_at'][:19].replace('T', ' ')}  rule base {x['rulebase_version']}  "
            f"{_result_line(x['status'], x['primary'], x['confidence'])}"
        )
    plan = case.get("plan")
    out += ["", f"Plan: {plan.get('title', '(untitled)') if plan else 'none saved'}"]
    for m in prog["measures"]:
        values = ", ".join(f"{v['date']} {v['value']:g}" for v in m["values"]) or "no values"
        out.append(f"  {m['measure']} — target {m['target']} by {m['date']}: {values}")
        out.append(f"      {m['message']}")
    for s in prog["sessions"]:
        out.append(
            f"  session {s['date']}: {len(s['done'])} of 8 events"
            + (f" (missing: {'; '.join(s['missing'])})" if s["missing"] else "")
        )
    return "\n".join(out)


def cmd_show(args: argparse.Namespace) -> int:
    from casework.plan import progress  # deferred: heavy (the rule base)

    store = _store(args)
    case = store.get_case(args.id)
    prog = progress(case["plan"], case["monitoring"])
    return reply(args.format, {**case, "progress": prog}, lambda: format_case(case, prog))


def cmd_export(args: argparse.Namespace) -> int:
    store = _store(args)
    data = store.export_case(args.id)
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    write_or_print(text, args.output, f"case {args.id} exported to {{}}")
    return EXIT_OK


def cmd_import(args: argparse.Namespace) -> int:
    p = Path(args.file)
    try:
        size = p.stat().st_size
        if p.is_dir():
            raise UsageError(f"{p}: is a folder, not a file")
        if size > MAX_IMPORT_BYTES:
            raise UsageError(f"{p}: {size} bytes is over the limit of {MAX_IMPORT_BYTES}")
        raw = p.read_bytes()
    except OSError as exc:
        raise UsageError(f"{p}: cannot read ({exc.strerror})") from None
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise UsageError(f"{p}: not UTF-8 text") from None
    except ValueError as exc:
        raise UsageError(
            f"{p}: not valid JSON ({exc}); import takes a file written by 'triage cases export' "
            "(to store an answers file, use 'triage cases save')"
        ) from None
    except RecursionError:
        raise UsageError(f"{p}: nested too deeply") from None
    store = _store(args)
    cid = store.import_case(data, owner=args.owner, org_unit=args.unit)  # never the file's own owner
    return reply(args.format, {"id": cid}, f"Imported as case {cid}\n{cid}")


def cmd_delete(args: argparse.Namespace) -> int:
    store = _store(args)
    case = store.get_case(args.id)
    if not args.yes and not confirm(
        f"Delete case {case['id']} '{case['title'] or '(untitled)'}' with its answers, "
        f"{len(case['consultations'])} consultation(s), {'its plan' if case['plan'] else 'no plan'} and "
        f"{len(case['monitoring'])} monitoring entries?"
    ):
        sys.stderr.write("Not deleted.\n")
        return EXIT_FAIL
    store.delete_case(args.id)
    return reply(args.format, {"deleted": args.id}, f"Deleted case {args.id}.")


def cmd_close(args: argparse.Namespace) -> int:
    row = _store(args).close_case(args.id, args.outcome, args.on)
    return reply(args.format, row, f"Closed case {row['id']}: {OUTCOME_LABELS[row['outcome']].lower()} on {row['closed_on']}.")


def cmd_reopen(args: argparse.Namespace) -> int:
    row = _store(args).reopen_case(args.id)
    return reply(args.format, row, f"Case {row['id']} is open again.")


def _months(args: argparse.Namespace) -> int:
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
    if not args.yes and not confirm(f"Delete these {len(rows)} case(s) with everything under them?"):
        sys.stderr.write("Nothing deleted.\n")
        return EXIT_FAIL
    gone = delete([r["id"] for r in rows])
    return reply(args.format, {"deleted": gone}, f"Deleted {len(gone)} case(s): {', '.join(map(str, gone)) or 'none'}.")


def cmd_history(args: argparse.Namespace) -> int:
    entries = _store(args).case_history(args.id)
    return reply(args.format, entries, "\n".join(describe(e) for e in entries) or "No entries.")


def cmd_assign(args: argparse.Namespace) -> int:
    _store(args).assign_case(args.id, args.owner, args.unit)
    unit = f" ({args.unit})" if args.unit else ""
    return reply(args.format, {"id": args.id, "owner": args.owner, "org_unit": args.unit},
                 f"Case {args.id} now belongs to {args.owner}{unit}.")


def cmd_purge(args: argparse.Namespace) -> int:
    months = _months(args)
    store = _store(args)
    rows = store.purge_candidates(months)
    return _delete_listed(
        args, rows, f"past the retention period ({months} months without a change)",
        lambda ids: store.purge(months, ids),
    )


def cmd_erase(args: argparse.Namespace) -> int:
    store = _store(args)
    rows = store.erasure_candidates(args.who)
    return _delete_listed(args, rows, "about this person", lambda ids: store.erase(args.who, ids))


# --------------------------------------------------------------------------- the command

# The actions of ``triage cases``, in the order its help lists them.
ACTIONS = ("save", "list", "show", "export", "import", "delete", "close", "reopen", "history", "assign", "purge",
           "erase")


def cmd_cases(args: argparse.Namespace) -> int:
    """Run the chosen action; store problems become a message, not a traceback."""
    from casework.store import CaseDataError, CaseNotFound, StoreError  # deferred: heavy (SQLAlchemy)

    action = getattr(args, "action", None)
    if action is None:
        args.cases_parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return action(args)
    except (CaseNotFound, CaseDataError) as exc:
        raise UsageError(str(exc)) from None
    except StoreError as exc:
        raise CommandFailed(str(exc)) from None


def _owner_options(a: argparse.ArgumentParser, note: str = "") -> None:
    a.add_argument("--owner", metavar="EMAIL",
                   help=f"the signed-in user the case belongs to (default: none, the admin-only bucket{note})")
    a.add_argument("--unit", metavar="UNIT", help="the organisation unit of the case")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "cases",
        help="saved cases: " + ", ".join(ACTIONS),
        description="Saved cases.\n\n" + paragraphs(__doc__, 1),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_database(p)
    p.set_defaults(func=cmd_cases, cases_parser=p, action=None)
    acts = p.add_subparsers(metavar="ACTION")

    def action(name: str, handler: Callable[[argparse.Namespace], int], help: str) -> argparse.ArgumentParser:  # noqa: A002
        assert name in ACTIONS, name  # an action missing from ACTIONS would be missing from the help
        a = acts.add_parser(name, help=help, description=help[:1].upper() + help[1:] + ".")
        add_format(a)
        a.set_defaults(action=handler)
        return a

    a = action("save", cmd_save, "save an answers or worked-case file as a new case")
    a.add_argument("file", help="YAML or JSON file with an 'answers' mapping")
    _owner_options(a)
    a = action("list", cmd_list, "list the saved cases, newest first")
    a.add_argument("--search", help="text to find in the title, who or notes")
    a.add_argument(
        "--intervention",
        choices=["coaching", "mentoring", "training", "counselling_referral", "consultancy", "work_system"],
        help="latest recommendation",
    )
    a.add_argument("--status", choices=["open", "closed"])
    a = action("show", cmd_show, "show one case: answers, result, consultations, plan and progress")
    a.add_argument("id", type=_case_id)
    a = action("export", cmd_export, "export a case as JSON")
    a.add_argument("id", type=_case_id)
    a.add_argument("-o", "--output", help="write to this file instead of standard output")
    a = action("import", cmd_import, "import an exported case as a new case")
    a.add_argument("file", help="a JSON file written by 'triage cases export'")
    _owner_options(a, "; the file's owner is never taken")
    a = action("delete", cmd_delete, "delete a case and everything under it")
    a.add_argument("id", type=_case_id)
    a.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    a = action("close", cmd_close, "close a case with its outcome")
    a.add_argument("id", type=_case_id)
    a.add_argument("--outcome", required=True, help=f"how it ended: {', '.join(OUTCOMES)}")
    a.add_argument("--on", metavar="DATE", help="the closing date, YYYY-MM-DD (default today)")
    a = action("reopen", cmd_reopen, "open a closed case again (clears its outcome)")
    a.add_argument("id", type=_case_id)
    a = action("history", cmd_history, "a case's own audit entries (who did what, when)")
    a.add_argument("id", type=_case_id)
    a = action("assign", cmd_assign, "give a case an owner and an organisation unit")
    a.add_argument("id", type=_case_id)
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
