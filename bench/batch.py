"""Benchmark of batch triage, file to file.

    uv run python bench/batch.py [--n 10000] [--runs 3] [--workers 1,2] [--random-share 0.2] [--no-xlsx]

Generates N random valid cases (most answer the questions along the adaptive path with random
options, ``--random-share`` of them fill random questions at random), writes them to a CSV file,
and times the whole batch: read and validate the file, triage every row, write the results CSV.
Prints cases per second (median of ``--runs`` runs per worker setting), peak memory, and in the
same process two baselines: a plain-Python pass over the same rows (what consult() computes per row —
normalise, walk, fire, settle or conclude — with the plain evaluator; no cache, no workers, no files)
and the experta engine per case (``consult()``).
Then the same batch with Excel in and out: reading the .xlsx (python-calamine), writing the results
.xlsx with its summary sheet (xlsxwriter), end to end.
Speed is reported here, never asserted in a test.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from casework import batch  # noqa: E402


def cpu() -> float:
    """CPU seconds used by this process and its finished worker processes."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def end_to_end(src: Path, dst: Path, workers: int) -> tuple[float, float, dict]:
    """(wall seconds, CPU seconds, summary) of one batch from file to file."""
    c, t = cpu(), time.perf_counter()
    rows, columns, _messages = batch.read_table(src)
    results = batch.triage_rows(rows, workers=workers)
    batch.write_table(results, batch.output_columns(columns), dst)
    return time.perf_counter() - t, cpu() - c, batch.summarise(results)


def plain_pass(rows: list[dict]) -> float:
    """What consult() computes for each row, with the plain evaluator instead of experta: normalise,
    read answers saved before ``concern``, walk, fire, and settle — a finished path through
    ``conclude`` (which tries the other options of each vague answer), as consult() does. No cache,
    no workers, no file reading or writing, no result rows."""
    from rules.consult import conclude, normalise_answers, read_legacy
    from rules.evaluate import compiled
    from rules.model import load_rulebase
    from rules.settle import settle

    rb = load_rulebase()
    comp = compiled(rb)
    qids = rb.knowledge.question_index
    t = time.perf_counter()
    for row in rows:
        clean = normalise_answers({k: v for k, v in row.items() if k in qids and v}, rb)
        given, _legacy = read_legacy(clean)
        w = comp.walk(given)
        fired, _ = comp.fire(w.accepted)
        if w.next_question is None:
            conclude(rb, w.accepted, fired)
        else:
            settle(rb, fired, w.accepted)
    return time.perf_counter() - t


