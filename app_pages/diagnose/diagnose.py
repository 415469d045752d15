"""Diagnose: one question at a time, then the result with its reasons, what-if and next steps."""

from __future__ import annotations

import logging
import re

import streamlit as st

from app_pages.access_gate import get_store, store_error
from app_pages.casework.outcomes import gap_inputs
from app_pages.logic import (
    answers_from_query,
    answers_to_query,
    load_answers_upload,
    md_plain,
    path_of,
    remaining_estimate,
    safety_guidance,
)
from app_pages.state import (
    answers_state,
    case_state,
    consult_memo,
    explain_memo,
    flash,
    forget_question_widgets,
    forget_saved_case,
    get_rulebase,
    result_memo,
    save_session_case,
    session_saved_case,
    session_snapshot,
)
from app_pages.widgets import (
    answer_label,
    iv_name,
    open_cases_page,
    references_list,
    render_result,
    show_flash,
    sources_line,
    whatif_panel,
)
from casework.answers_io import AnswersFileError, dump_answers
from casework.gap import GapError, gap_dict, parse_gap
from casework.profile import current_profile, support_lines
from casework.store import StoreError
from rules.consult import Consultation
from rules.explain import why_question
from rules.summary import result_words, role_of

try:
    from casework.report import render_report
except ImportError:  # an installation without the justification report: the page says so
    render_report = None

log = logging.getLogger("triage.app")
CASE_FIELDS = (("title", "Case title"), ("who", "Who or what it is about"), ("notes", "Notes (optional)"))


def file_stem(title: str, default: str) -> str:
    """A safe file name from a case title: letters, digits, dashes; at most 60 characters."""
    stem = re.sub(r"[^\w-]+", "-", title.strip()).strip("-")[:60]
    return stem or default


# --------------------------------------------------------------------------- callbacks


def _set_cursor(qid: str | None) -> None:
    st.session_state["cursor"] = qid


def on_next(qid: str) -> None:
    value = st.session_state.get(f"q_{qid}")
    if value is None:
        flash("warning", "Choose an answer first (\"Don't know\" is fine).")
        return
    answers = answers_state()
    answers[qid] = value
    cursor = st.session_state.get("cursor")
    if cursor == qid:
        # revisiting with Previous: step forward along the (possibly changed) path
        path = path_of(get_rulebase(), answers)
        after = path[path.index(qid) + 1:] if qid in path else []
        _set_cursor(after[0] if after else None)


def on_previous(current: str | None) -> None:
    path = path_of(get_rulebase(), answers_state())
    if not path:
        return
    if current in path:
        i = path.index(current)
        _set_cursor(path[i - 1] if i > 0 else path[0])
    else:
        _set_cursor(path[-1])


def on_skip_ahead() -> None:
    _set_cursor(None)


def on_start_over() -> None:
    answers = answers_state()
    st.session_state["undo_state"] = {"answers": dict(answers), "case": dict(case_state()), **forget_saved_case()}
    answers.clear()
    st.session_state["case"] = {"title": "", "who": "", "notes": ""}
    for key, _ in CASE_FIELDS:
        st.session_state[f"case_{key}"] = ""
    _set_cursor(None)
    forget_question_widgets()
    st.session_state.pop("report", None)


def on_undo() -> None:
    undo = st.session_state.pop("undo_state", None)
    if not undo:
        return
    st.session_state["answers"] = dict(undo["answers"])
    st.session_state["case"] = dict(undo["case"])
    st.session_state.update({k: undo[k] for k in ("save_key", "saved_case") if undo.get(k)})
    for key, _ in CASE_FIELDS:
        st.session_state[f"case_{key}"] = undo["case"].get(key, "")
    forget_question_widgets()


def on_case_field(key: str) -> None:
    case_state()[key] = st.session_state.get(f"case_{key}", "")


