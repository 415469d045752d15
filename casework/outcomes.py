"""Outcomes across cases: did the chosen interventions close their gaps?

The evaluation phase of the HPT model (Van Tiem, Moseley & Dessinger 2012), Kirkpatrick's levels 3
and 4 (Kirkpatrick & Kirkpatrick 2016) and the Success Case Method (Brinkerhoff 2003) ask the same
question of a body of cases: per intervention (and by route, unit and period), how many cases closed
their gap, partly, not at all or were stopped; how long they took; how many reached the target they
were monitored against; and which cases are the most and least successful, to look at more closely.

Closing a case records its outcome (:data:`OUTCOMES`) and the date (``Store.close_case``; ``triage
cases close``; the Cases page). :func:`outcomes` gives the table as a pandas DataFrame for the cases
the actor may see (the store applies the access rule), :func:`case_frame` one row per case.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from typing import Any

from casework.closing import OUTCOME_LABELS, OUTCOMES, OutcomeError, check_outcome  # noqa: F401 - re-exported
from casework.gap import GapError, parse_gap
from casework.plan import PlanError, progress

GROUPS = ("intervention", "route", "unit", "period")
COUNT_COLUMNS = ("cases", "open", *OUTCOMES)
COLUMNS = ("cases", "open", *OUTCOMES, "not_recorded", "median_days_to_close", "reached_target", "reached_share",
           "followed_up")
JSON_KEYS = ("intervention", "cases", "open", *OUTCOMES, "median_days_to_close")
NO_RESULT = {"cannot_recommend": "cannot recommend yet", "needs_answer": "diagnosis not finished"}


def _date(iso: Any) -> dt.date | None:
    if not iso:
        return None
    try:
        return dt.date.fromisoformat(str(iso)[:10])
    except ValueError:
        return None


def reached_target(case: Mapping[str, Any]) -> bool | None:
    """Whether the case's monitored measure reached its target: any measure of the plan met, or the
    latest value recorded for the gap's measure at the gap's target. None when it cannot be told
    (no target with a number, or nothing recorded)."""
    entries = [e for e in case.get("monitoring") or [] if isinstance(e, Mapping)]
    seen: list[bool] = []
    plan = case.get("plan")
    if isinstance(plan, Mapping) and plan.get("measures"):
        try:
            for m in progress(plan, entries)["measures"]:
                if m["met"] is not None:
                    seen.append(bool(m["met"]))
        except (PlanError, KeyError, TypeError, ValueError):
            pass
    try:
        g = parse_gap(case.get("gap"))
    except GapError:
        g = None
    if g is not None:
        values = [e.get("value") for e in entries
                  if str(e.get("measure") or "").strip().casefold() == g.measure.casefold()
                  and isinstance(e.get("value"), (int, float))]
        if values:
            r = g.reached(values[-1])
            if r is not None:
                seen.append(r)
    if not seen:
        return None
    return any(seen)


def propose_outcome(case: Mapping[str, Any]) -> str | None:
    """``"closed"`` when an open case's monitored measure has reached its target (the Cases page then
    proposes closing it), else None."""
    if case.get("status") == "closed":
        return None
    return "closed" if reached_target(case) else None


def _period(d: dt.date | None) -> str:
    return f"{d.year}-Q{(d.month - 1) // 3 + 1}" if d else "unknown"


def case_frame(rows: Iterable[Mapping[str, Any]], today: dt.date | None = None):
    """One row per case: id, title, intervention, route, unit, period (quarter opened), status,
    outcome, opened, closed_on, days_to_close, reached_target."""
    import pandas as pd  # deferred on purpose: pandas (~0.5 s) loads only when a table is built

    out = []
    for r in rows:
        opened = _date(r.get("created_at"))
        closed = _date(r.get("closed_on")) if r.get("status") == "closed" else None
        iv = r.get("primary") or NO_RESULT.get(r.get("result_status") or "", "no result")
        out.append(
            {
                "id": r.get("id"),
                "title": r.get("title") or "",
                "intervention": iv,
                "route": r.get("concern") or "not recorded",
                "unit": r.get("org_unit") or "no unit",
                "period": _period(opened),
                "status": r.get("status") or "open",
                "outcome": (r.get("outcome") if r.get("status") == "closed" else None),
                "opened": opened,
                "closed_on": closed,
                "days_to_close": (closed - opened).days if closed and opened else None,
                "reached_target": reached_target(r),
                "follow_ups": sum(1 for e in r.get("monitoring") or [] if e.get("kind") == "follow_up"),
            }
        )
    cols = ["id", "title", "intervention", "route", "unit", "period", "status", "outcome", "opened",
            "closed_on", "days_to_close", "reached_target", "follow_ups"]
    df = pd.DataFrame(out, columns=cols)
    df["days_to_close"] = df["days_to_close"].astype("Float64")
    return df


def summarise(cases, by: str | list[str] = "intervention"):
    """The outcome table from :func:`case_frame`: per group, ``cases``, ``open``, the count of each
    outcome, ``not_recorded`` (closed without an outcome), ``median_days_to_close`` (over the closed
    cases), ``reached_target`` (how many reached the monitored target) and ``reached_share`` (of the
    cases where it can be told), ``followed_up`` (cases with at least one follow-up entry: a referral
    followed up, a mentoring meeting, a check on the job)."""
    import pandas as pd  # deferred on purpose: pandas (~0.5 s) loads only when a table is built

    keys = [by] if isinstance(by, str) else list(by)
    bad = [k for k in keys if k not in GROUPS]
    if bad:
        raise OutcomeError(f"cannot group by {bad}: use {', '.join(GROUPS)}")
    if cases.empty:
        return pd.DataFrame(columns=[*keys, *COLUMNS])
    c = cases.copy()
    closed = c["status"] == "closed"
    c["open"] = (~closed).astype(int)
    for o in OUTCOMES:
        c[o] = (closed & (c["outcome"] == o)).astype(int)
    c["not_recorded"] = (closed & c["outcome"].isna()).astype(int)
    c["known"] = c["reached_target"].notna().astype(int)
    c["reached"] = (c["reached_target"] == True).astype(int)  # noqa: E712 - a column of True/False/None
    c["days"] = c["days_to_close"].where(closed)
    c["followed"] = (c["follow_ups"] > 0).astype(int)
    g = c.groupby(keys, dropna=False, sort=True)
    t = g.agg(
        cases=("id", "size"), open=("open", "sum"), **{o: (o, "sum") for o in OUTCOMES},
        not_recorded=("not_recorded", "sum"), median_days_to_close=("days", "median"),
        reached_target=("reached", "sum"), known=("known", "sum"), followed_up=("followed", "sum"),
    ).reset_index()
    t["reached_share"] = (t["reached_target"] / t["known"].where(t["known"] > 0)).astype("Float64")
    t["median_days_to_close"] = t["median_days_to_close"].astype("Float64")
    return t.drop(columns=["known"]).sort_values(["cases", *keys], ascending=[False, *[True] * len(keys)],
                                                 ignore_index=True)


def outcomes(store: Any = None, *, by: str | list[str] = "intervention", actor: Any = None):
    """The outcomes table (a pandas DataFrame) for the cases ``actor`` may see in ``store`` (default:
    the store of :func:`casework.store.resolve_url`, acting as the local operator): see
    :func:`summarise` for the columns. ``by``: intervention, route, unit or period, or a list."""
    rows = _rows(store, actor)
    return summarise(case_frame(rows), by)


def _rows(store: Any, actor: Any) -> list[dict[str, Any]]:
    if store is None:
        from casework.store import Store  # deferred: SQLAlchemy, needed only without a store given

        with Store() as s:
            return s.outcome_rows(actor=actor)
    kw = {} if actor is None else {"actor": actor}
    return store.outcome_rows(**kw)


def notable(cases, n: int = 3):
    """The most and least successful closed cases to look at more closely (the Success Case Method):
    (best, worst). Best: gap closed, target reached first, then the quickest. Worst: not closed or
    stopped, the longest first."""
    rank = {"closed": 0, "partly": 1, "not_closed": 2, "stopped": 3}
    c = cases[cases["status"] == "closed"].copy()
    if c.empty:
        return c, c
    c["_rank"] = c["outcome"].map(rank).fillna(1.5)
    c["_reached"] = c["reached_target"].map({True: 0, False: 2}).fillna(1)
    best = c[c["outcome"] == "closed"].sort_values(["_reached", "days_to_close", "id"]).head(n)
    worst = c[c["outcome"].isin(["not_closed", "stopped"])].sort_values(
        ["_rank", "days_to_close", "id"], ascending=[True, False, True]).head(n)
    drop = ["_rank", "_reached"]
    return best.drop(columns=drop), worst.drop(columns=drop)


def json_rows(table) -> list[dict[str, Any]]:
    """The table as JSON rows ``{intervention, cases, open, closed, partly, not_closed, stopped,
    median_days_to_close, …}`` (missing values as null)."""
    return json.loads(table.to_json(orient="records"))
