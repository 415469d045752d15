"""Shared UI pieces: cached knowledge, the page guard, flash messages, references, the result block
and the what-if panel (used on Diagnose and on Worked cases).

Session state the app owns (widget state is lost when a widget is not shown, ours is not):
``answers`` (question id -> value), ``case`` (title, who, notes), ``cursor`` (the question being
revisited with Previous, or None), ``flash`` (messages for the next render).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import streamlit as st

from knowledge.loader import Knowledge, load_knowledge
from knowledge.schema import DONT_KNOW, INTERVENTION_IDS
from rules.consult import Consultation, consult
from rules.explain import compare, explain
from rules.model import RuleBase, load_rulebase

from .logic import cite, md_plain

log = logging.getLogger("triage.app")

FRIENDLY_ERROR = (
    "Sorry, something went wrong while showing this page. Your answers are kept; "
    "try again, or start over. The details have been written to the server log."
)


# --------------------------------------------------------------------------- logging and data


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
    """The rule base as data (read-only). No engine is shared: consult() keeps one per thread."""
    return load_rulebase()


@st.cache_resource(show_spinner=False)
def _store_for(url: str):
    """One case store (one connection pool) per database URL, shared by the sessions of this server.
    A store that cannot be made (a bad URL) raises and is not cached, so a fixed setting is used.
    It has no actor of its own: every call must say who acts (see :func:`get_store`)."""
    from casework.store import Store

    return Store(url, actor=None)


def raw_store():
    """The shared store itself (each call must pass ``actor=``)."""
    from casework.store import resolve_url

    return _store_for(resolve_url())


def get_store():
    """The case store the settings point to (``TRIAGE_DATABASE_URL`` or the SQLite file), acting
    for this session's user: every call sees and changes only the cases that user may."""
    from casework.store import StoreError

    from .access_gate import current_actor

    actor = current_actor()
    if actor is None:
        raise StoreError("you are not signed in")
    return raw_store().acting(actor)


def store_error(exc: Exception) -> str:
    """A case-store error for the page (Markdown-safe): administrators get the database's address and
    the driver's words; everyone else a plain message without them."""
    from .access_gate import current_actor

    actor = current_actor()
    full = actor is not None and actor.is_admin
    return md_plain(str(exc) if full else getattr(exc, "plain", str(exc)))


def use_session_engines() -> None:
    """Give this script run the experta engines of its own session.

    :func:`rules.engine.run_engine` keeps its engines in a ``threading.local``, but Streamlit starts
    a new thread for every script run, so the engines (about 0.1 s to build) would be rebuilt on
    every click. Pointing this thread's slot at a dict kept in the session's state keeps one set of
    engines per session: never shared between sessions, and a session runs one script at a time.
    """
    from rules.engine import bind_engine_store

    bind_engine_store(st.session_state.setdefault("_experta_engines", {}))


def iv_name(iv: str | None) -> str:
    """The name of an intervention for a page (Markdown-safe); an id this rule base does not know
    (a case saved by another version) is shown as text, marked unknown, never a crash."""
    if iv is None:
        return "no recommendation yet"
    known = get_knowledge().interventions
    if iv in known:
        return known[iv].name
    return f"{md_plain(str(iv)[:40], one_line=True)} (unknown intervention)"


# --------------------------------------------------------------------------- page guard, flash


def guard(render: Callable[[], None]) -> None:
    """Run a page body; on an unexpected error show a friendly message and log the details.
    Streamlit's own control flow (rerun, stop, switch page) is a BaseException and passes through."""
    try:
        render()
    except Exception:  # noqa: BLE001 - last resort: a message for the user, the traceback in the log
        log.exception("page failed")
        st.error(FRIENDLY_ERROR)


def flash(kind: str, message: str, where: str | None = None) -> None:
    """Queue a message (``success``, ``info``, ``warning``, ``error``) for the next render; with
    ``where``, it is shown by ``show_flash(where)`` (e.g. inside the tab the action was in)."""
    st.session_state.setdefault("flash", []).append((kind, message, where))


def show_flash(where: str | None = None) -> None:
    queued = st.session_state.get("flash", [])
    keep = [m for m in queued if m[2] != where]
    for kind, message, _ in (m for m in queued if m[2] == where):
        getattr(st, kind)(message)
    st.session_state["flash"] = keep


# --------------------------------------------------------------------------- state


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
    import secrets

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
    from casework.store import CaseNotFound

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


