"""Cases: the saved cases. List with filters, open one, re-diagnose, write the plan, monitor progress
(with a chart), export (JSON and the justification report) and delete with confirmation.

The page only renders and calls ``casework.store`` / ``casework.plan`` / ``casework.report``. A case
is handed to the Diagnose page through session state (``answers`` and ``case_header``).
"""

from __future__ import annotations

import json
from typing import Any

import streamlit as st

from app_pages.access_gate import get_store, require, still_signed_in, store_error
from app_pages.casework.case_access import case_from_address, on_export, render_case_history
from app_pages.casework.case_plan import render_monitor, render_plan
from app_pages.casework.case_tabs import here, tab_key
from app_pages.casework.outcomes import render_close, render_gap
from app_pages.logic import md_plain
from app_pages.state import (
    flash,
    forget_saved_case,
    get_knowledge,
    remember_saved_case,
    save_session_case,
    session_saved_case,
    session_snapshot,
)
from app_pages.widgets import iv_name, show_flash, switch_to
from casework.report import ReportError, render_report
from casework.store import CaseDataError, CaseNotFound, Store, StoreError, export_data
from knowledge.schema import INTERVENTION_IDS

REPORT_FORMATS = {
    "pdf": ("PDF", "application/pdf"),
    "docx": ("Word", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    "html": ("HTML", "text/html"),
    "md": ("Markdown", "text/markdown"),
}


def _when(iso: str | None) -> str:
    return (iso or "")[:16].replace("T", " ")


def _result_text(status: str | None, primary: str | None, confidence: float | None) -> str:
    if status == "complete" and primary:
        return f"{iv_name(primary)} ({confidence:.0%})" if confidence is not None else iv_name(primary)
    if status == "cannot_recommend":
        return "cannot recommend yet"
    if status == "needs_answer":
        return "needs another answer"
    return "—"


# --------------------------------------------------------------------------- hand-off to Diagnose


def open_in_diagnose(case: dict[str, Any]) -> None:
    """Put the case's answers and header where the Diagnose page reads them, then go there."""
    header = {"title": case["title"], "who": case["who"], "notes": case["notes"]}
    st.session_state["answers"] = dict(case["answers"])
    st.session_state["case_header"] = dict(header)
    st.session_state["case"] = {**header, "gap": case.get("gap")}
    for key in [
        k for k in st.session_state if isinstance(k, str) and (k.startswith("q_") or k.startswith("case_"))
    ]:
        if key not in ("case_header", "case_id") and not key.startswith("case_tab_"):
            del st.session_state[key]
    forget_saved_case()
    remember_saved_case(case["id"])  # saving it on Diagnose changes this case, never a copy
    for key in ("cursor", "report", "undo"):
        st.session_state.pop(key, None)
    if not switch_to("diagnose"):  # the page runs on its own (tests, single-page use)
        st.info("The case is loaded: open the Diagnose page to change its answers.")


def render_from_diagnose(store: Store) -> None:
    """The case being diagnosed in this session: save it (once: saving again updates the same case),
    or, when it is saved and unchanged, say which case it is."""
    answers = st.session_state.get("answers") or {}
    if not answers:
        return
    saved = session_saved_case()
    unchanged = saved is not None and saved["snapshot"] == session_snapshot()
    title = dict(session_snapshot()[1])["title"]
    if unchanged:
        st.caption(f"The case on the Diagnose page is saved as case {saved['id']}.")
        return
    with st.expander("Save the case from the Diagnose page", expanded=False):
        st.markdown(f"**{md_plain(title, one_line=True) or '(untitled)'}** — {len(answers)} answers in this session.")
        label = f"Save the changes into case {saved['id']} (re-diagnose)" if saved else "Save as a new case"
        if st.button(label, key="cases_save_new"):
            try:
                cid, what = save_session_case(store)
            except CaseDataError as exc:
                st.error("Not saved: " + md_plain("; ".join(exc.problems)))
                return
            flash("success", f"Saved as case {cid}." if what == "created" else f"Case {cid} re-diagnosed and saved.")
            st.rerun()


# --------------------------------------------------------------------------- the list


def render_import(store: Store) -> None:
    with st.expander("Import a case"):
        st.caption("A JSON file written by Export (here or with `triage cases export`) becomes a new case.")
        up = st.file_uploader("Exported case (JSON)", type=["json"], key="cases_import_file", max_upload_size=5)
        if up is not None and st.button("Import", key="cases_import_go"):
            try:
                data = json.loads(up.getvalue().decode("utf-8-sig"))
            except (UnicodeDecodeError, ValueError) as exc:
                st.error(f"{md_plain(up.name, one_line=True)}: not a JSON file ({md_plain(exc)}).")
                return
            except RecursionError:
                st.error(f"{md_plain(up.name, one_line=True)}: not a case export (nested too deeply).")
                return
            try:
                new_id = store.import_case(data)
            except CaseDataError as exc:
                st.error(
                    f"{md_plain(up.name, one_line=True)} cannot be imported:\n\n"
                    + "\n".join(f"- {md_plain(p, one_line=True)}" for p in exc.problems)
                )
                return
            flash("success", f"Imported as case {new_id}.")
            st.session_state["cases_open"] = new_id
            st.rerun()


def render_list(store: Store) -> int | None:
    """The filters and the list; returns the id of the case chosen to open."""
    cols = st.columns([3, 2, 1])
    text = cols[0].text_input("Search title, person or notes", key="cases_search")
    iv = cols[1].selectbox(
        "Recommendation",
        ["", *INTERVENTION_IDS],
        format_func=lambda v: v and iv_name(v) or "any",
        key="cases_iv",
    )
    status = cols[2].selectbox(
        "Status", ["", "open", "closed"], format_func=lambda v: v or "any", key="cases_status"
    )
    rows = store.list_cases(text=text or None, intervention=iv or None, status=status or None)
    if not rows:
        st.info(
            "No saved cases match."
            if (text or iv or status)
            else "No saved cases yet. Save one from the Diagnose page or with `triage cases save FILE`."
        )
        return None
    st.dataframe(
        [
            {
                "id": r["id"],
                "title": r["title"] or "(untitled)",
                "about": r["who"],
                "result": _result_text(r["result_status"], r["primary"], r["confidence"]),
                "status": r["status"],
                "updated": _when(r["updated_at"]),
            }
            for r in rows
        ],
        hide_index=True,
        width="stretch",
    )
    ids = [r["id"] for r in rows]
    labels = {r["id"]: f"#{r['id']} {r['title'] or '(untitled)'}" for r in rows}
    wanted = st.session_state.get("cases_open")
    if wanted in ids and st.session_state.get("cases_pick") != wanted:
        st.session_state["cases_pick"] = wanted
    if st.session_state.get("cases_pick") not in ids:
        st.session_state.pop("cases_pick", None)
    pick = st.selectbox(
        "Open case",
        ids,
        format_func=lambda i: labels[i],
        index=None,
        placeholder="Choose a case",
        key="cases_pick",
    )
    st.session_state["cases_open"] = pick
    return pick


# --------------------------------------------------------------------------- one case


def render_overview(store: Store, case: dict[str, Any]) -> None:
    cid = case["id"]
    res = case.get("result") or {}
    if res.get("safety_alert"):
        st.error(
            "Safety first: the answers say someone may be at risk of harm. See the plan's emergency steps."
        )
    st.markdown(f"**Result:** {_result_text(case['result_status'], case['primary'], case['confidence'])}")
    summary = res.get("summary") or {}
    if summary.get("headline"):  # results saved before the summary existed have none
        st.markdown(f"**{md_plain(summary['headline'], one_line=True)}**"
                    + (f" — first step: {md_plain(summary['next_step'], one_line=True)}" if summary.get("next_step") else ""))
    if res.get("secondary"):
        # stored text is shown as text: a result saved by an older version may hold anything
        st.markdown("**Also:** " + ", ".join(
            iv_name(s.get("intervention")) + (f" ({md_plain(s['role'], one_line=True)})" if s.get("role") else "")
            for s in res["secondary"]))
    for r in res.get("ruled_out") or []:
        head = "cannot lead" if r.get("scope") == "not_primary" else "ruled out"
        st.markdown(f"- **{iv_name(r.get('intervention'))}** ({head}): {md_plain(r.get('reason'), one_line=True)}")
    for r in res.get("cannot_lead") or []:
        st.markdown(f"- **{iv_name(r.get('intervention'))}** (cannot lead): {md_plain(r.get('reason'), one_line=True)}")
    render_close(store, case)
    render_gap(store, case)
    with st.form(f"case_header_form_{cid}"):
        title = st.text_input("Title", case["title"])
        who = st.text_input("Who or what it is about", case["who"])
        notes = st.text_area("Notes", case["notes"])
        if st.form_submit_button("Save details"):
            try:
                store.update_case(cid, {"title": title, "who": who, "notes": notes})
            except CaseDataError as exc:
                st.error("Not saved: " + md_plain("; ".join(exc.problems)))
            else:
                flash("success", "Details saved.", here(cid, "Overview"))
                st.rerun()
    st.caption(f"Created {_when(case['created_at'])} · updated {_when(case['updated_at'])}")


def render_rediagnose(store: Store, case: dict[str, Any]) -> None:
    kb = get_knowledge()
    cid = case["id"]
    st.markdown(
        "Run the diagnosis again on the stored answers (for example after the rule base was updated), or open "
        "the case on the Diagnose page to change answers. Every consultation is kept."
    )
    c1, c2 = st.columns(2)
    if c1.button("Re-diagnose with the current rule base", key=f"case_rediag_{cid}"):
        out = store.rediagnose(cid)
        now = _result_text(out["status"], out["primary"], out["confidence"])
        flash(
            "info" if not out["changed"] else "warning",
            f"Re-diagnosed: {now}." + (" The recommendation changed." if out["changed"] else " No change."),
            here(cid, "Re-diagnose"),
        )
        if out["dropped_answers"]:
            flash(
                "warning",
                "Answers the current questions no longer have were set aside: "
                + md_plain(", ".join(f"{q} = {v}" for q, v in out["dropped_answers"].items())),
                here(cid, "Re-diagnose"),
            )
        st.rerun()
    if c2.button("Open in Diagnose", key=f"case_open_diag_{cid}"):
        open_in_diagnose(case)
    st.markdown("**Consultations**")
    st.dataframe(
        [
            {
                "when": _when(x["created_at"]),
                "result": _result_text(x["status"], x["primary"], x["confidence"]),
                "rule base": x["rulebase_version"],
                "answers": len(x["answers"]),
            }
            for x in reversed(case["consultations"])
        ],
        hide_index=True,
        width="stretch",
    )
    with st.expander("Stored answers"):
        for q, v in case["answers"].items():
            if q in kb.question_index:
                st.markdown(f"- {kb.question(q).text} — **{kb.question(q).label_of(v)}**")


def when_signed_in(make, alive, record):
    """A download made when its button is clicked, and only while the sign-in is still open: the
    file has no address before the click, and a tab left open after its user signed out elsewhere
    gets none (Streamlit serves a download's address to whoever has it, without a session). The export
    is recorded (``record``) when the file is made, so a click that gets no file records none.

    The buttons start no script run (``on_click="ignore"``): a run started by the click registers the
    file again under a new id and drops the old one when it ends, so under load the browser's request
    for the old id could come too late and the click gave no file. A tab whose user signed out
    elsewhere gets Streamlit's "failed" note under the button, and its next action says it signed out."""

    def fetch():
        if not alive():
            raise PermissionError("signed out")  # Streamlit hands out no file
        data = make()
        record()
        return data

    return fetch


def render_export(store: Store, case: dict[str, Any]) -> None:
    cid = case["id"]
    name = ("case-" + str(cid) + "-" + "-".join((case["title"] or "").split())[:40]).strip("-")
    alive = still_signed_in()
    st.download_button(
        "Download the case (JSON)",
        when_signed_in(lambda: json.dumps(export_data(case), indent=2, ensure_ascii=False), alive,
                       on_export(store, cid, "json")),
        file_name=f"{name}.json",
        mime="application/json",
        key=f"case_export_{cid}",
        on_click="ignore",
    )
    st.markdown("**Justification report** (with the saved plan and progress)")
    fmt = st.selectbox(
        "Report format",
        list(REPORT_FORMATS),
        format_func=lambda f: REPORT_FORMATS[f][0],
        key=f"case_report_fmt_{cid}",
    )
    if st.button("Prepare the report", key=f"case_report_make_{cid}"):
        data = {k: case[k] for k in ("title", "who", "notes", "answers", "gap")}
        if case.get("plan"):
            data["plan"] = case["plan"]
        if case.get("monitoring"):
            data["monitoring"] = case["monitoring"]
        try:
            st.session_state[f"case_report_{cid}"] = (fmt, render_report(data, fmt), case["updated_at"])
        except ReportError as exc:
            st.error(f"The report could not be made: {md_plain(exc)}")
    made = st.session_state.get(f"case_report_{cid}")
    if made and made[2] == case["updated_at"]:
        f, data, _ = made
        st.download_button(
            f"Download the report ({REPORT_FORMATS[f][0]})",
            when_signed_in(lambda: data, alive, on_export(store, cid, f)),
            file_name=f"{name}.{f}",
            mime=REPORT_FORMATS[f][1],
            key=f"case_report_dl_{cid}",
            on_click="ignore",
        )


def render_delete(store: Store, case: dict[str, Any]) -> None:
    cid = case["id"]
    st.markdown(
        f"Deleting removes case {cid} with its answers, {len(case['consultations'])} consultation(s), "
        f"{'its plan' if case.get('plan') else 'no plan'} and {len(case['monitoring'])} monitoring entries "
        "from the database for good. Export it first if you may need it again."
    )
    sure = st.checkbox(f"Yes, delete case {cid} and everything under it", key=f"case_del_sure_{cid}")
    if st.button("Delete case", key=f"case_del_{cid}", type="primary", disabled=not sure):
        store.delete_case(cid)
        st.session_state.pop("cases_open", None)
        st.session_state.pop("cases_pick", None)
        flash("success", f"Case {cid} deleted.")
        st.rerun()


def render_case(store: Store, cid: int) -> None:
    try:
        case = store.get_case(cid)
    except CaseNotFound:
        st.session_state.pop("cases_open", None)
        st.warning(f"Case {cid} no longer exists.")
        return
    st.header(f"#{cid} {md_plain(case['title'], one_line=True) or '(untitled)'}")
    views = {
        "Overview": render_overview,
        "Re-diagnose": render_rediagnose,
        "Plan": render_plan,
        "Monitor": render_monitor,
        "Export": render_export,
        "Delete": render_delete,
    }
    # keyed, with a rerun on change: the chosen tab is kept in session state and only its content runs
    tabs = st.tabs(list(views), key=tab_key(cid), on_change="rerun")
    for (label, view), tab in zip(views.items(), tabs, strict=True):
        if tab.open is False:
            continue
        with tab:
            show_flash(here(cid, label))
            view(store, case)
    render_case_history(store, cid)
    # a message not shown in its tab by now (the user went elsewhere) is stale
    st.session_state["flash"] = [m for m in st.session_state.get("flash", []) if not str(m[2] or "").startswith("case_")]


def render() -> None:
    require("cases")
    st.title("Cases")
    show_flash()
    try:
        store = get_store()
        store.ensure_ready()
    except StoreError as exc:
        st.error(f"The case store cannot be used: {store_error(exc)}")
        return
    where = md_plain(store.where) if store.actor.is_admin else "the shared case database"  # the address: admins only
    st.caption(f"Saved in {where}. Case data is personal data: it stays in this database.")
    try:
        render_from_diagnose(store)
        render_import(store)
        cid = case_from_address(store) or render_list(store)
        if cid is not None:
            render_case(store, cid)
    except StoreError as exc:
        st.error(store_error(exc))