def experta_per_case(rows: list[dict], n: int) -> float:
    from rules.consult import consult
    from rules.model import load_rulebase

    qids = load_rulebase().knowledge.question_index
    sample = rows[:n]
    t = time.perf_counter()
    for row in sample:
        consult({k: v for k, v in row.items() if k in qids and v})
    return (time.perf_counter() - t) / len(sample)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000, help="number of cases (default 10,000)")
    ap.add_argument("--runs", type=int, default=3, help="runs per setting; the median is reported")
    ap.add_argument("--workers", default="1,2", help="comma-separated worker counts to time (default 1,2)")
    ap.add_argument("--random-share", type=float, default=0.2, help="share of fully random rows (default 0.2)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--experta-cases", type=int, default=200, help="cases timed with consult() (default 200)")
    ap.add_argument("--no-xlsx", action="store_true", help="skip the runs with Excel in and out")
    args = ap.parse_args()

    t0 = time.perf_counter()
    from rules.evaluate import compiled
    from rules.model import load_rulebase

    rb = load_rulebase()
    compiled(rb)
    load_s = time.perf_counter() - t0

    cpus = os.cpu_count()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    print(f"machine: {cpus} cores, load average {load:.2f} at start; Python {platform.python_version()}")
    if load > (cpus or 1) - 0.5:
        print("  (the cores are busy with other work: wall times are slower than on a free machine; see CPU)")
    print(f"rule base: {len(rb.rules)} rules, {len(rb.knowledge.questions)} questions (loaded in {load_s:.2f} s)")

    rows = batch.sample_rows(args.n, seed=args.seed, random_share=args.random_share)
    qids = rb.knowledge.question_index
    distinct = len({frozenset((k, v) for k, v in r.items() if k in qids) for r in rows})
    answered = statistics.mean(sum(1 for k in r if k in qids) for r in rows)
    print(
        f"cases: {args.n:,} ({args.random_share:.0%} fully random, the rest along the adaptive path); "
        f"{distinct:,} distinct answer rows; {answered:.1f} answers a row on average"
    )

    with tempfile.TemporaryDirectory(prefix="triage-bench-") as tmp:
        src, dst = Path(tmp) / "cases.csv", Path(tmp) / "results.csv"
        src.write_bytes(batch.rows_to_csv(rows))
        print(f"input CSV: {src.stat().st_size / 1024 / 1024:.1f} MB")

        medians: dict[int, float] = {}
        for w in [int(x) for x in args.workers.split(",") if x.strip()]:
            times, cpu_times = [], []
            for _ in range(args.runs):
                gc.collect()
                s, c, summary = end_to_end(src, dst, w)
                times.append(s)
                cpu_times.append(c)
            med = statistics.median(times)
            medians[w] = med
            print(
                f"end to end, workers={w}: median {med:.2f} s of {args.runs} runs "
                f"({', '.join(f'{x:.2f}' for x in times)}) = {args.n / med:,.0f} cases/s; "
                f"CPU {statistics.median(cpu_times):.2f} s"
            )
        print(f"  outcomes: {', '.join(f'{k} {v:,}' for k, v in summary['by_outcome'].items() if v)}")

        plain = statistics.median(plain_pass(rows) for _ in range(args.runs))  # wall seconds
        print(
            f"plain-Python pass (normalise + walk + fire + settle/conclude per row, no cache/workers/files): "
            f"median {plain:.2f} s = {args.n / plain:,.0f} cases/s"
        )
        for w, med in medians.items():
            print(f"  ratio end to end (workers={w}) / plain pass: {med / plain:.2f}")

        per = experta_per_case(rows, min(args.experta_cases, args.n))
        print(
            f"experta consult(): {per * 1000:.2f} ms a case ({1 / per:,.0f} cases/s; "
            f"{args.n:,} cases would take about {per * args.n:,.0f} s)"
        )

        gc.collect()
        tracemalloc.start()
        end_to_end(src, dst, 1)
        _cur, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(
            f"memory: peak {peak / 1024 / 1024:.0f} MB allocated by Python during one run (tracemalloc, workers=1); "
            f"process peak RSS {rss:.0f} MB, largest worker {child:.0f} MB"
        )

        if not args.no_xlsx:
            xsrc, xdst = Path(tmp) / "cases.xlsx", Path(tmp) / "results.xlsx"
            r0, c0, _ = batch.read_table(src)
            batch.write_table(r0, c0, xsrc, "xlsx")
            reads, writes, totals = [], [], []
            for _ in range(args.runs):
                gc.collect()
                t = time.perf_counter()
                rows_x, cols_x, _ = batch.read_table(xsrc)
                reads.append(time.perf_counter() - t)
                results = batch.triage_rows(rows_x)
                t2 = time.perf_counter()
                batch.write_table(results, batch.output_columns(cols_x), xdst, summary=batch.summarise(results))
                writes.append(time.perf_counter() - t2)
                totals.append(time.perf_counter() - t)
            print(
                f"Excel in and out, workers=1 (median of {args.runs}): read the .xlsx "
                f"{statistics.median(reads):.2f} s, write the results .xlsx with the summary sheet "
                f"{statistics.median(writes):.2f} s, end to end {statistics.median(totals):.2f} s "
                f"= {args.n / statistics.median(totals):,.0f} cases/s "
                f"(input {xsrc.stat().st_size / 1024 / 1024:.1f} MB, results {xdst.stat().st_size / 1024 / 1024:.1f} MB)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
