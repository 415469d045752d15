"""Score a blind read (see docs/blind-read/): the readers' answers files against the expected outcomes.

Each answers file in ``answers/NN.json`` was filled by a reader who had only the case text
``cases/NN-*.md`` and the ``triage`` command. ``expected.yaml`` (never shown to the reader) lists, per
case file, the acceptable results: an intervention id, ``check_first`` or ``check_first:<lean>``, or a
gate id. Prints one line a case and the counts that matter, confident wrong results first. Run:

    uv run python scripts/blind_read.py [docs/blind-read | docs/blind-read/set2]
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rules.consult import consult  # noqa: E402


def result_key(c) -> str:
    if c.status == "complete":
        return c.primary
    if c.gate == "check_first":
        return "check_first" + (f":{c.lean}" if c.lean else "")
    return c.gate or c.status


def acceptable(exp: dict) -> list[str]:
    """The acceptable results of a case: ``acceptable`` (set 1), or ``expected`` with its ``lean`` (set 2:
    ``expected: check_first, lean: x`` accepts "check first" leaning to x)."""
    if "acceptable" in exp:
        return list(exp["acceptable"])
    if exp["expected"] == "check_first":
        return [f"check_first:{exp['lean']}"] if exp.get("lean") else ["check_first"]
    return [exp["expected"]]


def main(folder: Path) -> int:
    expected = yaml.safe_load((folder / "expected.yaml").read_text())
    counts = {"cases": 0, "match": 0, "lean_match": 0, "check_first_lean_match": 0, "complete_wrong": 0,
              "questions": 0, "asked": []}
    for name, exp in sorted(expected.items()):
        f = folder / "answers" / (name[:2] + ".json")
        if not f.exists():
            print(f"{name}: no answers file")
            continue
        c = consult(json.loads(f.read_text())["answers"])
        key, ok_list = result_key(c), acceptable(exp)
        ok = key in ok_list or (key.startswith("check_first") and "check_first" in ok_list)
        # right or leaning right: the expected intervention, or "check first" leaning to it
        lean_ok = not ok and key.startswith("check_first:") and key.split(":", 1)[1] in ok_list
        counts["cases"] += 1
        counts["questions"] += len(c.answers)
        counts["asked"].append(len(c.answers))
        counts["match"] += ok
        counts["lean_match"] += lean_ok
        counts["check_first_lean_match"] += key.startswith("check_first:") and key in ok_list
        counts["complete_wrong"] += c.status == "complete" and not ok
        conf = f" {c.confidence:.0%} {c.confidence_band()}" if c.confidence is not None else ""
        mark = "ok " if ok else ("~  " if lean_ok else "NO ")
        print(f"{mark} {name}: {key}{conf} (acceptable: {', '.join(ok_list)}); {len(c.answers)} questions")
    print(f"\n{counts['match']}/{counts['cases']} match; {counts['match'] + counts['lean_match']} right or leaning "
          f"right; complete but wrong: {counts['complete_wrong']}; "
          f"check first with the expected lean: {counts['check_first_lean_match']}; "
          f"questions asked: {counts['questions']} ({counts['questions'] / max(counts['cases'], 1):.1f} a case, "
          f"median {statistics.median(counts['asked']) if counts['asked'] else 0})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "docs" / "blind-read"))
