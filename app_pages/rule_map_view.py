"""Learn: a map of the rule base, questions -> findings -> interventions (st.graphviz_chart)."""

from __future__ import annotations

import streamlit as st

from app_pages.common import current_consultation, get_rulebase, iv_name
from app_pages.rule_graph import build_dot
from knowledge.schema import INTERVENTION_IDS


def render() -> None:
    rb = get_rulebase()
    st.title("The rule map")
    st.markdown(
        "Questions (blue boxes) lead to findings (ovals), findings lead to interventions (green boxes). "
        "Green arrows support an intervention, dashed red ones count against it, a red bar rules it out, "
        "an orange bar stops it from leading. Hover over a node or an arrow for the full text and the rule ids."
    )
    c = current_consultation()
    cols = st.columns([2, 2])
    focus = cols[0].selectbox(
        "Show the rules leading to",
        [None, *INTERVENTION_IDS],
        format_func=lambda i: "all interventions" if i is None else iv_name(i),
        key="map_focus",
    )
    if c is not None:
        path_only = cols[1].toggle("Only the path of the current case", key="map_path_only")
        st.caption(
            "Highlighted: the answers, findings and rules of the case on the Diagnose page"
            + (f" (result: {iv_name(c.primary)})." if c.primary else ".")
        )
        dot = build_dot(rb, focus=focus, fired=c.fired, answers=c.answers, findings=c.findings,
                        primary=c.primary, path_only=path_only)
    else:
        st.caption("Answer some questions on the Diagnose page to see the path of your case highlighted here.")
        dot = build_dot(rb, focus=focus)
    st.graphviz_chart(dot, width="stretch")
    with st.expander("DOT source"):
        st.code(dot, language="dot")
        st.download_button("Download (DOT)", dot, file_name="rule-map.dot", mime="text/vnd.graphviz",
                           key="map_download", on_click="ignore")