def on_upload() -> None:
    f = st.session_state.get("upload")
    if f is None:
        return
    try:
        loaded = load_answers_upload(f.getvalue(), f.name, get_rulebase())
    except AnswersFileError as exc:
        flash("error", f"Could not open the answers file. {md_plain(exc)}. Your current answers are unchanged.")
        return
    if not loaded.answers and loaded.problems:
        flash(
            "error",
            f"{md_plain(f.name, one_line=True)}: none of the answers could be used ("
            + md_plain("; ".join(loaded.problems[:10]))
            + "). Your current answers are unchanged.",
        )
        return
    st.session_state["undo_state"] = {"answers": dict(answers_state()), "case": dict(case_state()), **forget_saved_case()}
    st.session_state["answers"] = dict(loaded.answers)
    st.session_state["case"] = {"title": loaded.title, "who": loaded.who, "notes": loaded.notes, "gap": loaded.gap}
    for key, _ in CASE_FIELDS:
        st.session_state[f"case_{key}"] = st.session_state["case"][key]
    _set_cursor(None)
    forget_question_widgets()
    st.session_state.pop("report", None)
    flash("success", f"Opened {md_plain(f.name, one_line=True)}: {len(loaded.answers)} answers.")
    if loaded.problems:
        flash("warning", "Left out of the file: " + md_plain("; ".join(loaded.problems[:10])))


def on_apply_whatif(qid: str, value: str) -> None:
    answers_state()[qid] = value
    _set_cursor(None)
    forget_question_widgets()


# --------------------------------------------------------------------------- query params


def load_from_query() -> None:
    """Once per session: answers in the page address reopen a case."""
    if st.session_state.get("query_checked"):
        return
    st.session_state["query_checked"] = True
    params = st.query_params.to_dict()
    if not params or answers_state():
        return
    clean, problems = answers_from_query(params, get_rulebase())
    if clean:
        st.session_state["answers"] = clean
        flash("info", f"Reopened a case from the link: {len(clean)} answers.")
    if problems:
        flash("warning", "Some values in the link were left out: " + md_plain("; ".join(problems[:10])))


def sync_query(c: Consultation) -> None:
    wanted = answers_to_query(c.answers)
    if st.query_params.to_dict() != wanted:
        st.query_params.from_dict(wanted)


# --------------------------------------------------------------------------- pieces


def safety_banner(c: Consultation) -> None:
    """Safety guidance from the data: emergency (a risk of harm), check now (risk unknown with a red
    flag) or support (a red flag, no risk reported)."""
    level = c.safety_dict(get_rulebase())
    own = [md_plain(x, one_line=True) for x in support_lines(current_profile())]  # a file's text: never markup
    body = "\n".join(f"- {line}" for line in [*level["guidance"], *own])
    if level["level"] == "support":
        st.warning(f"**{level['title']}**\n\n{body}")
        return
    st.error(f"### Safety first: {level['title']}\n\n{body}", icon="🚨")
    if level["level"] != "emergency":
        return
    g = safety_guidance(get_rulebase().knowledge)
    with st.container(border=True):
        st.markdown(f"**{g.title}**\n\n{g.summary}")
        st.markdown("\n".join(f"{i}. {s}" for i, s in enumerate(g.steps, 1)))
        sources_line(g.sources)


def case_header() -> None:
    case = case_state()
    for key, _ in CASE_FIELDS:
        if f"case_{key}" not in st.session_state:
            st.session_state[f"case_{key}"] = case.get(key, "")
    # keyed: the label changes with the title, and without a key the expander would fold shut on each change
    with st.expander("Case details: " + (md_plain(case.get("title"), one_line=True) or "untitled"), expanded=False,
                     key="case_details_box"):
        left, right = st.columns(2)
        left.text_input(
            CASE_FIELDS[0][1], key="case_title", on_change=on_case_field, args=("title",),
            placeholder="e.g. Service quality in the call centre",
        )
        right.text_input(
            CASE_FIELDS[1][1], key="case_who", on_change=on_case_field, args=("who",),
            placeholder="a person, a team or a role",
        )
        st.text_area(CASE_FIELDS[2][1], key="case_notes", on_change=on_case_field, args=("notes",), height=80)
        gap_fields()
        st.caption("Case details stay in this browser session and in files you download; they are not put in the link.")


def gap_fields() -> None:
    """The gap in numbers (optional): measure, now, target, unit, by when; kept in the case state."""
    st.markdown("**The gap in numbers** (optional)")
    values = gap_inputs("case_gap", case_state().get("gap"))
    try:
        case_state()["gap"] = gap_dict(parse_gap({**values, "by": values["by"] or None}))
    except GapError as exc:
        case_state()["gap"] = None
        st.warning("The gap is not complete: " + md_plain("; ".join(exc.problems)))


def progress(c: Consultation, shown: str | None) -> None:
    rb = get_rulebase()
    answered = len(c.answers)
    remaining = remaining_estimate(rb, c.answers)
    total = answered + remaining
    if shown is not None and shown in c.answers:
        pos = list(c.answers).index(shown) + 1
        text = f"Reviewing question {pos} of {answered} answered"
    elif remaining:
        text = f"{answered} answered · about {remaining} more"
    else:
        text = f"{answered} answered · done"
    st.progress(answered / total if total else 1.0, text=text)


