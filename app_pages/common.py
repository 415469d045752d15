"""Kept for ``app_pages/diagnose_view.py`` (and any page not yet moved): the names that lived here,
re-exported. New code imports from where each lives: :mod:`app_pages.state` (session state and
shared resources), :mod:`app_pages.widgets` (shared widgets), :mod:`app_pages.access_gate` (the
store acting for the signed-in user)."""

# ruff: noqa: F401 - every import here is a re-export

from __future__ import annotations

from app_pages.access_gate import get_store, store_error
from app_pages.state import (
    MEMO_SIZE,
    answers_key,
    answers_state,
    case_state,
    compare_memo,
    configure_logging,
    consult_memo,
    current_consultation,
    explain_memo,
    flash,
    forget_question_widgets,
    forget_saved_case,
    get_knowledge,
    get_rulebase,
    raw_store,
    remember_saved_case,
    result_memo,
    save_session_case,
    session_saved_case,
    session_snapshot,
    use_session_engines,
)
from app_pages.widgets import (
    FRIENDLY_ERROR,
    answer_label,
    guard,
    iv_name,
    open_cases_page,
    organisation_offer,
    references_list,
    render_result,
    result_line,
    show_flash,
    sources_line,
    whatif_panel,
)

