"""What access control costs in the case store: the ownership filter in the queries and the audit
entry written with each action.

A store of N cases spread over 20 owners in 5 units; each operation is timed for a team leader
(filtered to their own cases, audited) and, as the baseline in the same process, for the admin
(no filter) and for the same call without the audit entry. Medians of several runs. Run:

    uv run python bench/access.py [--cases 2000] [--runs 7] [--database URL]

Without ``--database`` a temporary SQLite file is used (a PostgreSQL URL works too; use an empty
database, it is filled).
"""

from __future__ import annotations

import argparse
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
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--database", help="SQLAlchemy URL of an empty database (default: a temporary SQLite file)")
    args = ap.parse_args()

    import sqlalchemy as sa

    from casework.access import Actor
    from casework.store import AnswerRow, CaseRow, ConsultationRow, Store, _now
    from knowledge.loader import load_knowledge

    url = args.database or f"sqlite:///{tempfile.mkdtemp(prefix='triage-bench-')}/bench.sqlite3"
    store = Store(url, actor=None)
    answers = next(c for c in load_knowledge().cases if c.id == "call-centre").answers
    leaders = [Actor(f"leader{i}@example.test", "team_leader", units=(f"unit{i % 5}",)) for i in range(20)]
    ld = Actor("ld@example.test", "ld", units=("unit0",))
    admin = Actor("admin@example.test", "admin")
    first = store.create_case({"title": "seed"}, answers, actor=leaders[0])
    with store.engine.begin() as conn:  # fill quickly: copies of the seed case's rows
        now = _now()
        result = conn.execute(sa.select(ConsultationRow.result).where(ConsultationRow.case_id == first)).scalar()
        for i in range(1, args.cases):
            a = leaders[i % 20]
            cid = conn.execute(sa.insert(CaseRow).values(
                title=f"case {i}", who="", notes="", status="open", created_at=now, updated_at=now,
                owner=a.id, org_unit=a.unit, result_status="complete", primary_intervention="work_system",
            )).inserted_primary_key[0]
            conn.execute(sa.insert(AnswerRow), [
                {"case_id": cid, "question_id": q, "value": v, "position": n} for n, (q, v) in enumerate(answers.items())
            ])
            conn.execute(sa.insert(ConsultationRow).values(
                case_id=cid, created_at=now, answers=answers, result=result, rulebase_version="bench",
                status="complete", primary_intervention="work_system", confidence=0.9))
    me = leaders[0]
    mine = [r["id"] for r in store.list_cases(actor=me, limit=100_000)]
    case_id = mine[len(mine) // 2]

    def load_without_audit():
        with store._tx() as s:
            return store._load(s, store._case(s, case_id, me))

    r = args.runs
    rows = {
        "list (team leader: own cases)": median_ms(lambda: store.list_cases(actor=me), r, 20),
        "list (L&D: one unit)": median_ms(lambda: store.list_cases(actor=ld), r, 20),
        "list (admin: every case, baseline)": median_ms(lambda: store.list_cases(actor=admin), r, 20),
        "open a case (audited view, coalesced)": median_ms(lambda: store.get_case(case_id, actor=me), r, 50),
        "open a case without the audit check (baseline)": median_ms(load_without_audit, r, 50),
        "refused: someone else's case": median_ms(lambda: _refused(store, first, leaders[1]), r, 20),
        "update a case (with its audit entry)": median_ms(
            lambda: store.update_case(case_id, {"notes": "n"}, actor=me), r, 20),
    }
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.2f}; backend {store.backend}; {args.cases} cases, "
          f"{len(mine)} of them the team leader's; medians of {r} runs")
    base_list = rows["list (admin: every case, baseline)"]
    base_open = rows["open a case without the audit check (baseline)"]
    for name, ms in rows.items():
        ratio = ""
        if name.startswith("list") and "baseline" not in name:
            ratio = f"  ({ms / base_list:.2f}x the admin's list)"
        elif name.startswith("open a case (") or name.startswith("refused"):
            ratio = f"  ({ms / base_open:.2f}x without audit)"
        print(f"  {name:<48} {ms:8.2f} ms{ratio}")
    store.close()


def _refused(store, case_id, actor):
    from casework.store import CaseNotFound

    try:
        store.get_case(case_id, actor=actor)
    except CaseNotFound:
        return


if __name__ == "__main__":
    main()
