"""``triage outcomes``: what became of the saved cases, per intervention (or route, unit, period).

    triage outcomes [--by intervention|route|unit|period] [--format text|json|csv] [--cases] [-o FILE]

Per intervention (or route, unit, period): the number of cases, how many are open, closed, partly
closed, not closed and stopped, the median days to close and how many reached their monitored
target. ``--format json`` gives rows {intervention, cases, open, closed, partly, not_closed, stopped,
median_days_to_close, ...}. ``--cases`` adds the most and least successful cases to look at more
closely (the Success Case Method). Cases are closed with ``triage cases close``.
"""

from __future__ import annotations

import argparse
import json

from casework.cli.common import (
    EXIT_OK,
    CommandFailed,
    UsageError,
    add_database,
    add_format,
    paragraphs,
    write_or_print,
)
from casework.outcomes import GROUPS, OutcomeError, case_frame, json_rows, notable, summarise

CASE_COLUMNS = ["id", "title", "intervention", "outcome", "days_to_close", "reached_target"]


def cmd_outcomes(args: argparse.Namespace) -> int:
    import pandas as pd  # deferred: heavy (pandas)

    from casework.store import Store, StoreError  # deferred: heavy (SQLAlchemy)

    try:
        with Store(args.database) as store:
            frame = case_frame(store.outcome_rows())
        table = summarise(frame, args.by)
    except OutcomeError as exc:
        raise UsageError(str(exc)) from None
    except StoreError as exc:
        raise CommandFailed(str(exc)) from None
    best, worst = notable(frame) if args.cases else (None, None)
    if args.format == "csv":
        text = table.to_csv(index=False)
    elif args.format == "json":
        data: object = json_rows(table)
        if args.cases:
            data = {"outcomes": data, "most_successful": json_rows(best[CASE_COLUMNS]),
                    "least_successful": json_rows(worst[CASE_COLUMNS])}
        text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    else:
        text = _text(table) if not table.empty else "No saved cases.\n"
        if args.cases:
            for head, part in (("Most successful", best), ("Least successful", worst)):
                text += f"\n{head}:\n" + ("".join(
                    f"  case {r.id}: {' '.join(str(r.title).split())[:60] or '(untitled)'} — {r.intervention}, "
                    f"{r.outcome}" + (f", {int(r.days_to_close)} days" if pd.notna(r.days_to_close) else "") + "\n"
                    for r in part.itertuples()) or "  none yet\n")
    write_or_print(text, args.output, "outcomes written to {}")
    return EXIT_OK


def _text(table) -> str:
    t = table.copy()
    for col, fmt in (("median_days_to_close", "{:g}"), ("reached_share", "{:.0%}")):
        t[col] = [("—" if missing else fmt.format(x)) for x, missing in zip(t[col], t[col].isna(), strict=True)]
    return t.to_string(index=False) + "\n"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "outcomes",
        help="outcomes across the saved cases, per intervention",
        description=paragraphs(__doc__, 1, 3),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--by", choices=GROUPS, default="intervention", help="group by (default: intervention)")
    add_format(p, "text", "json", "csv")
    p.add_argument("--cases", action="store_true", help="also the most and least successful cases")
    p.add_argument("-o", "--output", help="write to this file instead of standard output")
    add_database(p)
    p.set_defaults(func=cmd_outcomes)
