"""Streamlit pages of the intervention-triage app (listed in ``app.py`` with ``st.navigation``).

Pages are thin: they render state and call :mod:`rules` and :mod:`casework`. Shared UI pieces live
in :mod:`app_pages.common`; pure helpers without Streamlit (answers loading, progress estimate,
the rule map) live in :mod:`app_pages.logic` and :mod:`app_pages.rule_graph` so they can be tested
directly.
"""