def open_cases_page() -> None:
    """Go to the Cases page (it opens the case in ``cases_open``)."""
    from streamlit.errors import StreamlitAPIException

    try:
        st.switch_page("app_pages/cases.py")
    except StreamlitAPIException:  # the page runs on its own (tests, an installation without Cases)
        st.info("Open Casework → Cases to plan and monitor it.")


def forget_question_widgets() -> None:
    """Drop the widget state of the question radios (and of the gap fields), so they show our answers
    and the case's gap afresh."""
    for key in [k for k in st.session_state if isinstance(k, str) and k.startswith(("q_", "case_gap_"))]:
        del st.session_state[key]


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


def organisation_offer(intervention: str | None) -> str:
    """The organisation's own route for an intervention (from its profile), as plain text to append
    to a first step: " Here: the employee assistance programme (…)." or ""."""
    from app_pages.logic import md_plain
    from casework.profile import current_profile, offer_line

    line = offer_line(intervention, current_profile())
    return " " + md_plain(line, one_line=True) if line else ""


def current_consultation() -> Consultation | None:
    """The consultation of the case in this session, or None when nothing is answered yet."""
    answers = st.session_state.get("answers") or {}
    if not answers:
        return None
    return consult_memo(answers)


# --------------------------------------------------------------------------- references


def sources_line(keys: list[str], label: str = "References") -> None:
    if keys:
        st.caption(f"{label}: {cite(get_knowledge(), keys)}")


def references_list(keys: list[str]) -> None:
    """Full references for source keys, as a bullet list."""
    kb = get_knowledge()
    for k in dict.fromkeys(keys):
        src = kb.sources.get(k)
        st.markdown(f"- {src.full if src else k}")


# --------------------------------------------------------------------------- result


def answer_label(qid: str, value: str) -> str:
    return get_knowledge().question(qid).label_of(value)


def result_memo(c: Consultation) -> dict[str, Any]:
    """``c.to_dict()`` (the result model with its summary), remembered for this session."""
    return _memo("_memo_summary", answers_key(c.answers) + (c.status,), lambda: c.to_dict(get_rulebase()))


def render_result(c: Consultation, *, heading: str | None = None, show_summary: bool = True) -> None:
    """The outcome of a consultation in plain words, summary first: what to do, how firmly the answers
    support it, the strongest reasons, whether it is a close call, the secondary interventions with
    their roles, and what is ruled out or cannot lead (no rule ids: those are in the expert detail).
    ``show_summary=False`` gives the short form (the what-if panel)."""
    rb = get_rulebase()
    kb = rb.knowledge
    if heading:
        st.markdown(f"### {heading}")
    if c.status == "needs_answer":
        q = c.next_question
        st.info(f"One more answer needed: **{q.text}**")
        if c.provisional:
            st.caption(f"So far the answers point to {iv_name(c.provisional)}.")
        return
    d = result_memo(c)
    sm = d["summary"]
    if c.status == "cannot_recommend":
        cr = d["cannot_recommend"] or {}
        gate_heading = rb.gates[c.gate].heading if c.gate in rb.gates else "Cannot recommend yet"
        st.warning(f"**{gate_heading}: {cr.get('label', '')}.** {cr.get('advice', '')}")
        if c.gate == "check_first":
            st.markdown(f"**The answers lean to:** {iv_name(c.lean)}" if c.lean
                        else "**The answers do not point to any intervention yet.**")
            diff = cr.get("differential") or []
            if diff:
                st.markdown("**Most likely first:**\n" + "\n".join(
                    f"{n}. **{iv_name(x['intervention'])}**: {x['because']}" for n, x in enumerate(diff, 1)))
            for req in c.settled.missing:
                st.markdown(f"Not yet established: {req.needs}.")
            st.markdown("**Check first** (start with the marked ones: they could settle it)")
            for x in cr.get("checks") or []:
                mark = "➡️ " if x.get("start_here") else ""
                st.checkbox(f"{mark}**{x['what'][:1].upper()}{x['what'][1:]}**: {x['how']}", value=False,
                            key=f"check_{heading or ''}_{x['question'] or x['for']}")
        elif show_summary:
            unknown = [q for q, v in c.answers.items() if v == DONT_KNOW]
            if unknown:
                st.markdown("**Answers to find out** (you answered \"Don't know\"):")
                st.markdown("\n".join(f"- ❓ {kb.question(q).text}" for q in unknown))
    else:
        iv = kb.interventions[c.primary]
        conf = sm["confidence"]
        st.success(f"**{sm['headline']}** — confidence {conf['text']}")
        if show_summary:
            st.caption(conf["meaning"])
            if sm["because"]:
                st.markdown("**Why:**\n" + "\n".join(f"- {b}" for b in sm["because"]))
            if sm["decides"]:
                st.info(sm["decides"], icon="⚖️")
            for x in sm.get("held_back") or []:
                st.markdown(x["text"])
            st.markdown(f"**First step:** {sm['next_step']}" + organisation_offer(c.primary))
        for s in d["secondary"]:
            st.markdown(f"**Also: {iv_name(s['intervention'])}** — {s['role']}.")
        for x in d.get("delivery") or []:
            st.markdown(f"**Before you start** ({x['needs']}): {x['step']}")
        if show_summary:
            with st.expander(f"What {iv.name.lower()} is"):
                st.markdown(iv.summary.strip())
    if d["ruled_out"]:
        st.markdown("**Ruled out**")
        st.markdown("\n".join(f"- **{iv_name(r['intervention'])}** (ruled out): {r['reason']}" for r in d["ruled_out"]))
    lead = [r for r in d["cannot_lead"] if r["intervention"] not in c.secondary]
    if lead and show_summary:
        st.markdown("**May support, must not lead**")
        st.markdown("\n".join(f"- **{iv_name(r['intervention'])}** (cannot lead): {r['reason']}" for r in lead))


