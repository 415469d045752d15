"""Session state and the process's shared resources for the pages.

Shared by every session of this server: the knowledge base, the rule base and one case store (one
connection pool) per database URL. Session state the app owns (widget state is lost when a widget is
not shown, ours is not): ``answers`` (question id -> value), ``case`` (title, who, notes, gap),
``cursor`` (the question being revisited with Previous, or None), ``flash`` (messages for the next
render), the saved case this session's case is, and small memos of consultations and explanations.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Mapping
from typing import Any

import streamlit as st

from casework.store import CaseNotFound, Store, resolve_url
from knowledge.loader import Knowledge, load_knowledge
from rules.consult import Consultation, consult
from rules.explain import compare, explain
from rules.model import RuleBase, load_rulebase

# --------------------------------------------------------------------------- logging and shared data


_LOGGING_DONE = False


def configure_logging(level: int = logging.INFO) -> None:
    """Configure logging once per process. Importing experta calls ``logging.basicConfig()``;
    this replaces that with our own format and level (force=True), and quietens experta's
    chatty loggers."""
    global _LOGGING_DONE
    if _LOGGING_DONE:
        return
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True
    )
    for name in ("experta", "experta.watchers"):
        logging.getLogger(name).setLevel(logging.WARNING)
    _LOGGING_DONE = True


@st.cache_resource(show_spinner=False)
def get_knowledge() -> Knowledge:
    """The validated knowledge base (read-only data, shared between sessions)."""
    return load_knowledge()


@st.cache_resource(show_spinner=False)
def get_rulebase() -> RuleBase:
    """The rule base as data (read-only). No engine is shared: each consult() takes its own from a pool."""
    return load_rulebase()


@st.cache_resource(show_spinner=False)
def _store_for(url: str):
    """One case store (one connection pool) per database URL, shared by the sessions of this server.
    A store that cannot be made (a bad URL) raises and is not cached, so a fixed setting is used.
    It has no actor of its own: every call must say who acts (see :func:`app_pages.access_gate.get_store`)."""
    return Store(url, actor=None)


def raw_store():
    """The shared store itself (each call must pass ``actor=``)."""
    return _store_for(resolve_url())


# --------------------------------------------------------------------------- this session's case


def flash(kind: str, message: str, where: str | None = None) -> None:
    """Queue a message (``success``, ``info``, ``warning``, ``error``) for the next render; with
    ``where``, it is shown by ``show_flash(where)`` (e.g. inside the tab the action was in)."""
    st.session_state.setdefault("flash", []).append((kind, message, where))


def answers_state() -> dict[str, str]:
    return st.session_state.setdefault("answers", {})


def case_state() -> dict[str, str]:
    return st.session_state.setdefault("case", {"title": "", "who": "", "notes": ""})


def session_snapshot() -> tuple:
    """The case being diagnosed in this session (answers and details), comparable between runs."""
    case = case_state()
    header = tuple((k, str(case.get(k) or "")) for k in ("title", "who", "notes"))
    gap = tuple(sorted((case.get("gap") or {}).items()))
    return (tuple(answers_state().items()), header, gap)


def session_saved_case() -> dict[str, Any] | None:
    """{id, key, snapshot} of the saved case this session's case is, or None."""
    saved = st.session_state.get("saved_case")
    return saved if saved and saved.get("key") == st.session_state.get("save_key") else None


def remember_saved_case(cid: int) -> None:
    """This session's case is (now) the saved case ``cid``: saving again updates it."""
    key = st.session_state.setdefault("save_key", secrets.token_hex(8))
    st.session_state["saved_case"] = {"id": cid, "key": key, "snapshot": session_snapshot()}
    st.session_state["case_id"] = cid
    st.session_state["cases_open"] = cid  # the Cases page opens it


def forget_saved_case() -> dict[str, Any]:
    """A new case starts in this session (start over, a file opened): the next save is a new case.
    Returns what was forgotten, for an undo."""
    return {k: st.session_state.pop(k, None) for k in ("save_key", "saved_case")}


def save_session_case(store) -> tuple[int, str]:
    """Save the case being diagnosed in this session, never twice: the first save creates a case;
    later ones (same session key) change that case, and only when something changed.
    Returns (case id, "created" | "updated" | "unchanged")."""
    answers, snap = answers_state(), session_snapshot()
    header = dict(snap[1])
    saved = session_saved_case()
    if saved and saved["snapshot"] == snap:
        return saved["id"], "unchanged"
    if saved:
        try:
            store.update_case(saved["id"], header)
            store.rediagnose(saved["id"], dict(answers))
            store.set_gap(saved["id"], case_state().get("gap"))
        except CaseNotFound:  # deleted meanwhile: save it afresh
            saved = None
        else:
            remember_saved_case(saved["id"])
            return saved["id"], "updated"
    cid = store.create_case(header, dict(answers))
    if case_state().get("gap"):
        store.set_gap(cid, case_state()["gap"])
    remember_saved_case(cid)
    return cid, "created"


def forget_question_widgets() -> None:
    """Drop the widget state of the question radios (and of the gap fields), so they show our answers
    and the case's gap afresh."""
    for key in [k for k in st.session_state if isinstance(k, str) and k.startswith(("q_", "case_gap_"))]:
        del st.session_state[key]


# --------------------------------------------------------------------------- memos

MEMO_SIZE = 64


def _memo(name: str, key: Any, make: Callable[[], Any]) -> Any:
    """A small per-session memo (results are deterministic for the loaded rule base)."""
    memo: dict = st.session_state.setdefault(name, {})
    if key in memo:
        return memo[key]
    value = memo[key] = make()
    while len(memo) > MEMO_SIZE:
        memo.pop(next(iter(memo)))
    return value


def answers_key(answers: Mapping[str, str]) -> tuple:
    return tuple(sorted(answers.items()))


def consult_memo(answers: Mapping[str, str]) -> Consultation:
    """:func:`rules.consult.consult`, remembered for this session (answers are validated on entry)."""
    return _memo("_memo_consult", answers_key(answers), lambda: consult(dict(answers), get_rulebase()))


def explain_memo(c: Consultation) -> dict[str, Any]:
    """:func:`rules.explain.explain` of a consultation, remembered for this session."""
    return _memo("_memo_explain", answers_key(c.answers) + (c.status,), lambda: explain(c, get_rulebase()))


def compare_memo(a: Mapping[str, str], b: Mapping[str, str]) -> dict[str, Any]:
    return _memo("_memo_compare", (answers_key(a), answers_key(b)), lambda: compare(a, b, get_rulebase()))


def result_memo(c: Consultation) -> dict[str, Any]:
    """``c.to_dict()`` (the result model with its summary), remembered for this session."""
    return _memo("_memo_summary", answers_key(c.answers) + (c.status,), lambda: c.to_dict(get_rulebase()))


def current_consultation() -> Consultation | None:
    """The consultation of the case in this session, or None when nothing is answered yet."""
    answers = st.session_state.get("answers") or {}
    if not answers:
        return None
    return consult_memo(answers)
