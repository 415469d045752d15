"""Questions asked per worked case, before and after the exact stopping rule.

    uv run python bench/questions.py [--markdown]

"Before" is ``bench/data/questions_before.json`` (the release before the rule, commit 464daac);
"after" is this checkout: ``len(consult(case.answers).answers)`` — the questions on the path up to
where the consultation ends. Prints the median and total of each and, with ``--markdown``, the table
per case that docs/benchmarks.md shows.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from rules.consult import consult
from rules.model import load_rulebase

BEFORE = Path(__file__).with_name("data") / "questions_before.json"


def asked_now() -> dict[str, int]:
    rb = load_rulebase()
    return {c.id: len(consult(dict(c.answers), rb).answers) for c in rb.knowledge.cases}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--markdown", action="store_true", help="print the table per case")
    args = ap.parse_args()
    before = json.loads(BEFORE.read_text())["asked"]
    after = asked_now()
    both = sorted(set(before) & set(after))
    if args.markdown:
        print("| worked case | before | after |\n|---|---|---|")
        for cid in both:
            print(f"| {cid} | {before[cid]} | {after[cid]} |")
    b = [before[c] for c in both]
    a = [after[c] for c in both]
    print(f"worked cases: {len(both)}; before: median {statistics.median(b):g}, total {sum(b)}; "
          f"after: median {statistics.median(a):g}, total {sum(a)}; fewer on {sum(x < y for x, y in zip(a, b, strict=True))}, "
          f"more on {sum(x > y for x, y in zip(a, b, strict=True))}")


if __name__ == "__main__":
    main()
