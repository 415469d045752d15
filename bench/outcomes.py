"""What the outcomes table costs: reading every visible case with its route, gap, plan and monitoring
(``Store.outcome_rows``), one row per case (``case_frame``, which also tells whether the monitored
target was reached) and the aggregation (``summarise``), against the baseline of listing the same
cases (``list_cases``) in the same process. Medians of several runs. Run:

    uv run python bench/outcomes.py [--cases 2000] [--runs 5] [--database URL]

Without ``--database`` a temporary SQLite file is used.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from timing import median_ms  # noqa: E402  (bench/timing.py, beside this script)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cases", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--database", help="SQLAlchemy URL of an empty database (default: a temporary SQLite file)")
    args = ap.parse_args()

    import sqlalchemy as sa

    from casework.access import Actor
    from casework.outcomes import OUTCOMES, case_frame, summarise
    from casework.plan import build_plan
    from casework.store import AnswerRow, CaseRow, MonitoringRow, PlanRow, Store, _now
    from knowledge.loader import load_knowledge
    from knowledge.schema import INTERVENTION_IDS

    url = args.database or f"sqlite:///{tempfile.mkdtemp(prefix='triage-bench-')}/bench.sqlite3"
    store = Store(url, actor=None)
    admin = Actor("admin@example.test", "admin")
    wc = next(c for c in load_knowledge().cases if c.id == "presentation-skills")
    store.create_case({"title": "seed"}, wc.answers, actor=admin)
    plan = build_plan(wc.answers, profile=None)
    plan["measures"] = [{"measure": "Quotes a day", "target": "at least 8", "date": "2030-01-01"}]
    now = _now()
    with store.engine.begin() as conn:  # fill quickly: one plan and three monitoring values a case
        for i in range(1, args.cases):
            status = "closed" if i % 3 else "open"
            cid = conn.execute(sa.insert(CaseRow).values(
                title=f"case {i}", who="", notes="", status=status, created_at=now - dt.timedelta(days=200),
                updated_at=now, owner=f"u{i % 20}@example.test", org_unit=f"unit{i % 5}", result_status="complete",
                primary_intervention=INTERVENTION_IDS[i % 6], outcome=OUTCOMES[i % 4] if status == "closed" else None,
                closed_on=(now - dt.timedelta(days=i % 150)).date() if status == "closed" else None,
                gap={"measure": "Quotes a day", "current": 4, "target": 8, "unit": "", "by": None},
            )).inserted_primary_key[0]
            conn.execute(sa.insert(AnswerRow).values(case_id=cid, question_id="concern", value="shortfall", position=0))
            conn.execute(sa.insert(PlanRow).values(case_id=cid, intervention="coaching", plan=plan,
                                                   created_at=now, updated_at=now))
            conn.execute(sa.insert(MonitoringRow), [
                {"case_id": cid, "entry_date": (now - dt.timedelta(days=30 * k)).date(), "kind": "measure",
                 "measure": "Quotes a day", "value": 4 + k + i % 3, "note": "", "events": [], "created_at": now}
                for k in range(3)])
    rows = store.outcome_rows(actor=admin)
    frame = case_frame(rows)
    r = args.runs
    figures = {
        "list the cases (baseline)": median_ms(lambda: store.list_cases(actor=admin, limit=100_000), r, 1),
        "read the cases for outcomes (outcome_rows)": median_ms(lambda: store.outcome_rows(actor=admin), r, 1),
        "one row per case (case_frame)": median_ms(lambda: case_frame(rows), r, 1),
        "aggregate per intervention (summarise)": median_ms(lambda: summarise(frame), r, 3),
    }
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.2f}; backend {store.backend}; {args.cases} cases with a plan and "
          f"3 monitoring values each; medians of {r} runs")
    base = figures["list the cases (baseline)"]
    for name, ms in figures.items():
        print(f"  {name:<46} {ms:9.1f} ms  ({ms / base:.1f}x the list)")
    total = sum(v for k, v in figures.items() if "baseline" not in k)
    print(f"  {'the Outcomes table in all':<46} {total:9.1f} ms  ({total / base:.1f}x the list)")
    store.close()


if __name__ == "__main__":
    main()