def question_block(c: Consultation, qid: str) -> None:
    rb = get_rulebase()
    kb = rb.knowledge
    q = c.worded(kb.question(qid))  # worded as the engine asks it (the group wording for a group)
    answers = answers_state()
    key = f"q_{qid}"
    if key not in st.session_state and qid in answers:
        st.session_state[key] = answers[qid]
    st.header(q.text)
    st.caption(q.help.strip())
    with st.form(key=f"form_{qid}", border=False):
        st.radio(
            q.text,
            q.option_values(),
            index=None,
            format_func=q.label_of,
            key=key,
            label_visibility="collapsed",
        )
        cols = st.columns([1, 1, 3])
        cols[0].form_submit_button("Next", type="primary", key="next", on_click=on_next, args=(qid,),
                                   width="stretch")
        cols[1].form_submit_button("Previous", key="previous", on_click=on_previous, args=(qid,),
                                   disabled=not c.answers or list(c.answers)[:1] == [qid],
                                   width="stretch")
    with st.expander("Why are we asking?"):
        # explain why this question matters, for the consultation where it is the next question
        if c.next_question is not None and c.next_question.id == qid:
            shown = c
        else:  # revisiting: the consultation as it stood when this question was asked
            order = list(c.answers)
            shown = consult_memo({k: c.answers[k] for k in order[: order.index(qid)]})
        why = why_question(rb, shown) if shown.next_question else None
        st.markdown(q.why.strip())
        if why:
            if why["can_still_move"]:
                st.markdown("The answer can still move: " + ", ".join(iv_name(i) for i in why["can_still_move"]) + ".")
            if why["asked_ahead_of"]:
                ahead = "; ".join(f"“{c.worded(kb.question(a)).text}”" for a in why["asked_ahead_of"])
                because = ("one of its answers can settle the case or make other questions unnecessary"
                           if why["gateway"] else "its answers separate the possible results most")
                st.markdown(f"Asked before {ahead}: {because}.")
            if why["rules_waiting"]:
                st.markdown("Rules waiting on it: " + ", ".join(f"`{r}`" for r in why["rules_waiting"][:12])
                            + (" …" if len(why["rules_waiting"]) > 12 else ""))
        sources_line(q.sources)


def result_block(c: Consultation) -> None:
    """The result, summary first: what to do and the next steps; then why not the others, what
    could change it, what-if and the report; the rule trace, ids and arithmetic under a toggle."""
    rb = get_rulebase()
    kb = rb.knowledge
    st.header("Result")
    render_result(c)
    save_block()
    e = explain_memo(c)
    st.markdown("### Next steps")
    if c.primary:
        iv = kb.interventions[c.primary]
        st.markdown(f"**{iv.name}**")
        st.markdown("\n".join(f"{i}. {s}" for i, s in enumerate(iv.first_steps, 1)))
        st.markdown(f"**Who leads:** {iv.who_leads}  \n**Time horizon:** {iv.time_horizon}")
        for s in c.secondary:
            with st.expander(f"Next steps for {iv_name(s)} (secondary)"):
                st.markdown("\n".join(f"{i}. {x}" for i, x in enumerate(kb.interventions[s].first_steps, 1)))
        sources_line(iv.sources)
    # a gate's advice is in the result's reasons and first step above
    st.caption("The full action plan (measures of success, owners, dates) is made when you save the case "
               "(Casework → Cases → Plan) and is in the report below.")
    with st.expander("Why not the others?"):
        for iv, wn in e["why_not"].items():
            words = verdict_label(wn["verdict"])
            more = [r for r in wn["reasons"][1:] if r]
            short = wn.get("short")
            st.markdown(f"- **{iv_name(iv)}**: {words}" + (f" (also recommended: {role_for(c, iv)})"
                                                          if iv in c.secondary else "")
                        + (f": {md_plain(short)}" if short and iv not in c.secondary else "")
                        + "".join(f"\n  - {md_plain(r)}" for r in more))
    with st.expander("What could change the result?"):
        if e["decisive"]:
            st.markdown("Changing one of these answers alone would change the result:")
            for d in e["decisive"]:
                alts = "; ".join(f"*{md_plain(a['alternative_label'])}*: {md_plain(a['text'])}"
                                 for a in d["alternatives"])
                st.markdown(f"- {d['question_text']} (now *{answer_label(d['question'], d['answer'])}*): {alts}")
        else:
            st.markdown("No single answer change would change the result.")
        unknown = result_memo(c).get("could_change_result") or []
        if unknown:
            st.markdown("Answers not known yet that could still change it (finding them out settles it):")
            for o in unknown:
                alts = "; ".join(f"*{answer_label(o['question'], a['answer'])}*: {md_plain(a['text'])}"
                                 for a in o["alternatives"])
                st.markdown(f"- {o.get('text') or get_rulebase().knowledge.question(o['question']).text} "
                            f"(now *{answer_label(o['question'], o['answer'])}*): {alts}")
    with st.expander("What if?"):
        whatif_panel(c.answers, "diag", on_apply=on_apply_whatif,
                     show_ids=bool(st.session_state.get("expert_detail")))
    with st.expander("Report for a manager or budget holder"):
        report_block(c)
    if st.toggle("Expert detail: rules, ids and arithmetic", key="expert_detail"):
        expert_detail(c, e)


