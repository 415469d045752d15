"""Benchmark of the exhaustive question-tree check behind ``triage verify``.

Prints the median time to enumerate the whole adaptive question tree of the shipped rule base
(every distinct state expanded once, see rules/tree.py), the size of the tree it covers, and, as the
baseline measured in the same process, what walking the same paths one by one would take (the
per-path cost of walk + fire + settle on random complete paths, times the number of paths). Run:

    uv run python bench/verify.py [--runs 3] [--paths 2000]
"""

from __future__ import annotations

import argparse
import platform
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--paths", type=int, default=2000, help="random complete paths for the baseline")
    args = ap.parse_args()

    from rules.evaluate import Compiled
    from rules.model import load_rulebase
    from rules.settle import settle
    from rules.tree import TreeEnumerator
    from rules.verify import option_classes, verify

    rb = load_rulebase()
    classes = option_classes(rb)
    times = []
    found = None
    for _ in range(args.runs):
        t = time.perf_counter()
        found = TreeEnumerator(rb, classes).run()
        times.append(time.perf_counter() - t)
    enum_s = statistics.median(times)

    # baseline: the same check path by path
    comp = Compiled(rb)
    rnd = random.Random(11)
    t = time.perf_counter()
    for _ in range(args.paths):
        accepted: dict[str, str] = {}
        while True:
            w = comp.walk(accepted, settle_stop=False)  # the tree is enumerated without the settled stop
            if w.next_question is None:
                break
            accepted[w.next_question] = rnd.choice(classes[w.next_question])[0]
        fired, _ = comp.fire(w.accepted)
        settle(rb, fired, w.accepted)
    per_path = (time.perf_counter() - t) / args.paths
    baseline_s = per_path * found.paths

    t = time.perf_counter()
    report = verify()
    verify_s = time.perf_counter() - t

    print(f"machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}, "
          f"{len(rb.rules)} rules, {len(rb.knowledge.questions)} questions")
    print(f"tree: {found.paths:,} complete paths (answers merged into classes no condition tells apart), "
          f"{found.states:,} distinct states, {found.leaves:,} leaves settled; "
          f"gaps {found.gap_paths}, conflicts {found.conflict_paths}; complete={found.complete}")
    print(f"enumeration: median {enum_s:.2f} s of {args.runs} runs")
    print(f"baseline, path by path: {per_path * 1e6:.0f} us a path x {found.paths:,} paths = "
          f"{baseline_s / 3600:,.0f} h  (ratio {baseline_s / enum_s:,.0f}x)")
    print(f"triage verify (all checks, one run): {verify_s:.2f} s, {len(report['errors'])} errors, "
          f"exhaustive={report['tree']['exhaustive']}")


if __name__ == "__main__":
    main()
