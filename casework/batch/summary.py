"""What a batch came to: one line for a result (:func:`headline`), the counts over the triaged
rows (per status, outcome and group), as a table or as text, and the problems of single rows."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from casework.batch.common import _LIST_SEP, OUTCOMES, OUTPUT_COLUMNS, STATUSES, BatchError, _blank, _one_line
from knowledge.schema import INTERVENTION_IDS
from rules.model import load_rulebase


def headline(result: Mapping[str, Any], rb=None) -> str:
    """One line saying what the result is: the consultation's own ``summary.headline`` when the
    result has a summary, else a short line made from its status and primary.

    ``result`` is a consultation's :meth:`~rules.consult.Consultation.to_dict` or any mapping with
    ``status``, ``primary`` (``{intervention}``), ``secondary`` and ``cannot_recommend`` /
    ``next_question`` as that gives them.
    """
    summary = result.get("summary")
    line = summary.get("headline") if isinstance(summary, Mapping) else getattr(summary, "headline", None)
    if line:
        return _one_line(line)
    if rb is None:
        rb = load_rulebase()
    names = rb.knowledge.interventions
    status = result.get("status")
    if status == "complete" and result.get("primary"):
        iv = result["primary"]["intervention"]
        also = [names[s["intervention"]].name for s in result.get("secondary") or []]
        return f"Recommended: {names[iv].name}" + (f", with {' and '.join(also)}" if also else "")
    cannot = result.get("cannot_recommend")
    if status == "cannot_recommend" and cannot:
        lean = cannot.get("lean")
        return f"Cannot recommend yet: {_one_line(cannot['label'])}" + (
            f" (the answers lean to {names[lean].name})" if lean in names else ""
        )
    if status == "needs_answer" and result.get("next_question"):
        return f"More answers needed, next: {_one_line(result['next_question']['text'])}"
    return ""


def row_messages(results: Iterable[Mapping[str, Any]]) -> list[str]:
    """Every problem reported in the ``errors`` cells, one per entry."""
    out = []
    for r in results:
        if r.get("errors"):
            out.extend(str(r["errors"]).split("; row "))
    return [m if m.startswith("row ") else "row " + m for m in out]


def outcome_of(row: Mapping[str, Any]) -> str:
    """The primary intervention of a complete row, else its status."""
    status = row.get("status") or "error"
    return row.get("primary") or status if status == "complete" else status


def summarise(results: Sequence[Mapping[str, Any]], group_by: str | None = None) -> dict[str, Any]:
    """Counts over the triaged rows: per status, per primary intervention, per outcome (the primary
    of complete rows, else the status), secondary and ruled-out mentions, safety alerts; with
    ``group_by`` a crosstab of outcome per value of that column (blank values as "(blank)")."""
    if group_by is not None and results and group_by not in results[0]:
        raise BatchError(
            f"no column named '{group_by}' to group by; the columns are "
            + ", ".join(c for c in results[0] if c not in OUTPUT_COLUMNS)
        )
    by_status = dict.fromkeys(STATUSES, 0)
    by_primary = dict.fromkeys(INTERVENTION_IDS, 0)
    by_outcome = dict.fromkeys(OUTCOMES, 0)
    secondary = dict.fromkeys(INTERVENTION_IDS, 0)
    ruled_out = dict.fromkeys(INTERVENTION_IDS, 0)
    groups: dict[str, dict[str, int]] = {}
    safety = 0
    for r in results:
        status = r.get("status") or "error"
        by_status[status] = by_status.get(status, 0) + 1
        outcome = outcome_of(r)
        if outcome in by_primary:
            by_primary[outcome] += 1
        by_outcome[outcome] = by_outcome.get(outcome, 0) + 1
        for iv in filter(None, str(r.get("secondary") or "").split(_LIST_SEP)):
            secondary[iv] = secondary.get(iv, 0) + 1
        for iv in filter(None, str(r.get("ruled_out") or "").split(_LIST_SEP)):
            ruled_out[iv] = ruled_out.get(iv, 0) + 1
        if r.get("safety_alert"):
            safety += 1
        if group_by is not None:
            g = r.get(group_by)
            g = "(blank)" if _blank(g) else str(g).strip()
            counts = groups.setdefault(g, dict.fromkeys(OUTCOMES, 0))
            counts[outcome] = counts.get(outcome, 0) + 1
    return {
        "rows": len(results),
        "by_status": by_status,
        "by_primary": by_primary,
        "by_outcome": by_outcome,
        "secondary": secondary,
        "ruled_out": ruled_out,
        "safety_alerts": safety,
        "group_by": group_by,
        "groups": {g: {"rows": sum(groups[g].values()), "by_outcome": groups[g]} for g in sorted(groups)},
    }


def summary_rows(summary: Mapping[str, Any]) -> list[list[Any]]:
    """The summary as a table (header first): one row per outcome, a column per group if grouped."""
    groups = summary.get("groups") or {}
    names = list(groups)
    head = ["outcome", "rows", *names]
    out: list[list[Any]] = [head]
    for o in OUTCOMES:
        out.append([o, summary["by_outcome"].get(o, 0), *(groups[g]["by_outcome"].get(o, 0) for g in names)])
    out.append(["total", summary["rows"], *(groups[g]["rows"] for g in names)])
    return out


def format_summary(summary: Mapping[str, Any]) -> str:
    """The summary as plain text for a terminal."""
    n = summary["rows"] or 1
    lines = [f"{summary['rows']:,} rows"]
    for o in OUTCOMES:
        c = summary["by_outcome"].get(o, 0)
        if c:
            lines.append(f"  {o:<22}{c:>8,}  {c / n:6.1%}")
    if summary["safety_alerts"]:
        lines.append(f"  possible risk of harm: {summary['safety_alerts']:,} rows (safety_alert = yes): act on these first")
    if summary.get("group_by"):
        lines.append(f"by {summary['group_by']}:")
        for g, d in summary["groups"].items():
            parts = ", ".join(f"{o} {c:,}" for o, c in d["by_outcome"].items() if c)
            lines.append(f"  {g}: {d['rows']:,} rows ({parts})")
    return "\n".join(lines)
