"""Outcomes: what became of the cases, across cases (see app_pages/outcomes_view.py)."""

from app_pages.access_gate import require
from app_pages.outcomes_view import render_outcomes_page
from app_pages.widgets import guard


def render() -> None:
    require("outcomes")
    render_outcomes_page()


guard(render)
