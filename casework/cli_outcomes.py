"""``triage outcomes`` and ``triage cases close``: what became of the cases.

    triage cases close ID --outcome closed|partly|not_closed|stopped [--on YYYY-MM-DD]
    triage cases reopen ID
    triage outcomes [--by intervention|route|unit|period] [--format text|json|csv] [-o FILE]

``outcomes`` gives, per intervention (or route, unit, period), the number of cases, how many are open,
closed, partly closed, not closed and stopped, the median days to close and how many reached their
monitored target; ``--format json`` gives rows ``{intervention, cases, open, closed, partly,
not_closed, stopped, median_days_to_close, …}``. ``--cases`` adds the most and least successful
cases to look at more closely (the Success Case Method).
"""

from __future__ import annotations

import argparse
import sys

from casework.cli import EXIT_FAIL, EXIT_OK, UsageError, emit


def cmd_close(args: argparse.Namespace) -> int:
    from casework.cli_cases import _store
    from casework.outcomes import OUTCOME_LABELS

    row = _store(args).close_case(args.id, args.outcome, args.on)
    if args.format == "json":
        emit(row, "json")
    else:
        sys.stdout.write(f"Closed case {row['id']}: {OUTCOME_LABELS[row['outcome']].lower()} on {row['closed_on']}.\n")
    return EXIT_OK


def cmd_reopen(args: argparse.Namespace) -> int:
    from casework.cli_cases import _store

    row = _store(args).reopen_case(args.id)
    emit(row if args.format == "json" else f"Case {row['id']} is open again.", args.format)
    return EXIT_OK


def add_case_actions(action) -> None:
    """The ``close`` and ``reopen`` actions of ``triage cases``."""
    from casework.cli_cases import _case_id
    from casework.outcomes import OUTCOMES

    a = action("close", cmd_close, "close a case with its outcome")
    a.add_argument("id", type=_case_id)
    a.add_argument("--outcome", required=True, help=f"how it ended: {', '.join(OUTCOMES)}")
    a.add_argument("--on", metavar="DATE", help="the closing date, YYYY-MM-DD (default today)")
    a = action("reopen", cmd_reopen, "open a closed case again (clears its outcome)")
    a.add_argument("id", type=_case_id)


def cmd_outcomes(args: argparse.Namespace) -> int:
    from casework.cli_report import write_or_print
    from casework.outcomes import OutcomeError, case_frame, json_rows, notable, summarise
    from casework.store import Store, StoreError

    try:
        with Store(args.database) as store:
            frame = case_frame(store.outcome_rows())
        table = summarise(frame, args.by)
    except OutcomeError as exc:
        raise UsageError(str(exc)) from None
    except StoreError as exc:
        sys.stderr.write(f"triage: error: {exc}\n")
        return EXIT_FAIL
    best, worst = notable(frame) if args.cases else (None, None)
    if args.format == "csv":
        text = table.to_csv(index=False)
    elif args.format == "json":
        import json

        data: object = json_rows(table)
        if args.cases:
            data = {"outcomes": data, "most_successful": json_rows(best[["id", "title", "intervention", "outcome",
                                                                         "days_to_close", "reached_target"]]),
                    "least_successful": json_rows(worst[["id", "title", "intervention", "outcome",
                                                         "days_to_close", "reached_target"]])}
        text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    else:
        import pandas as pd

        text = _text(table, args.by) if not table.empty else "No saved cases.\n"
        if args.cases:
            for head, part in (("Most successful", best), ("Least successful", worst)):
                text += f"\n{head}:\n" + ("".join(
                    f"  case {r.id}: {' '.join(str(r.title).split())[:60] or '(untitled)'} — {r.intervention}, "
                    f"{r.outcome}" + (f", {int(r.days_to_close)} days" if pd.notna(r.days_to_close) else "") + "\n"
                    for r in part.itertuples()) or "  none yet\n")
    write_or_print(text, args.output, "outcomes written to {}")
    return EXIT_OK


def _text(table, by: str) -> str:
    t = table.copy()
    import pandas as pd

    t["median_days_to_close"] = t["median_days_to_close"].map(lambda x: f"{x:g}" if pd.notna(x) else "—")
    t["reached_share"] = t["reached_share"].map(lambda x: f"{x:.0%}" if pd.notna(x) else "—")
    return t.to_string(index=False) + "\n"


def register(sub: argparse._SubParsersAction) -> None:
    from casework.outcomes import GROUPS

    p = sub.add_parser("outcomes", help="outcomes across the saved cases, per intervention",
                       description=(__doc__ or "").split("\n\n")[2])
    p.add_argument("--by", choices=GROUPS, default="intervention", help="group by (default: intervention)")
    p.add_argument("--format", choices=["text", "json", "csv"], default="text")
    p.add_argument("--cases", action="store_true", help="also the most and least successful cases")
    p.add_argument("-o", "--output", help="write to this file instead of standard output")
    p.add_argument("--database", metavar="URL", help="SQLAlchemy URL of the case database")
    p.set_defaults(func=cmd_outcomes)