def verdict_label(verdict: str) -> str:
    return result_words().verdicts[verdict].lower()


def role_for(c: Consultation, iv: str) -> str:
    return role_of(c.primary, iv, c, get_rulebase())


def expert_detail(c: Consultation, e: dict) -> None:
    tabs = st.tabs(["How we got here", "Why not, in full", "Decisive answers", "Confidence"])
    with tabs[0]:
        for h in e["how"]:
            with st.container(border=True):
                st.markdown(f"**{h['conclusion']}** `{h['rule']}`")
                st.markdown(h["rationale"])
                if h["answers"]:
                    st.markdown("\n".join(f"- {a['question']} — *{a['label']}*" for a in h["answers"].values()))
                if h["findings"]:
                    st.caption("Because: " + "; ".join(h["findings"]))
                if h["sources"]:
                    st.caption("References: " + "; ".join(s["short"] for s in h["sources"]))
    with tabs[1]:
        for iv, wn in e["why_not"].items():
            st.markdown(f"**{iv_name(iv)}** — verdict `{wn['verdict']}`, certainty {wn['certainty']:.2f}"
                        + (" · rules " + ", ".join(f"`{r}`" for r in wn["rules"]) if wn["rules"] else ""))
            st.markdown("\n".join(f"- {t}" for t in wn["text"]))
    with tabs[2]:
        for d in e["decisive"]:
            for a in d["alternatives"]:
                st.markdown(f"- `{d['question']}`: `{d['answer']}` → `{a['alternative']}` gives `{a['result']}`"
                            + (" (opens " + ", ".join(f"`{q}`" for q in a["opens"]) + ")" if a["opens"] else ""))
        if not e["decisive"]:
            st.markdown("No single answer change would change the result.")
    with tabs[3]:
        if e["confidence"]:
            st.markdown(e["confidence"]["meaning"])
            st.code("\n".join(e["confidence"]["arithmetic"]), language=None, wrap_lines=True)
            st.caption(
                "Evidence is combined as certainty factors (EMYCIN); the confidence is then reduced for a "
                "strong rival and for each vague or \"don't know\" answer."
            )
        else:
            st.markdown("No confidence: there is no recommendation yet.")


def save_block() -> None:
    """Save the case (details, answers, result) in the case store. When the store cannot be used,
    say why; the answers stay in this session and can be downloaded at once."""
    answers, case = answers_state(), case_state()
    header = {k: str(case.get(k) or "") for k in ("title", "who", "notes")}
    clicked = st.button(
        "Save this case", key="save_case", type="secondary",
        help="Keep the case details, the answers and the result in the case database (see Casework → Cases).",
    )
    if clicked:
        try:
            save_session_case(get_store())  # idempotent: a second click changes nothing
        except StoreError as exc:
            log.warning("saving a case failed: %s", type(exc).__name__)  # no case data in the log
            st.error(
                f"The case was not saved: {store_error(exc)}. Your answers are still here in this session; "
                "download them to keep them safe."
            )
            st.download_button(
                "Download the answers (YAML)",
                dump_answers(answers, header["title"], header["who"], header["notes"], fmt="yaml"),
                file_name=f"{file_stem(header['title'], 'triage-answers')}.yaml", mime="text/yaml",
                key="save_failed_download", on_click="ignore",
            )
            return
    saved = session_saved_case()
    if saved and saved["snapshot"] == session_snapshot():
        st.success(f"Saved as case {saved['id']}. Open it under Casework → Cases to plan and monitor it.")
        if st.button(f"Open case {saved['id']}", key="open_saved_case"):
            open_cases_page()


