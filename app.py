"""intervention-triage: the Streamlit app (run with ``uv run streamlit run app.py``).

This file is only the frame: page configuration, logging, and the navigation between the pages in
``app_pages/`` (one list, ``PAGES``). The pages render state and call ``rules/`` and ``casework/``.
"""

from __future__ import annotations

import logging
import time

import streamlit as st

from app_pages.access_gate import gate, page_key
from app_pages.admin import access_admin
from app_pages.casework import batch, case_summary, cases, org_profile, outcomes
from app_pages.diagnose import diagnose
from app_pages.learn import interventions, practice, processes, rule_map, rule_table, topics, worked_cases
from app_pages.state import configure_logging
from app_pages.widgets import FRIENDLY_ERROR, guard, remember_pages

configure_logging()  # after the imports: experta calls logging.basicConfig() when imported

# Icons are emoji: a ":material/...:" page icon makes the browser fetch an SVG from Google's servers.
st.set_page_config(
    page_title="Intervention triage",
    page_icon="🧭",
    layout="wide",
    initial_sidebar_state="auto",
    menu_items={"Get help": None, "Report a bug": None, "About": "Which intervention fits a performance gap, and why."},
)

# Every page of the app, in the order of the navigation: (section, title, icon, module with a render()
# function, URL path). The URL path is the page's address (/cases) and its name in the roles
# (casework.access.PAGES); the first page is the default one, at the root address. The gate shows a
# user only the pages of their role (the last two only where users sign in).
PAGES = [
    ("Diagnose", "Diagnose", "🔎", diagnose, "diagnose"),
    ("Learn", "Interventions compared", "📊", interventions, "learn_interventions"),
    ("Learn", "Study the topic", "📖", topics, "learn_topics"),
    ("Learn", "Processes", "🔁", processes, "learn_processes"),
    ("Learn", "Decision table", "📋", rule_table, "rule_table"),
    ("Learn", "Rule map", "🕸️", rule_map, "rule_map"),
    ("Learn", "Worked cases", "🗂️", worked_cases, "worked_cases"),
    ("Learn", "Practice", "🎓", practice, "practice"),
    ("Casework", "Cases", "📁", cases, "cases"),
    ("Casework", "Batch", "🧮", batch, "batch"),
    ("Casework", "Outcomes", "📈", outcomes, "outcomes"),
    ("Casework", "Organisation profile", "🏢", org_profile, "org_profile"),
    ("Casework", "Summary across cases", "📈", case_summary, "case_summary"),
    ("Administration", "Access and audit", "🛡️", access_admin, "access_admin"),
]


def page(title: str, icon: str, module, url_path: str) -> st.Page:
    """A page of the navigation: the module's ``render()`` behind the page guard."""

    def run() -> None:
        guard(module.render)

    return st.Page(run, title=title, icon=icon, url_path=url_path, default=url_path == PAGES[0][4])


sections: dict[str, list[st.Page]] = {}
for section, title, icon, module, url_path in PAGES:
    sections.setdefault(section, []).append(page(title, icon, module, url_path))

log = logging.getLogger("triage.app")
sections = gate(sections)  # sign-in when configured; only the pages of the user's role
remember_pages({page_key(p): p for pages in sections.values() for p in pages})  # for switch_to
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
