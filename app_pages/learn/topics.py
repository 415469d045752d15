"""Learn: the source material, section by section, each with its references. A table of contents
(links to each section, with its length in minutes of reading) comes first; each section ends with a
link back to it, so the page reads well on a phone."""

from __future__ import annotations

import math

import streamlit as st

from app_pages.state import get_knowledge
from app_pages.widgets import references_list, sources_line

WORDS_A_MINUTE = 200


def anchor(section_id: str) -> str:
    return section_id.replace("_", "-")


def minutes(section) -> int:
    words = sum(len(p.split()) for p in [*section.paragraphs, *section.points])
    return max(1, math.ceil(words / WORDS_A_MINUTE))


def render() -> None:
    kb = get_knowledge()
    st.title("Study the topic", anchor="study-the-topic")
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
    if len(shown) > 1:
        total = sum(minutes(s) for s in shown)
        st.header("Contents", anchor="contents")
        st.caption(f"{len(shown)} short sections, about {total} minutes of reading in all.")
        st.markdown("\n".join(f"1. [{s.title}](#{anchor(s.id)}) ({minutes(s)} min)" for s in shown))
    for s in shown:
        st.header(s.title, anchor=anchor(s.id))
        for para in s.paragraphs:
            st.markdown(para.strip())
        if s.points:
            st.markdown("\n".join(f"- {p.strip()}" for p in s.points))
        sources_line(s.sources)
        if len(shown) > 1:
            st.markdown("[Back to contents](#contents)")
    with st.expander("Full references"):
        references_list([k for s in shown for k in s.sources])
