"""Streamlit pages of the intervention-triage app (listed in ``app.py`` with ``st.navigation``).

Pages are thin: they render state and call :mod:`rules` and :mod:`casework`. Session state and the
shared resources live in :mod:`app_pages.state`, shared widgets in :mod:`app_pages.widgets`, the
sign-in gate and the store acting for the signed-in user in :mod:`app_pages.access_gate`
(:mod:`app_pages.common` only re-exports them for pages not yet moved). Pure helpers without
Streamlit (answers loading, progress estimate, the rule map) live in :mod:`app_pages.logic` and
:mod:`app_pages.rule_graph` so they can be tested directly.
"""
