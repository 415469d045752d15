"""Streamlit pages of the intervention-triage app, listed once in ``app.py`` (``PAGES``).

Every page is a module with a ``render()`` function, in the folder of its section: ``diagnose/``,
``learn/``, ``casework/`` and ``admin/``. Pages are thin: they render state and call :mod:`rules` and
:mod:`casework`. What they share stays here: session state and the shared resources in
:mod:`app_pages.state`, shared widgets (the page guard, :func:`~app_pages.widgets.switch_to`) in
:mod:`app_pages.widgets`, the sign-in gate and the store acting for the signed-in user in
:mod:`app_pages.access_gate`, and pure helpers without Streamlit (answers loading, progress estimate)
in :mod:`app_pages.logic`, so they can be tested directly.
"""
