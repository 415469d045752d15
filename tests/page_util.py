"""AppTest for the app's pages. A page is a module with a ``render()`` function, registered in
``app.py``'s one list (``PAGES``) as a callable page with its URL path; these helpers run one page on
its own, or take an app session to a page, the way the app does."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest
from streamlit.util import calc_hash

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")

# The pages by URL path (the module that renders each one), as in app.py.
MODULES = {
    "diagnose": "app_pages.diagnose.diagnose",
    "learn_interventions": "app_pages.learn.interventions",
    "learn_topics": "app_pages.learn.topics",
    "learn_processes": "app_pages.learn.processes",
    "rule_table": "app_pages.learn.rule_table",
    "rule_map": "app_pages.learn.rule_map",
    "worked_cases": "app_pages.learn.worked_cases",
    "practice": "app_pages.learn.practice",
    "cases": "app_pages.casework.cases",
    "batch": "app_pages.casework.batch",
    "outcomes": "app_pages.casework.outcomes",
    "org_profile": "app_pages.casework.org_profile",
    "case_summary": "app_pages.casework.case_summary",
    "access_admin": "app_pages.admin.access_admin",
}


def _run_page(module: str) -> None:
    """The script of a page run on its own: its render() behind the page guard, as app.py runs it."""
    import importlib

    from app_pages.widgets import guard

    guard(importlib.import_module(module).render)


def page_app(url_path: str, timeout: float = 30) -> AppTest:
    """One page on its own (no navigation, no gate), like a single-page app."""
    return AppTest.from_function(_run_page, args=(MODULES[url_path],), default_timeout=timeout)


def go_to(at: AppTest, url_path: str) -> AppTest:
    """Take an app session (``AppTest.from_file(APP)``, run at least once) to the page at ``url_path``
    on its next run. ``AppTest.switch_page`` knows only pages that are files; Streamlit names a page
    by the hash of its URL path, which is what a click in the navigation asks for."""
    at._page_hash = calc_hash(url_path)
    return at
