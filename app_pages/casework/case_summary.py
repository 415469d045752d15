"""The page "Summary across cases" (L&D staff and administrators): counts of the cases this user may
see, per latest result, status and unit."""

from __future__ import annotations

from collections import Counter

import streamlit as st

from app_pages.access_gate import get_store, require, store_error
from app_pages.widgets import iv_name
from casework.store import StoreError


def render() -> None:
    """Counts of the cases this user may see: per latest result, status and unit."""
    import altair as alt  # deferred: altair (~0.3 s) loads only on this page, not with the app

    require("case_summary")
    st.title("Summary across cases")
    try:
        rows = get_store().list_cases(limit=100_000)
    except StoreError as exc:
        st.error(store_error(exc))
        return
    st.markdown(f"{len(rows)} case(s) you may see (your own, and those of your units).")
    if not rows:
        return

    def outcome(r: dict) -> str:
        if r["result_status"] == "complete" and r["primary"]:
            return iv_name(r["primary"])
        return {"cannot_recommend": "cannot recommend yet", "needs_answer": "needs another answer"}.get(
            r["result_status"] or "", "no result")

    by = Counter((outcome(r), r["status"], r.get("org_unit") or "(no unit)") for r in rows)
    table = [{"result": o, "status": s, "unit": u, "cases": n} for (o, s, u), n in sorted(by.items())]
    chart = alt.Chart(alt.Data(values=table)).mark_bar().encode(
        x=alt.X("sum(cases):Q", title="cases"), y=alt.Y("result:N", title=None), color=alt.Color("unit:N"),
        tooltip=["result:N", "unit:N", "status:N", "sum(cases):Q"],
    )
    st.altair_chart(chart, width="stretch")
    st.dataframe(table, hide_index=True, width="stretch")

