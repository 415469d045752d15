"""Learn: the six interventions side by side, coaching vs mentoring, and the related services."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from app_pages.logic import bullet_join, cite
from app_pages.state import get_knowledge
from app_pages.widgets import references_list, sources_line
from knowledge.schema import INTERVENTION_IDS

if TYPE_CHECKING:
    import pandas as pd

ASPECTS = (
    ("summary", "What it is"),
    ("when_to_use", "Use it when"),
    ("when_not", "Not when"),
    ("who_leads", "Who leads"),
    ("time_horizon", "Time horizon"),
    ("first_steps", "First steps"),
    ("sources", "References"),
)


def interventions_table(chosen: list[str]) -> pd.DataFrame:
    import pandas as pd  # deferred: pandas (~0.5 s) loads only on this page, not with the app

    kb = get_knowledge()
    data = {}
    for iid in chosen:
        iv = kb.interventions[iid]
        col = {}
        for field, label in ASPECTS:
            value = getattr(iv, field)
            if field == "sources":
                col[label] = cite(kb, value)
            elif isinstance(value, list):
                col[label] = bullet_join(value)
            else:
                col[label] = value.strip()
        data[iv.name] = col
    # the aspect is a column of its own: a table header cell is never left empty (screen readers)
    return pd.DataFrame(data).rename_axis("Aspect").reset_index()


MODES = {
    "one": "One at a time",
    "two": "Two side by side",
    "all": "All six (a wide screen)",
}


def one_intervention(iid: str) -> None:
    """One intervention, aspect by aspect, as headed paragraphs: readable on a phone."""
    kb = get_knowledge()
    iv = kb.interventions[iid]
    st.header(iv.name)
    for field, label in ASPECTS:
        value = getattr(iv, field)
        if field == "sources":
            text = cite(kb, value)
        elif isinstance(value, list):
            text = "\n".join(f"- {v.strip()}" for v in value)
        else:
            text = value.strip()
        st.markdown(f"**{label}**\n\n{text}")


def render() -> None:
    import pandas as pd  # deferred: pandas (~0.5 s) loads only on this page, not with the app

    kb = get_knowledge()
    st.title("The six interventions compared")
    st.markdown(
        "Which intervention fits depends on the cause of the gap. Read one intervention at a time, put two "
        "side by side to see what separates them, or, on a wide screen, all six."
    )
    name = {i: kb.interventions[i].name for i in INTERVENTION_IDS}
    mode = st.radio("Show", list(MODES), format_func=MODES.get, horizontal=True, key="learn_iv_mode")
    if mode == "one":
        iid = st.selectbox("Intervention", list(INTERVENTION_IDS), format_func=name.get, key="learn_iv_one")
        one_intervention(iid)
    elif mode == "two":
        left, right = st.columns(2)
        a = left.selectbox("First", list(INTERVENTION_IDS), index=0, format_func=name.get, key="learn_iv_a")
        b = right.selectbox("Second", list(INTERVENTION_IDS), index=1, format_func=name.get, key="learn_iv_b")
        st.table(interventions_table([a] if a == b else [a, b]), hide_index=True)
    else:
        st.table(interventions_table(list(INTERVENTION_IDS)), hide_index=True)

    st.header("Coaching and mentoring compared")
    cvm = pd.DataFrame(
        [{"Dimension": r.dimension, "Mentoring": r.mentoring, "Coaching": r.coaching} for r in kb.coaching_vs_mentoring]
    )
    st.table(cvm, hide_index=True)
    sources_line(["study-unit"] if "study-unit" in kb.sources else [])

    st.header("Coaching and mentoring beside related services")
    rs = pd.DataFrame(
        [{"Service": s.service, "How it works": bullet_join(s.points), "References": cite(kb, s.sources)}
         for s in kb.related_services]
    )
    st.table(rs, hide_index=True)

    with st.expander("Full references"):
        keys = [k for iv in kb.interventions.values() for k in iv.sources]
        keys += [k for s in kb.related_services for k in s.sources]
        references_list(keys)
