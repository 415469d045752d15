"""Widgets shared by the pages: the page guard, flash messages shown, intervention names, references,
the result block and the what-if panel (used on Diagnose and on Worked cases)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

import streamlit as st

from app_pages.logic import cite, md_plain
from app_pages.state import compare_memo, consult_memo, get_knowledge, get_rulebase, result_memo
from casework.profile import current_profile, offer_line
from knowledge.schema import DONT_KNOW
from rules.consult import Consultation

log = logging.getLogger("triage.app")

FRIENDLY_ERROR = (
    "Sorry, something went wrong while showing this page. Your answers are kept; "
    "try again, or start over. The details have been written to the server log."
)


# --------------------------------------------------------------------------- page guard, flash, names


def guard(render: Callable[[], None]) -> None:
    """Run a page body; on an unexpected error show a friendly message and log the details.
    Streamlit's own control flow (rerun, stop, switch page) is a BaseException and passes through."""
    try:
        render()
    except Exception:  # noqa: BLE001 - last resort: a message for the user, the traceback in the log
        log.exception("page failed")
        st.error(FRIENDLY_ERROR)


def show_flash(where: str | None = None) -> None:
    queued = st.session_state.get("flash", [])
    keep = [m for m in queued if m[2] != where]
    for kind, message, _ in (m for m in queued if m[2] == where):
        getattr(st, kind)(message)
    st.session_state["flash"] = keep


def iv_name(iv: str | None) -> str:
    """The name of an intervention for a page (Markdown-safe); an id this rule base does not know
    (a case saved by another version) is shown as text, marked unknown, never a crash."""
    if iv is None:
        return "no recommendation yet"
    known = get_knowledge().interventions
    if iv in known:
        return known[iv].name
    return f"{md_plain(str(iv)[:40], one_line=True)} (unknown intervention)"


NAV_PAGES = "nav_pages"  # session state: this run's pages by URL path (app.py sets it; see switch_to)


def remember_pages(pages: Mapping[str, st.Page]) -> None:
    """Called by ``app.py`` on every run: the pages of the navigation, so a page can go to another
    without importing it (:func:`switch_to`)."""
    st.session_state[NAV_PAGES] = dict(pages)


def switch_to(url_path: str) -> bool:
    """Go to the page at ``url_path`` (``st.switch_page``, which ends this run). False when this run
    has no such page: the page runs on its own (tests) or the user's role does not show that page."""
    page = st.session_state.get(NAV_PAGES, {}).get(url_path)
    if page is None:
        return False
    st.switch_page(page)
    return True


def open_cases_page() -> None:
    """Go to the Cases page (it opens the case in ``cases_open``)."""
    if not switch_to("cases"):  # the page runs on its own (tests)
        st.info("Open Casework → Cases to plan and monitor it.")


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


def organisation_offer(intervention: str | None) -> str:
    """The organisation's own route for an intervention (from its profile), as plain text to append
    to a first step: " Here: the employee assistance programme (…)." or ""."""
    line = offer_line(intervention, current_profile())
    return " " + md_plain(line, one_line=True) if line else ""


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
        st.info(f"More answers needed, next: **{md_plain(q.text)}**")
        if c.provisional:
            st.caption(f"So far the answers point to {iv_name(c.provisional)}.")
        return
    d = result_memo(c)
    sm = d["summary"]
    if c.status == "cannot_recommend":
        cr = d["cannot_recommend"] or {}
        st.warning(f"**{sm['headline']}**")
        if show_summary:
            if sm["because"]:
                st.markdown("**Why:**\n" + "\n".join(f"- {b}" for b in sm["because"]))
            if sm["next_step"]:
                st.markdown(f"**First step:** {sm['next_step']}")
        if c.gate == "check_first":
            if not c.lean:
                st.markdown("**The answers do not point to any intervention yet.**")
            diff = cr.get("differential") or []
            if diff:
                st.markdown("**Most likely first:**\n" + "\n".join(
                    f"{n}. **{iv_name(x['intervention'])}**: {x['because']}" for n, x in enumerate(diff, 1)))
            if not show_summary:  # else the reasons above said it
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
            lowered = (conf.get("lowered_by") or {}).get("text")
            st.caption(conf["meaning"] + (f" {lowered[:1].upper()}{lowered[1:]}." if lowered and not sm["decides"] else ""))
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
