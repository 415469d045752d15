"""The rule base as a decision table: one row a rule, one column a condition.

For the knowledge pages of the app and for L&D staff who review the rules
(``triage rules --format csv|markdown``). Columns: rule, layer, file, then one column per question
and per finding the rules test, then conclusion, certainty, rationale and sources.
"""

from __future__ import annotations

import csv
import io

from .model import RuleBase, load_rulebase


def condition_columns(rb: RuleBase) -> tuple[list[str], list[str]]:
    """(question ids, finding ids) that some rule tests, in knowledge / vocabulary order."""
    qs = [q.id for q in rb.knowledge.questions if any(q.id in r.when.answers for r in rb.rules)]
    fs = [
        f
        for f in rb.findings
        if any(f in r.when.findings or f in r.when.absent for r in rb.rules)
    ]
    return qs, fs


def decision_table_rows(rb: RuleBase | None = None) -> list[dict[str, str]]:
    """One dict a rule. Condition cells: allowed answers joined by ' or '; findings 'yes' (must be
    found) or 'not' (must not be found); 'kinds' lists kind tests; empty = not tested."""
    rb = rb or load_rulebase()
    qs, fs = condition_columns(rb)
    rows = []
    for r in rb.rules:
        t = r.then
        if t.finding:
            kind, target, cf = "finding", t.finding, ""
        elif t.gate:
            kind, target, cf = "gate", t.gate, ""
        elif t.support:
            kind, target, cf = "support", t.support.intervention, f"{t.support.cf:+.2f}"
        elif t.rule_out:
            kind, target, cf = "rule out", t.rule_out, ""
        else:
            kind, target, cf = "not primary", " ".join(t.not_primary or []), ""
        row: dict[str, str] = {"rule": r.id, "layer": str(rb.layer[r.id]), "file": rb.source_file[r.id]}
        for q in qs:
            row[q] = " or ".join(r.when.answers.get(q, []))
        for f in fs:
            row[f"finding:{f}"] = "yes" if f in r.when.findings else ("not" if f in r.when.absent else "")
        kinds = [f"any of {', '.join(r.when.any_finding_kinds)}"] if r.when.any_finding_kinds else []
        kinds += [f"none of {', '.join(r.when.no_finding_kinds)}"] if r.when.no_finding_kinds else []
        row["kinds"] = "; ".join(kinds)
        row.update(
            {
                "then": kind,
                "target": target,
                "certainty": cf,
                "rationale": " ".join(r.rationale.split()),
                "sources": "; ".join(rb.knowledge.cite(k) for k in r.sources),
            }
        )
        rows.append(row)
    return rows


def decision_table_csv(rb: RuleBase | None = None) -> str:
    rows = decision_table_rows(rb)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def decision_table_markdown(rb: RuleBase | None = None) -> str:
    """A Markdown table with only the condition columns each rule uses filled (wide, but readable)."""
    rows = decision_table_rows(rb)
    cols = [c for c in rows[0] if any(row[c] for row in rows)]

    def cell(v: str) -> str:
        return v.replace("|", "\\|").replace("\n", " ")

    out = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    out += ["| " + " | ".join(cell(row[c]) for c in cols) + " |" for row in rows]
    return "\n".join(out) + "\n"
