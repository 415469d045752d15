"""The gap in numbers, closing a case with its outcome, and the Outcomes page (outcomes across cases).

Thin: the pages render what ``casework.gap``, ``casework.outcomes`` and the store give; the store
applies who may see which case.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import streamlit as st

from app_pages.access_gate import get_store, require
from app_pages.logic import md_plain
from app_pages.state import flash
from app_pages.widgets import iv_name
from casework.gap import parse_gap
from casework.outcomes import OUTCOME_LABELS, OUTCOMES, case_frame, notable, propose_outcome, summarise
from casework.store import CaseDataError, StoreError

GAP_KEYS = ("measure", "current", "target", "unit", "by")


def gap_inputs(prefix: str, gap: dict[str, Any] | None) -> dict[str, Any]:
    """The five gap fields as inputs (no number is preset: an empty field is "not known")."""
    gap = gap or {}
    c1, c2, c3, c4, c5 = st.columns([3, 1, 1, 1, 2])
    by = gap.get("by")
    return {
        "measure": c1.text_input("Measure of the gap", gap.get("measure") or "", key=f"{prefix}_measure",
                                 placeholder="e.g. first-call resolution"),
        "current": c2.number_input("Now", value=gap.get("current"), key=f"{prefix}_current", placeholder="now"),
        "target": c3.number_input("Target", value=gap.get("target"), key=f"{prefix}_target", placeholder="target"),
        "unit": c4.text_input("Unit", gap.get("unit") or "", key=f"{prefix}_unit", placeholder="%"),
        "by": c5.date_input("By when", value=dt.date.fromisoformat(by) if isinstance(by, str) and by else by,
                            key=f"{prefix}_by", format="YYYY-MM-DD"),
    }


def render_gap(store, case: dict[str, Any]) -> None:
    """The case's gap in numbers, editable (Cases → Overview)."""
    cid = case["id"]
    g = parse_gap(case.get("gap")) if case.get("gap") else None
    st.markdown("**The gap in numbers:** " + (md_plain(g.sentence(), one_line=True) if g else "not given yet"))
    with st.form(f"case_gap_form_{cid}"):
        values = gap_inputs(f"case_gap_{cid}", case.get("gap"))
        if st.form_submit_button("Save the gap"):
            try:
                store.set_gap(cid, values)
            except CaseDataError as exc:
                st.error("Not saved: " + md_plain("; ".join(exc.problems)))
            else:
                flash("success", "Gap saved.", f"case_{cid}_overview")
                st.rerun()


def render_close(store, case: dict[str, Any]) -> None:
    """Close the case with its outcome (proposed when the monitored measure reached its target), or
    reopen a closed one."""
    cid = case["id"]
    if case["status"] == "closed":
        label = OUTCOME_LABELS.get(case.get("outcome") or "", "outcome not recorded")
        st.markdown(f"**Closed** on {case.get('closed_on') or '—'}: {label}.")
        if st.button("Reopen the case", key=f"case_reopen_{cid}"):
            store.reopen_case(cid)
            flash("success", "The case is open again.", f"case_{cid}_overview")
            st.rerun()
        return
    proposed = propose_outcome(case)
    if proposed:
        st.success("The monitored measure has reached its target: close the case with the outcome "
                   f"“{OUTCOME_LABELS[proposed]}”?")
    with st.form(f"case_close_form_{cid}"):
        st.markdown("**Close the case**")
        c1, c2 = st.columns(2)
        outcome = c1.selectbox("Outcome", OUTCOMES, index=OUTCOMES.index(proposed) if proposed else None,
                               format_func=OUTCOME_LABELS.get, key=f"case_close_outcome_{cid}_{proposed or 'none'}",
                               placeholder="How did it end?")
        day = c2.date_input("Closed on", dt.date.today(), key=f"case_close_on_{cid}", format="YYYY-MM-DD",
                            max_value=dt.date.today())
        if st.form_submit_button("Close the case"):
            if outcome is None:
                st.error("Choose the outcome first.")
                return
            try:
                store.close_case(cid, outcome, day)
            except CaseDataError as exc:
                st.error("Not closed: " + md_plain("; ".join(exc.problems)))
            else:
                flash("success", f"Case closed: {OUTCOME_LABELS[outcome].lower()}.", f"case_{cid}_overview")
                st.rerun()


# --------------------------------------------------------------------------- the Outcomes page

GROUP_LABELS = {"intervention": "Intervention", "route": "Route", "unit": "Unit", "period": "Quarter opened"}
ROUTE_LABELS = {"shortfall": "Shortfall in the current job", "development": "Development for the future",
                "wellbeing": "Concern about the person", "organisation": "Across the organisation",
                "conduct": "Conduct complaint", "dont_know": "Not sure"}


def _group_label(by: str, key: Any) -> str:
    if by == "intervention":
        return iv_name(key) if key in OUTCOME_KEYS_WITH_NAMES else str(key)
    if by == "route":
        return ROUTE_LABELS.get(key, str(key))
    return str(key)


