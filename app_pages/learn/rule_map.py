"""Learn: a map of the rule base, questions -> findings -> interventions (st.graphviz_chart).

With a case on the Diagnose page the map shows that case's path by default (a small map, for a
phone too); everything the map's tooltips hold is also written out in words below it,
so nothing needs a hover (a touch screen has none)."""

from __future__ import annotations

import streamlit as st

from app_pages.learn.rule_graph import build_dot, rules_in_words, shown_rules
from app_pages.state import current_consultation, get_rulebase
from app_pages.widgets import iv_name
from knowledge.schema import INTERVENTION_IDS


def _in_words(items: list[dict]) -> str:
    lines = []
    for i, x in enumerate(items, 1):
        cond = "; and ".join(x["if"]) or "always"
        lines.append(f"{i}. **If** {cond}, **then** {x['then']}.  \n{x['why']} `{x['rule']}`")
    return "\n".join(lines)


def render() -> None:
    rb = get_rulebase()
    st.title("The rule map")
    st.markdown(
        "Questions (blue boxes) lead to findings (ovals), findings lead to interventions (green boxes). "
        "Green arrows support an intervention, dashed red ones count against it, a red bar rules it out, "
        "an orange bar stops it from leading. Every rule on the map is also written out in words below "
        "it: no need to hover."
    )
    c = current_consultation()
    cols = st.columns([2, 2])
    focus = cols[0].selectbox(
        "Show the rules leading to",
        [None, *INTERVENTION_IDS],
        format_func=lambda i: "all interventions" if i is None else iv_name(i),
        key="map_focus",
    )
    path_only = False
    if c is not None:
        path_only = cols[1].toggle("Only the path of the current case", value=True, key="map_path_only")
        st.caption(
            "Highlighted: the answers, findings and rules of the case on the Diagnose page"
            + (f" (result: {iv_name(c.primary)})." if c.primary else ".")
        )
        dot = build_dot(rb, focus=focus, fired=c.fired, answers=c.answers, findings=c.findings,
                        primary=c.primary, path_only=path_only)
    else:
        st.caption("Answer some questions on the Diagnose page to see the path of your case here, step by step. "
                   "On a small screen, choose one intervention above for a smaller map.")
        dot = build_dot(rb, focus=focus)
    st.graphviz_chart(dot, width="stretch")
    shown = shown_rules(rb, focus=focus, fired=c.fired if c else None, path_only=path_only)
    if c is not None and path_only:
        st.header("The path in words")
        st.caption("The rules that fired for the current case, in the order they fired.")
        st.markdown(_in_words(rules_in_words(rb, shown)) or "No rule fired yet.")
    else:
        with st.expander(f"The map in words ({len(shown)} rules)"):
            st.markdown(_in_words(rules_in_words(rb, shown)))
    with st.expander("DOT source"):
        st.code(dot, language="dot")
        st.download_button("Download (DOT)", dot, file_name="rule-map.dot", mime="text/vnd.graphviz",
                           key="map_download", on_click="ignore")
