"""Learn: practice on unseen cases. One answer per case, a score and progress for the session, the
pairs of answers the student confuses, a drill round on those pairs, and feedback that explains (the
tool's result with its reasons, the deciding fact, the distinction from the source text).

The session is plain data (:class:`casework.practice.PracticeSession`) kept in ``practice`` of the
session state; the case on screen is ``practice_shown`` (the case just answered stays with its feedback
until "Next case")."""

from __future__ import annotations

import streamlit as st

from app_pages.logic import md_plain
from app_pages.state import get_knowledge, get_rulebase
from app_pages.widgets import iv_name
from casework.practice import (
    PracticeError,
    PracticeSession,
    answer_label,
    check_options,
    feedback,
    right_answers,
    settling_checks,
)
from knowledge.practice_set import ANSWERS, GATE_ANSWERS, Practice, load_practice
from rules.consult import consult

KEY = "practice"


@st.cache_resource(show_spinner=False)
def get_practice() -> Practice:
    """The practice set (read-only data, shared between sessions)."""
    return load_practice()


@st.cache_resource(show_spinner=False)
def get_right_answers() -> dict[str, str]:
    """Each practice case's right answer from the loaded rule base (deterministic, shared)."""
    return right_answers(get_practice(), get_rulebase())


def session() -> PracticeSession:
    raw = st.session_state.get(KEY)
    if raw is None:
        sess = PracticeSession.start(get_practice())
        st.session_state[KEY] = sess.to_dict()
        return sess
    return PracticeSession.from_dict(raw)


def _save(sess: PracticeSession) -> None:
    st.session_state[KEY] = sess.to_dict()


def label(answer: str) -> str:
    name = answer_label(get_knowledge(), get_rulebase(), answer)
    return f"{name} (cannot recommend yet)" if answer in GATE_ANSWERS and answer != "conduct_matter" else name


def _forget_widgets() -> None:
    for k in ("practice_pick", "practice_check_q"):
        st.session_state.pop(k, None)


def _submit(cid: str) -> None:
    pick = st.session_state.get("practice_pick")
    if pick is None:
        st.session_state["practice_need_pick"] = True
        return
    practice, rb = get_practice(), get_rulebase()
    sess = session()
    case = practice.case(cid)
    check = st.session_state.get("practice_check_q")
    settling = settling_checks(consult(case.answers, rb), rb)
    try:
        sess.answer(case, pick, get_right_answers()[cid], check=check, settling=settling)
    except PracticeError as exc:
        st.session_state["practice_problem"] = str(exc)
        return
    _save(sess)
    st.session_state["practice_shown"] = cid


def _next() -> None:
    st.session_state.pop("practice_shown", None)
    _forget_widgets()


def _drill() -> None:
    sess = session()
    try:
        sess.start_drill(get_practice(), get_right_answers())
    except PracticeError as exc:
        st.session_state["practice_problem"] = str(exc)
        return
    _save(sess)
    _next()


def _restart() -> None:
    st.session_state.pop(KEY, None)
    _next()


def render() -> None:
    practice = get_practice()
    st.title("Practice")
    st.markdown(
        "Cases you have not seen, told the way a team leader would tell them (none of them is a worked "
        "case). Decide what fits **before** you see the tool's answer: one answer per case. After each "
        "answer you see the tool's result with its reasons, the fact that decides the case and the "
        "distinction from the source text it exercises."
    )
    if not practice.cases:
        st.info("There are no practice cases in this installation.")
        return
    sess = session()
    r = sess.round
    for flag in ("practice_problem",):
        if msg := st.session_state.pop(flag, None):
            st.warning(msg)
    right, answered = r.score
    total = len(r.order)
    title = "Drill round" if r.kind == "drill" else "Round"
    st.progress(answered / total if total else 1.0,
                text=f"{title} {len(sess.rounds)}: {answered} of {total} cases answered, {right} right")
    if r.kind == "drill":
        st.caption("Drilling: " + "; ".join(f"{label(a)} or {label(b)}" for a, b in r.pairs))

    shown = st.session_state.get("practice_shown") or r.current
    if shown is not None and shown not in r.order:
        shown = r.current
    if shown is None:
        _round_done(sess)
    else:
        _case(shown, sess, practice)
    _session_panel(sess, practice)


