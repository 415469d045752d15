"""Learn: practice. Read a case narrative, pick an intervention, and see whether the rule base agrees
and why (or why not)."""

from __future__ import annotations

import random

import streamlit as st

from app_pages.common import consult_memo, explain_memo, get_knowledge, iv_name, render_result
from app_pages.logic import md_plain
from knowledge.schema import INTERVENTION_IDS

CANNOT = "cannot_recommend"


def _new_case() -> None:
    kb = get_knowledge()
    ids = [c.id for c in kb.cases]
    current = st.session_state.get("practice_case")
    choices = [i for i in ids if i != current] or ids
    st.session_state["practice_case"] = random.choice(choices)
    st.session_state.pop("practice_checked", None)
    st.session_state.pop("practice_pick", None)


def _on_case_pick() -> None:
    st.session_state.pop("practice_checked", None)
    st.session_state.pop("practice_pick", None)


def _check() -> None:
    st.session_state["practice_checked"] = st.session_state.get("practice_pick")


def render() -> None:
    kb = get_knowledge()
    st.title("Practice")
    st.markdown(
        "Read the case and decide which intervention fits. The app tells you whether the rule base agrees, "
        "and why."
    )
    if not kb.cases:
        st.info("There are no worked cases to practise on in this installation.")
        return
    ids = [c.id for c in kb.cases]
    if st.session_state.get("practice_case") not in ids:
        st.session_state["practice_case"] = ids[0]
    cols = st.columns([3, 1])
    cols[0].selectbox("Case", ids, format_func=lambda i: f"Case {ids.index(i) + 1}", key="practice_case",
                      on_change=_on_case_pick)
    cols[1].button("Another case", key="practice_new", on_click=_new_case, width="stretch")
    case = next(c for c in kb.cases if c.id == st.session_state["practice_case"])
    with st.container(border=True):
        st.markdown(md_plain(case.narrative.strip()))
    options = [*INTERVENTION_IDS, CANNOT]
    st.radio(
        "Which intervention would you choose?",
        options,
        index=None,
        format_func=lambda v: "Cannot recommend yet (the gap needs defining, or it is not worth it, or too "
        "little is known)" if v == CANNOT else iv_name(v),
        key="practice_pick",
    )
    st.button("Check my answer", key="practice_check", type="primary", on_click=_check,
              disabled=st.session_state.get("practice_pick") is None)
    pick = st.session_state.get("practice_checked")
    if pick is None:
        return
    c = consult_memo(case.answers)
    e = explain_memo(c)
    right_answer = c.primary if c.status == "complete" else CANNOT
    if pick == right_answer:
        st.success(f"Yes: the rule base also says **{_name(right_answer)}**.")
    else:
        st.error(f"Not this time: you chose **{_name(pick)}**; the rule base says **{_name(right_answer)}**.")
        if pick in e["why_not"]:
            st.markdown(f"**Why not {_name(pick)}**")
            st.markdown("\n".join(f"- {r}" for r in e["why_not"][pick]["text"]))
        elif pick == CANNOT:
            st.markdown("There was enough to go on: the gap is defined, worth closing, and the answers support "
                        f"{_name(right_answer)}.")
    render_result(c, heading="The rule base's result", show_summary=False)
    with st.expander("How the rule base got there", expanded=pick != right_answer):
        for h in e["how"]:
            st.markdown(f"- **{h['conclusion']}** — {h['rationale']} `{h['rule']}`")
    with st.expander("The answers behind this case"):
        st.markdown("\n".join(f"- {kb.question(q).text} — *{kb.question(q).label_of(v)}*" for q, v in c.answers.items()))
    if case.lesson:
        st.info(case.lesson.strip())


def _name(v: str | None) -> str:
    if v == CANNOT:
        return "cannot recommend yet"
    return iv_name(v)
