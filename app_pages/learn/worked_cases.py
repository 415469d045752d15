"""Learn: worked cases. Read a narrative, see its answers and result, change an answer."""

from __future__ import annotations

import streamlit as st

from app_pages.logic import md_plain
from app_pages.state import (
    answers_state,
    case_state,
    consult_memo,
    flash,
    forget_question_widgets,
    get_knowledge,
)
from app_pages.widgets import render_result, switch_to, whatif_panel


def open_in_diagnose(case_id: str) -> None:
    kb = get_knowledge()
    case = next(c for c in kb.cases if c.id == case_id)
    st.session_state["undo_state"] = {"answers": dict(answers_state()), "case": dict(case_state())}
    st.session_state["answers"] = dict(case.answers)
    st.session_state["case"] = {"title": case.title, "who": "", "notes": ""}
    for key in ("title", "who", "notes"):
        st.session_state.pop(f"case_{key}", None)
    st.session_state["cursor"] = None
    forget_question_widgets()
    flash("info", f"Opened the worked case \"{case.title}\".")
    st.session_state["goto_diagnose"] = True


def render() -> None:
    import pandas as pd  # deferred: pandas (~0.5 s) loads only on this page, not with the app

    kb = get_knowledge()
    if st.session_state.pop("goto_diagnose", False):
        switch_to("diagnose")
    st.title("Worked cases")
    if not kb.cases:
        st.info("There are no worked cases in this installation.")
        return
    titles = {c.id: c.title for c in kb.cases}
    cid = st.selectbox("Case", list(titles), format_func=titles.get, key="wc_case")
    case = next(c for c in kb.cases if c.id == cid)
    st.header(md_plain(case.title, one_line=True))
    st.markdown(md_plain(case.narrative.strip()))
    c = consult_memo(case.answers)
    # the result (summary and reasons) first: on a phone the columns stack, left above right
    left, right = st.columns([3, 2])
    with left:
        st.subheader("The result")
        render_result(c)
        if case.lesson:
            st.markdown(f"**Lesson.** {case.lesson.strip()}")
        st.button("Open this case on the Diagnose page", key="wc_open", on_click=open_in_diagnose, args=(cid,))
    with right:
        st.subheader("The answers")
        rows = [
            {"Question": kb.question(q).text, "Answer": kb.question(q).label_of(v)}
            for q, v in c.answers.items()
        ]
        st.table(pd.DataFrame(rows), hide_index=True)
        if c.ignored:
            st.caption("Not asked on this path: " + ", ".join(kb.question(q).text for q in c.ignored))
    st.subheader("What if? Change an answer")
    whatif_panel(c.answers, f"wc_{cid}")
