"""Benchmark of the triage core: engine build, a full consultation, the adaptive path, explanations.

Prints medians of several runs and ratios against a plain-Python baseline measured in the same
process (the evaluator that fires the same rule rows without experta). Run:

    uv run python bench/consult.py [--runs 7] [--cases 200]
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

from timing import median_ms  # noqa: E402  (bench/timing.py, beside this script)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--cases", type=int, default=200, help="random complete answer sets to time")
    args = ap.parse_args()

    t0 = time.perf_counter()
    from rules.model import load_rulebase

    rb = load_rulebase()
    t_load = time.perf_counter() - t0

    from rules.consult import consult
    from rules.engine import build_engine_classes, run_engine
    from rules.evaluate import compiled
    from rules.explain import explain
    from rules.settle import settle

    t = time.perf_counter()
    classes = build_engine_classes(rb)
    engines = [c() for c in classes]
    for e in engines:
        e.reset()
    t_build = time.perf_counter() - t

    # complete answer sets along the adaptive path, with random options
    rnd = random.Random(1)
    comp = compiled(rb)
    opts = {q.id: q.option_values() for q in rb.knowledge.questions}
    sets = [c.answers for c in rb.knowledge.cases]
    usual = {"gap_defined": "yes", "worth_closing": "yes", "risk_of_harm": "no"}  # most real cases go on
    while len(sets) < args.cases:
        answers: dict[str, str] = {}
        while (w := comp.walk(answers)).next_question:
            q = w.next_question
            answers[q] = usual[q] if q in usual and rnd.random() < 0.9 else rnd.choice(opts[q])
        sets.append(answers)
    path_lengths = [len(comp.walk(a).accepted) for a in sets]

    def full_consult():
        comp.clear_caches()  # every run starts cold
        for a in sets:
            consult(a, rb)

    def plain_baseline():
        comp.clear_caches()  # every run starts cold
        for a in sets:
            w = comp.walk(a)
            fired, _ = comp.fire(w.accepted)
            settle(rb, fired, w.accepted)

    def engine_only():
        for a in sets:
            run_engine(rb, a)

    def adaptive_path():
        comp.clear_caches()  # every run starts cold
        # question by question: one consult() per step, as the app and the interactive CLI do
        for a in sets[:20]:
            acc: dict[str, str] = {}
            for q in comp.walk(a).path:
                consult(acc, rb)
                acc[q] = a[q]
            consult(acc, rb)

    def explained():
        comp.clear_caches()  # every run starts cold
        for a in sets[:20]:
            explain(consult(a, rb), rb)

    n = len(sets)
    steps = sum(len(comp.walk(a).path) + 1 for a in sets[:20])
    per_consult = median_ms(full_consult, args.runs, 1) / n
    per_plain = median_ms(plain_baseline, args.runs, 1) / n
    per_engine = median_ms(engine_only, args.runs, 1) / n
    per_step = median_ms(adaptive_path, args.runs, 1) / steps
    per_explain = median_ms(explained, max(3, args.runs // 2), 1) / 20

    print(f"machine: {platform.machine()}, {platform.processor() or 'cpu'}, Python {platform.python_version()}, "
          f"{__import__('os').cpu_count()} cores")
    print(f"rule base: {len(rb.rules)} rules, {len(rb.knowledge.questions)} questions, version {rb.version}")
    print(f"answer sets: {n} (worked cases + random complete paths), median path {statistics.median(path_lengths)} questions")
    print(f"load knowledge + rules:        {t_load * 1000:8.1f} ms (once per process)")
    print(f"build experta engines:         {t_build * 1000:8.1f} ms (once per run at the same time: a pool)")
    print(f"consult(), all answers given:  {per_consult:8.3f} ms  median of {args.runs} runs")
    print(f"  of which experta firing:     {per_engine:8.3f} ms")
    print(f"plain-Python baseline:         {per_plain:8.3f} ms  (same rules, no experta)")
    print(f"  ratio consult / baseline:    {per_consult / per_plain:8.1f} x")
    print(f"adaptive path, per question:   {per_step:8.3f} ms  (one consult() per step)")
    print(f"explanation (how, why not, decisive, confidence): {per_explain:8.2f} ms per result")


if __name__ == "__main__":
    main()