def _case(cid: str, sess: PracticeSession, practice: Practice) -> None:
    kb, rb = get_knowledge(), get_rulebase()
    r = sess.round
    case = practice.case(cid)
    st.header(f"Case {r.order.index(cid) + 1} of {len(r.order)}")
    with st.container(border=True):
        st.markdown(md_plain(case.narrative.strip()))
    attempt = r.attempts.get(cid)
    if attempt is None:
        st.radio("What fits this case?", list(ANSWERS), index=None, format_func=label, key="practice_pick")
        options = check_options(case, kb)
        st.selectbox(
            "If too little is known: which check would settle it? (optional)",
            options,
            index=None,
            placeholder="No check named",
            format_func=lambda q: kb.question(q).check.what[:1].upper() + kb.question(q).check.what[1:],
            key="practice_check_q",
        )
        if st.session_state.pop("practice_need_pick", False):
            st.warning("Choose an answer first.")
        st.button("Check my answer", key="practice_check", type="primary", on_click=_submit, args=(cid,))
        return
    fb = feedback(case, attempt.pick, practice, rb, check=attempt.check)
    _feedback(fb)
    st.button("Next case" if r.current else "See how the round went", key="practice_next", type="primary",
              on_click=_next)


def _feedback(fb: dict) -> None:
    """The feedback after an answer: shown in full, never folded away."""
    kb = get_knowledge()
    if fb["right"]:
        st.success(f"Right: **{label(fb['right_answer'])}**. The tool says the same.")
    else:
        st.error(f"Not this time: you chose **{label(fb['pick'])}**; the tool says **{label(fb['right_answer'])}**.")
    if fb["safety"]:
        st.warning(f"**{fb['safety']['title']}** " + " ".join(fb["safety"]["guidance"][:1]))
    st.markdown(f"**The deciding fact.** {fb['deciding_fact']}")
    st.subheader("The tool's result")
    lines = [f"**{fb['headline']}**"]
    lines += [f"- {b}" for b in fb["because"]]
    st.markdown("\n".join(lines))
    for s in fb["secondary"]:
        st.markdown(f"**Also: {iv_name(s['intervention'])}**: {s['role']}.")
    if fb["why_not_pick"]:
        st.markdown(f"**Why not {label(fb['pick'])}**\n" + "\n".join(f"- {w}" for w in fb["why_not_pick"]))
    others = [x for x in fb["ruled_out"] if x["intervention"] != fb["pick"]]
    if others:
        st.markdown("**Ruled out**\n" + "\n".join(f"- {iv_name(x['intervention'])}: {x['reason']}" for x in others))
    if fb["checks"]:
        st.markdown("**What would settle it (check first)**\n" + "\n".join(
            f"- {c['what'][:1].upper()}{c['what'][1:]}: {c['how']}" for c in fb["checks"][:4]))
    if fb["check"] is not None:
        what = kb.question(fb["check"]).check.what
        if fb["check_right"]:
            st.markdown(f"Your check, *{what}*, is one that would settle it.")
        elif fb["check_right"] is False:
            st.markdown(f"Your check, *{what}*, is already known in this case or would not settle it.")
    d = fb["distinction"]
    st.info(f"**The distinction: {d['title']}.** {d['text']}  \nReferences: {'; '.join(d['references'])}")


def _round_done(sess: PracticeSession) -> None:
    r = sess.round
    right, answered = r.score
    st.header("Round complete")
    st.markdown(f"You got **{right} of {answered}** right in this round.")
    if sess.confused_pairs():
        st.button("Drill the pairs I confuse", key="practice_drill", type="primary", on_click=_drill,
                  help="A short round of cases whose answer is one side of the pairs you confuse most.")
    else:
        st.markdown("Nothing to drill: every answer was right.")


def _session_panel(sess: PracticeSession, practice: Practice) -> None:
    st.divider()
    st.header("Your session")
    right, answered = sess.score()
    st.markdown(f"Score: **{right} of {answered}** right over {len(sess.rounds)} round(s)." if answered
                else "No answers yet.")
    pairs = sess.confused_pairs()
    if pairs:
        by_pair = {tuple(sorted(d.pair)): d.title for d in practice.distinctions.values()}
        st.markdown("**The pairs you confuse most**\n" + "\n".join(
            f"- {label(a)} and {label(b)}: {n} time{'s' if n > 1 else ''}"
            + (f" (see *{by_pair[tuple(sorted((a, b)))]}*)" if tuple(sorted((a, b))) in by_pair else "")
            for (a, b), n in pairs[:5]))
    st.button("Start over", key="practice_restart", on_click=_restart)