OUTCOME_KEYS_WITH_NAMES = ("coaching", "mentoring", "training", "counselling_referral", "consultancy", "work_system")


def _chart(table, by: str):
    import altair as alt  # deferred on purpose: altair (~0.3 s) loads only for the chart

    rows = []
    for rec in table.to_dict("records"):
        for o in ("open", *OUTCOMES):
            if rec[o]:
                rows.append({"group": _group_label(by, rec[by]), "state": "Open" if o == "open" else OUTCOME_LABELS[o],
                             "cases": int(rec[o])})
    states = ["Gap closed", "Partly closed", "Not closed", "Stopped", "Open"]
    # the outcome's colour (green to red, grey when stopped, pale when open), apart from the intervention colours
    palette = ["#1a7f3c", "#8cc63f", "#c0392b", "#5f5f5f", "#d0d4da"]
    order = [_group_label(by, k) for k in table[by]]
    base = alt.Chart(alt.Data(values=rows), height=alt.Step(30)).mark_bar(size=22).encode(
        y=alt.Y("group:N", title=None, sort=order, axis=alt.Axis(labelLimit=0)),
        x=alt.X("sum(cases):Q", title="cases", axis=alt.Axis(tickMinStep=1, format="d")),
        color=alt.Color("state:N", title="outcome", scale=alt.Scale(domain=states, range=palette),
                        legend=alt.Legend(orient="bottom", labelLimit=0)),
        order=alt.Order("state_order:Q"),
        tooltip=["group:N", "state:N", "cases:Q"],
    ).transform_calculate(state_order=f"indexof({states!r}, datum.state)")
    return base


def render() -> None:
    require("outcomes")
    st.title("Outcomes")
    st.markdown(
        "What became of the cases: per intervention (or route, unit, quarter), how many are open, how many "
        "closed their gap, partly, not at all or were stopped, how long they took to close and how many reached "
        "the target they were monitored against. Evaluation closes the loop of the performance-improvement "
        "process (Van Tiem, Moseley & Dessinger 2012; Kirkpatrick & Kirkpatrick 2016, levels 3 and 4); the "
        "most and least successful cases are the ones to look at more closely (Brinkerhoff 2003)."
    )
    try:
        store = get_store()
        frame = case_frame(store.outcome_rows())
    except StoreError as exc:
        st.error(f"The case store cannot be used: {md_plain(exc)}")
        return
    if frame.empty:
        st.info("No saved cases you may see yet. Save a case from Diagnose; close it on Cases with its outcome.")
        return
    by = st.radio("Group by", list(GROUP_LABELS), format_func=GROUP_LABELS.get, horizontal=True, key="outcomes_by")
    table = summarise(frame, by)
    n = len(frame)
    st.caption(f"{n} case{'s' if n != 1 else ''} you may see · {int((frame['status'] == 'closed').sum())} closed.")
    st.altair_chart(_chart(table, by), width="stretch")
    shown = table.copy()
    shown[by] = [_group_label(by, k) for k in shown[by]]
    shown["reached_share"] = (shown["reached_share"] * 100).round()
    st.dataframe(
        shown.rename(columns={by: GROUP_LABELS[by], "cases": "Cases", "open": "Open", "closed": "Gap closed",
                              "partly": "Partly", "not_closed": "Not closed", "stopped": "Stopped",
                              "not_recorded": "Closed, outcome not recorded",
                              "median_days_to_close": "Median days to close",
                              "reached_target": "Reached the target", "reached_share": "Reached the target (%)",
                              "followed_up": "With a follow-up"}),
        hide_index=True, width="stretch", key="outcomes_table",
    )
    st.download_button("Download the table (CSV)", table.to_csv(index=False), file_name="outcomes.csv",
                       mime="text/csv", on_click="ignore", key="outcomes_csv")
    import pandas as pd  # deferred on purpose: pandas (~0.5 s) loads only on this page, not with its widgets

    best, worst = notable(frame)
    left, right = st.columns(2)
    for col, head, part, empty in (
        (left, "Most successful cases", best, "No case has closed its gap yet."),
        (right, "Least successful cases", worst, "No case has ended not closed or stopped."),
    ):
        with col:
            st.header(head, divider=False)
            if part.empty:
                st.caption(empty)
            for r in part.itertuples():
                days = f", {int(r.days_to_close)} days" if pd.notna(r.days_to_close) else ""
                reached = {True: ", target reached", False: ", target not reached"}.get(r.reached_target, "")
                st.markdown(f"- #{r.id} {md_plain(r.title, one_line=True) or '(untitled)'} — "
                            f"{_group_label('intervention', r.intervention)}: "
                            f"{OUTCOME_LABELS.get(r.outcome, 'outcome not recorded').lower()}{days}{reached}")
