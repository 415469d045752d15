"""Batch page: triage a spreadsheet of cases (CSV or Excel), see the summary, download the results.

A thin page over :mod:`casework.batch`: the file is read and validated there, every row is triaged
by the same rules as a single consultation, and the page renders what came back. The uploaded file
and the results stay in this session's memory only; nothing is saved on the server.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import streamlit as st

from app_pages.access_gate import require
from app_pages.logic import md_plain
from casework import batch
from casework.colours import scale
from casework.plan import load_templates
from knowledge.loader import load_knowledge

if TYPE_CHECKING:
    import altair as alt

STATE = "batch"  # session state: {"key": upload id, "run": BatchRun | None, "error": str | None}
NO_GROUP = "(no grouping)"
STATUS_LABELS = {
    "needs_answer": "Needs more answers",
    "cannot_recommend": "Cannot recommend yet",
    "error": "Row has problems",
}
MAX_CHART_GROUPS = 30


@st.cache_data(show_spinner=False)
def template_bytes(fmt: str) -> bytes:
    return batch.make_template(fmt)


def safety_notice() -> str:
    return " ".join(load_templates().data.batch_safety_notice.split())


def outcome_label(outcome: str) -> str:
    kb = load_knowledge()
    if outcome in kb.interventions:
        return kb.interventions[outcome].name
    return STATUS_LABELS.get(outcome, outcome)


def outcome_scale() -> alt.Scale:
    """The same colour for an intervention in every chart (casework.colours)."""
    import altair as alt  # deferred: altair (~0.3 s) loads only for a chart, not with the app

    domain, colours = scale(outcome_label)
    return alt.Scale(domain=domain, range=colours)


def triage_with_progress(key: str, name: str, load) -> None:
    """Read and triage (``load`` returns (rows, columns, messages)) with a progress bar; keep the run
    (or the message why the file cannot be used) in session state under ``key``."""
    state: dict = {"key": key, "run": None, "error": None, "dont_know": bool(st.session_state.get("batch_dont_know"))}
    st.session_state[STATE] = state
    try:
        rows, columns, messages = load()
    except batch.BatchError as exc:
        state["error"] = str(exc)
        return
    bar = st.progress(0.0, text=f"Triaging {len(rows):,} rows …")

    def progress(done: int, total: int) -> None:
        bar.progress(done / total if total else 1.0, text=f"Triaged {done:,} of {total:,} rows")

    # in-process: worker processes would have to be spawned from the server's threads, and the
    # server's other sessions need the cores too
    results = batch.triage_rows(rows, progress=progress, workers=1, empty_as_dont_know=state["dont_know"])
    bar.empty()
    state["run"] = batch.BatchRun(name=name, columns=columns, results=results, messages=messages)


def upload_section() -> None:
    st.markdown(
        "One row a case, one column per question id (use the template), an optional `case_id` column; "
        "other columns such as a team are carried through."
    )
    with st.expander("Templates and limits"):
        c1, c2 = st.columns(2)
        c1.download_button(
            "CSV template", template_bytes("csv"), "triage-template.csv", "text/csv", on_click="ignore"
        )
        c2.download_button(
            "Excel template (with the questions and allowed values)",
            template_bytes("xlsx"),
            "triage-template.xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            on_click="ignore",
        )
        st.caption(
            f"Up to {batch.MAX_BYTES // 1024 // 1024} MB and {batch.MAX_ROWS:,} rows. Values are the option "
            "values of each question (yes, no, dont_know, …); an empty cell is a question not answered."
        )
    st.checkbox(
        "Take blank cells as \"don't know\"",
        key="batch_dont_know",
        help="Every question a row leaves blank (or has no column for) is answered \"don't know\" where its "
        "path reaches it, so every row gets a result or a list of checks. Unticked, such rows say which "
        "answers they still need.",
    )
    dont_know = "dk" if st.session_state.get("batch_dont_know") else "blank"
    up = st.file_uploader(
        "Spreadsheet of cases", type=["csv", "xlsx", "xlsm", "xls", "ods", "txt", "tsv"], key="batch_upload",
        max_upload_size=batch.MAX_BYTES // 1024 // 1024,
    )
    previous = st.session_state.get(STATE, {}).get("key") or ""
    if up is not None:
        key = f"upload:{up.file_id}:{dont_know}"
        if previous != key:
            triage_with_progress(key, up.name, lambda: batch.read_table(up.getvalue(), up.name))
    elif previous.startswith("upload:"):
        st.session_state.pop(STATE, None)  # the file was removed: so are its results
    cases = batch.worked_case_rows()
    if cases and st.button("Try it with the worked cases"):
        columns = list(dict.fromkeys(c for r in cases for c in r))
        triage_with_progress(f"worked-cases:{dont_know}", "worked-cases.csv", lambda: (cases, columns, []))


def rows_text(n: int) -> str:
    return f"{n:,} row" if n == 1 else f"{n:,} rows"


BAR = 22  # bar thickness in pixels; the chart grows with the number of bars instead


def chart(summary: dict, group_by: str | None) -> alt.Chart:
    """Rows per outcome (per group when grouped) as horizontal bars: whole-number axis, full labels,
    the largest first, bars of a fixed thickness."""
    import altair as alt  # deferred: altair (~0.3 s) loads only for a chart, not with the app

    count_axis = alt.Axis(tickMinStep=1, format="d", title="rows")
    if group_by:
        ranked = sorted(summary["groups"].items(), key=lambda kv: -kv[1]["rows"])[:MAX_CHART_GROUPS]
        data = [
            {"group": g, "outcome": outcome_label(o), "rows": n}
            for g, d in ranked
            for o, n in d["by_outcome"].items()
            if n
        ]
        return (
            alt.Chart(alt.Data(values=data), height=alt.Step(BAR + 8))
            .mark_bar(size=BAR)
            .encode(
                y=alt.Y("group:N", title=group_by, sort=[g for g, _ in ranked], axis=alt.Axis(labelLimit=0)),
                x=alt.X("sum(rows):Q", axis=count_axis),
                color=alt.Color("outcome:N", title="outcome", legend=alt.Legend(labelLimit=0, orient="bottom"),
                                scale=outcome_scale()),
                tooltip=["group:N", "outcome:N", "rows:Q"],
            )
        )
    ranked_outcomes = sorted(((o, n) for o, n in summary["by_outcome"].items() if n), key=lambda kv: -kv[1])
    data = [{"outcome": outcome_label(o), "rows": n} for o, n in ranked_outcomes]
    return (
        alt.Chart(alt.Data(values=data), height=alt.Step(BAR + 8))
        .mark_bar(size=BAR)
        .encode(
            y=alt.Y("outcome:N", title=None, sort=[d["outcome"] for d in data], axis=alt.Axis(labelLimit=0)),
            x=alt.X("rows:Q", axis=count_axis),
            color=alt.Color("outcome:N", legend=None, scale=outcome_scale()),
            tooltip=["outcome:N", "rows:Q"],
        )
    )


def summary_table(summary: dict) -> list[dict]:
    head, *body = batch.summary_rows(summary)
    out = []
    for row in body:
        if row[0] != "total" and not row[1]:
            continue
        d = dict(zip(head, row, strict=True))
        d["outcome"] = "Total" if row[0] == "total" else outcome_label(row[0])
        out.append(d)
    return out


def results_section(run: batch.BatchRun) -> None:
    for m in run.messages:
        st.warning(md_plain(m))
    counts = run.counts()
    total = len(run.results)
    st.header(f"Results for {md_plain(run.name, one_line=True)}")
    cols = st.columns(4)
    cols[0].metric("Rows", f"{total:,}")
    cols[1].metric("Recommendation", f"{counts.get('complete', 0):,}")
    cols[2].metric("Needs answers / cannot recommend", f"{counts.get('needs_answer', 0) + counts.get('cannot_recommend', 0):,}")
    cols[3].metric("Rows with problems", f"{counts.get('error', 0):,}")
    alerts = sum(1 for r in run.results if r.get("safety_alert"))
    if alerts:
        st.error(f"**{rows_text(alerts)} {'flags' if alerts == 1 else 'flag'} a possible risk of harm** "
                 f"(safety_alert = yes). {safety_notice()}")
    if not total:
        return

    choices = [NO_GROUP, *run.carried_columns(), *(c for c in run.columns if c not in run.carried_columns() and c != batch.CASE_ID)]
    choices = [c for c in dict.fromkeys(choices) if c != batch.CASE_ID]
    picked = st.selectbox("Group the summary by", choices, key="batch_group_by")
    group_by = None if picked == NO_GROUP else picked
    summary = run.summary(group_by)
    st.altair_chart(chart(summary, group_by), width="stretch")
    st.dataframe(summary_table(summary), hide_index=True)

    problems = batch.row_messages(run.results)
    if problems:
        bad = counts.get("error", 0)
        with st.expander(f"Problems in {rows_text(bad)} ({'this row was' if bad == 1 else 'these rows were'} not triaged)"):
            st.markdown("\n".join(f"- {md_plain(p, one_line=True)}" for p in problems[:200]))
            if len(problems) > 200:
                st.caption(f"… and {len(problems) - 200:,} more: see the errors column.")

    show = st.radio(
        "Show", ["all rows", "rows needing answers", "rows with problems", "safety alerts"], horizontal=True,
        key="batch_show",
    )
    rows = run.results
    if show == "rows needing answers":
        rows = [r for r in rows if r.get("status") == "needs_answer"]
        st.caption("The missing column lists every question still open on each row's path (as it would go "
                   "if each were answered \"don't know\"); answer them in the sheet and upload it again.")
    elif show == "rows with problems":
        rows = [r for r in rows if r.get("status") == "error"]
    elif show == "safety alerts":
        rows = [r for r in rows if r.get("safety_alert")]
    first = [c for c in (batch.CASE_ID, *batch.OUTPUT_COLUMNS) if c in run.out_columns]
    order = first + [c for c in run.out_columns if c not in first]
    st.dataframe(rows, column_order=order, hide_index=True)

    stem = os.path.splitext(run.name)[0] or "cases"
    c1, c2 = st.columns(2)
    c1.download_button(
        "Download results (CSV)",
        lambda: batch.table_bytes(run.results, run.out_columns, "csv"),
        f"{stem}-triaged.csv",
        "text/csv",
        on_click="ignore",
        key="batch_dl_csv",
    )
    c2.download_button(
        "Download results (Excel)",
        lambda: batch.table_bytes(run.results, run.out_columns, "xlsx", summary=summary),
        f"{stem}-triaged.xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        on_click="ignore",
        key="batch_dl_xlsx",
    )


def render() -> None:
    require("batch")
    st.title("Batch triage")
    upload_section()
    state = st.session_state.get(STATE)
    if not state:
        return
    if state.get("error"):
        st.error(md_plain(state["error"]))
    elif state.get("run") is not None:
        if state.get("dont_know"):
            st.caption("Blank cells were taken as \"don't know\".")
        results_section(state["run"])

