"""Learn: the source material, section by section, each with its references."""

from __future__ import annotations

import streamlit as st

from app_pages.common import get_knowledge, references_list, sources_line


def render() -> None:
    kb = get_knowledge()
    st.title("Study the topic")
    st.markdown(
        "Coaching, mentoring and the other ways of closing a performance gap: definitions, kinds, "
        "boundaries, and when to use which."
    )
    sections = list(kb.sections.values())
    titles = {s.id: s.title for s in sections}
    pick = st.selectbox(
        "Topic", ["all", *titles], format_func=lambda i: "All topics" if i == "all" else titles[i], key="topic_pick"
    )
    shown = sections if pick == "all" else [kb.sections[pick]]
    for s in shown:
        st.header(s.title, anchor=s.id.replace("_", "-"))
        for para in s.paragraphs:
            st.markdown(para.strip())
        if s.points:
            st.markdown("\n".join(f"- {p.strip()}" for p in s.points))
        sources_line(s.sources)
    with st.expander("Full references"):
        references_list([k for s in shown for k in s.sources])