def result_line(status: str, primary: str | None, confidence: float | None, gate: str | None = None) -> str:
    if status == "complete" and primary:
        return f"{iv_name(primary)} ({confidence:.0%})" if confidence is not None else iv_name(primary)
    if status == "cannot_recommend":
        g = get_rulebase().gates.get(gate or "")
        return "cannot recommend yet" + (f": {g.label}" if g else "")
    return "needs another answer"


# --------------------------------------------------------------------------- what-if


def whatif_panel(
    answers: Mapping[str, str], prefix: str, on_apply: Callable[[str, str], None] | None = None,
    show_ids: bool = True,
) -> None:
    """Change one answered question and see the new result beside the current one (the rules that
    make the difference are named by id only with ``show_ids``). It starts from no change: no question
    is chosen, and a chosen question keeps its answer until another one is picked."""
    rb = get_rulebase()
    kb = rb.knowledge
    answered = list(answers)
    if not answered:
        st.caption("Answer some questions first.")
        return
    qid = st.selectbox(
        "Question to change",
        answered,
        index=None,
        placeholder="Choose a question (nothing is changed yet)",
        format_func=lambda q: kb.question(q).text,
        key=f"{prefix}_whatif_q",
    )
    if qid is None:
        st.caption("Nothing changed yet: choose a question, then another answer, to see both results side by side.")
        return
    q = kb.question(qid)
    current = answers[qid]
    alt = st.selectbox(
        f"Instead of \"{q.label_of(current)}\", answer",
        [current, *(v for v in q.option_values() if v != current)],
        format_func=lambda v: f"{q.label_of(v)} (as now: no change)" if v == current else q.label_of(v),
        key=f"{prefix}_whatif_v_{qid}",
    )
    if alt == current:
        st.caption("Nothing changed yet: pick another answer to see what it would change.")
        return
    changed = {**answers, qid: alt}
    diff = compare_memo(answers, changed)
    before = consult_memo(answers)
    after = consult_memo(changed)
    left, right = st.columns(2)
    with left:
        with st.container(border=True):
            render_result(before, heading="Now", show_summary=False)
    with right:
        with st.container(border=True):
            render_result(after, heading="What if", show_summary=False)
    if diff["primary"]["changed"] or diff["status"]["changed"]:
        st.markdown(
            f"**The result changes:** {result_line(before.status, before.primary, before.confidence, before.gate)}"
            f" → {result_line(after.status, after.primary, after.confidence, after.gate)}"
        )
    else:
        st.markdown("**The primary recommendation stays the same.**")
    if diff["rules_now_firing"]:
        st.markdown("Rules that would now fire:")
        for r in diff["rules_now_firing"]:
            st.markdown(f"- `{r['rule']}` {r['rationale']}" if show_ids else f"- {r['rationale']}")
    if diff["rules_no_longer_firing"]:
        st.markdown("Rules that would no longer fire:")
        for r in diff["rules_no_longer_firing"]:
            st.markdown(f"- `{r['rule']}` {r['rationale']}" if show_ids else f"- {r['rationale']}")
    if on_apply is not None:
        st.button(
            "Use this answer",
            key=f"{prefix}_whatif_apply",
            on_click=on_apply,
            args=(qid, alt),
            help="Replace the answer in the case with the one above.",
        )


def intervention_options() -> list[str]:
    return list(INTERVENTION_IDS)


def name_of_option(value: Any) -> str:
    return iv_name(value) if value in INTERVENTION_IDS else str(value)