def report_block(c: Consultation) -> None:
    if render_report is None:
        st.caption("The justification report is not available in this installation.")
        return
    case = case_state()
    formats = {"md": ("Markdown", "text/markdown"), "html": ("HTML", "text/html"),
               "pdf": ("PDF", "application/pdf"),
               "docx": ("Word", "application/vnd.openxmlformats-officedocument.wordprocessingml.document")}
    st.markdown("A report for a manager or budget holder: the case, the answers, the result, the reasoning, "
                "why not the others and the references.")
    fmt = st.selectbox("Report format", list(formats), format_func=lambda f: formats[f][0], key="report_fmt")
    if st.button("Prepare the report", key="report_make"):
        data = {"title": case.get("title", ""), "who": case.get("who", ""), "notes": case.get("notes", ""),
                "answers": dict(c.answers), "gap": case.get("gap")}
        try:
            st.session_state["report"] = (fmt, render_report(data, fmt), tuple(c.answers.items()))
        except Exception:  # noqa: BLE001 - a message for the user, the details in the log
            st.session_state.pop("report", None)
            st.error("The report could not be made; the details are in the server log.")
            log.exception("report failed")
    made = st.session_state.get("report")
    if made and made[2] == tuple(c.answers.items()):
        f, data, _ = made
        name = file_stem(case.get("title", ""), "triage-report")
        st.download_button(f"Download the report ({formats[f][0]})", data, file_name=f"{name}.{f}",
                           mime=formats[f][1], key="report_download", on_click="ignore")


def share_block(c: Consultation) -> None:
    case = case_state()
    with st.expander("Save, share or open a case"):
        st.markdown(
            "Download the answers to keep them or to send them to someone; open a saved file to carry on. "
            "The page address also holds the answers (not the case details), so a bookmark reopens the case."
        )
        name = file_stem(case.get("title", ""), "triage-answers")
        cols = st.columns(2)
        cols[0].download_button(
            "Download answers (YAML)",
            dump_answers(c.answers, case.get("title", ""), case.get("who", ""), case.get("notes", ""), fmt="yaml"),
            file_name=f"{name}.yaml", mime="text/yaml", key="download_yaml", on_click="ignore",
        )
        cols[1].download_button(
            "Download answers (JSON)",
            dump_answers(c.answers, case.get("title", ""), case.get("who", ""), case.get("notes", ""), fmt="json"),
            file_name=f"{name}.json", mime="application/json", key="download_json", on_click="ignore",
        )
        st.file_uploader(
            "Open an answers file (YAML or JSON)", type=["yaml", "yml", "json"], key="upload", on_change=on_upload,
            max_upload_size=1,  # MB; an answers file is at most 1,000,000 bytes (checked again when read)
        )


# --------------------------------------------------------------------------- page


def render() -> None:
    load_from_query()
    answers = answers_state()
    c = consult_memo(answers)
    sync_query(c)

    if c.safety:
        safety_banner(c)
    st.title("Diagnose a performance gap")
    show_flash()
    case_header()

    cursor = st.session_state.get("cursor")
    if cursor is not None and cursor not in c.answers:
        cursor = st.session_state["cursor"] = None
    shown = cursor or (c.next_question.id if c.next_question else None)

    progress(c, cursor)
    if shown is not None:
        question_block(c, shown)
        if cursor is not None:
            st.button("Back to where I was", key="skip_ahead", on_click=on_skip_ahead,
                      help="Keep the answers and go on from the first unanswered question.")
    else:
        cols = st.columns([1, 1, 3])
        cols[0].button("Previous", key="previous_result", on_click=on_previous, args=(None,),
                       width="stretch")
        result_block(c)

    if not answers and st.session_state.get("undo_state", {}).get("answers"):
        st.button("Undo start over", key="undo", on_click=on_undo)
    elif answers:
        st.button("Start over", key="start_over", on_click=on_start_over,
                  help="Clear the answers and the case details (you can undo this).")
    share_block(c)
    with st.expander("References"):
        keys = [k for h in explain_sources(c) for k in h]
        if keys:
            references_list(keys)
        else:
            st.caption("No references yet.")


def explain_sources(c: Consultation) -> list[list[str]]:
    rb = get_rulebase()
    out = [rb.by_id[r].sources for r in c.fired]
    if c.next_question:
        out.append(c.next_question.sources)
    return out
