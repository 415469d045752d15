"""intervention-triage: the Streamlit app (run with ``uv run streamlit run app.py``).

This file is only the frame: page configuration, logging, and the navigation between the pages in
``app_pages/``. The pages render state and call ``rules/`` and ``casework/``.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import streamlit as st

from app_pages.access_gate import gate
from app_pages.state import configure_logging, use_session_engines
from app_pages.widgets import FRIENDLY_ERROR

HERE = Path(__file__).resolve().parent
configure_logging()  # after the imports: experta calls logging.basicConfig() when imported

# Icons are emoji: a ":material/...:" page icon makes the browser fetch an SVG from Google's servers.
st.set_page_config(
    page_title="Intervention triage",
    page_icon="🧭",
    layout="wide",
    initial_sidebar_state="auto",
    menu_items={"Get help": None, "Report a bug": None, "About": "Which intervention fits a performance gap, and why."},
)


def page(file: str, title: str, icon: str, **kw) -> st.Page:
    return st.Page(f"app_pages/{file}", title=title, icon=icon, **kw)


sections: dict[str, list] = {
    "Diagnose": [page("diagnose.py", "Diagnose", "🔎", default=True)],
    "Learn": [
        page("learn_interventions.py", "Interventions compared", "📊"),
        page("learn_topics.py", "Study the topic", "📖"),
        page("learn_processes.py", "Processes", "🔁"),
        page("rule_table.py", "Decision table", "📋"),
        page("rule_map.py", "Rule map", "🕸️"),
        page("worked_cases.py", "Worked cases", "🗂️"),
        page("practice.py", "Practice", "🎓"),
    ],
}
# Pages written as separate features; listed only when present in this installation.
extra = [
    page(f, title, icon)
    for f, title, icon in (("cases.py", "Cases", "📁"), ("batch.py", "Batch", "🧮"), ("outcomes.py", "Outcomes", "📈"),
                           ("org_profile.py", "Organisation profile", "🏢"))
    if (HERE / "app_pages" / f).is_file()
]
if extra:
    sections["Casework"] = extra

log = logging.getLogger("triage.app")
sections = gate(sections)  # sign-in when configured; only the pages of the user's role
use_session_engines()
current = st.navigation(sections)
started = time.perf_counter()
try:
    current.run()
except Exception:  # noqa: BLE001 - pages guard themselves; this is the last line of defence
    log.exception("page %s failed", current.title)
    st.error(FRIENDLY_ERROR)
finally:
    # read by bench/app.py; a DEBUG record, so nothing is written at the default level
    log.debug("rendered page=%s ms=%.2f", current.title, (time.perf_counter() - started) * 1000)
