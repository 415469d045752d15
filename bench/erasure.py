"""What erasure that erases costs: deleting one case and then making its rows unreadable in the live
database files (SQLite: the write-ahead log folded in and truncated; PostgreSQL: VACUUM FULL of the
case tables, a WAL switch and a checkpoint), against the same deletion without that step, in the same
process, on stores of N cases. Also what finding a person across who, title and notes costs.

    uv run python bench/erasure.py [--cases 1000 10000] [--runs 5] [--database URL]

Without ``--database`` a temporary SQLite file is used (a PostgreSQL URL works too: use an empty
database, it is filled; a superuser role also runs the WAL switch and checkpoint).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa  # noqa: E402

from casework.erasure import scrub_after_delete  # noqa: E402
from casework.store import AnswerRow, CaseRow, ConsultationRow, Store, _now  # noqa: E402
from casework.store import base as store_base  # noqa: E402 - Store._scrub looks scrub_after_delete up here
from knowledge.loader import load_knowledge  # noqa: E402


def fill(store, n: int, answers: dict) -> list[int]:
    """Bring the store to ``n`` cases (copies of one consulted case, each with a plan-sized note)."""
    have = store.counts()["cases"]
    if have == 0:
        store.create_case({"title": "seed", "who": "Seed Person"}, answers)
    with store.engine.begin() as conn:
        now = _now()
        result = conn.execute(sa.select(ConsultationRow.result).limit(1)).scalar()
        for i in range(max(have, 1), n):
            cid = conn.execute(sa.insert(CaseRow).values(
                title=f"case {i}", who=f"Person {i}", notes="notes " * 40, status="open", created_at=now,
                updated_at=now, result_status="complete", primary_intervention="work_system")).inserted_primary_key[0]
            conn.execute(sa.insert(AnswerRow), [
                {"case_id": cid, "question_id": q, "value": v, "position": k} for k, (q, v) in enumerate(answers.items())])
            conn.execute(sa.insert(ConsultationRow).values(
                case_id=cid, created_at=now, answers=answers, result=result, rulebase_version="bench",
                status="complete", primary_intervention="work_system", confidence=0.9))
    return [r["id"] for r in store.list_cases(limit=10**6)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cases", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--database", help="SQLAlchemy URL of an empty database (default: a temporary SQLite file)")
    args = ap.parse_args()

    url = args.database or f"sqlite:///{tempfile.mkdtemp(prefix='triage-bench-')}/bench.sqlite3"
    store = Store(url)
    answers = next(c for c in load_knowledge().cases if c.id == "call-centre").answers
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.2f}; backend {store.backend}; medians of {args.runs} runs")
    for n in args.cases:
        ids = fill(store, n + 2 * args.runs, answers)
        plain, scrubbed, scrub_only, find = [], [], [], []
        for _ in range(args.runs):  # interleaved: a deletion without the scrub, then one with it
            cid = ids.pop()
            store_base.scrub_after_delete = lambda engine: {}  # the baseline: the same deletion, no scrub
            t = time.perf_counter()
            store.delete_case(cid)
            plain.append(time.perf_counter() - t)
            store_base.scrub_after_delete = scrub_after_delete
            cid = ids.pop()
            t = time.perf_counter()
            store.delete_case(cid)
            scrubbed.append(time.perf_counter() - t)
            t = time.perf_counter()
            scrub_after_delete(store.engine)
            scrub_only.append(time.perf_counter() - t)
            t = time.perf_counter()
            store.erasure_candidates("P. 17")
            find.append(time.perf_counter() - t)
        m = {k: statistics.median(v) * 1000 for k, v in
             (("plain", plain), ("scrubbed", scrubbed), ("scrub", scrub_only), ("find", find))}
        print(f"  {n:>6} cases: delete {m['plain']:8.1f} ms; delete and scrub {m['scrubbed']:8.1f} ms "
              f"({m['scrubbed'] / m['plain']:.1f}x); the scrub alone {m['scrub']:8.1f} ms; "
              f"find a person across who/title/notes {m['find']:7.1f} ms")
    store.close()


if __name__ == "__main__":
    main()
