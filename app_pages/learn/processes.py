"""Learn: the process models (plan / implement / monitor, the eight events of instruction, the
mentoring process, referral, the work-system check)."""

from __future__ import annotations

import streamlit as st

from app_pages.state import get_knowledge
from app_pages.widgets import references_list, sources_line


def render() -> None:
    kb = get_knowledge()
    st.title("Processes")
    st.markdown("How each intervention is carried out, step by step.")
    procs = list(kb.processes.values())
    st.markdown("\n".join(f"- [{p.title}](#{p.id.replace('_', '-')})" for p in procs))
    for p in procs:
        st.header(p.title, anchor=p.id.replace("_", "-"))
        st.markdown(p.summary.strip())
        for i, step in enumerate(p.steps, 1):
            title = step.title if step.title[:1].isdigit() else f"{i}. {step.title}"
            st.markdown(f"**{title}**  \n{step.text.strip()}")
        sources_line(p.sources)
    with st.expander("Full references"):
        references_list([k for p in procs for k in p.sources])
