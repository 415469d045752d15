"""Cases: the saved cases. List with filters, open one, re-diagnose, write the plan, monitor progress
(with a chart), export (JSON and the justification report) and delete with confirmation.

The page only renders and calls ``casework.store`` / ``casework.plan`` / ``casework.report``. A case
is handed to the Diagnose page through session state (``answers`` and ``case_header``).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import streamlit as st

from app_pages.access_gate import get_store, require, still_signed_in, store_error
from app_pages.casework.case_access import case_from_address, on_export, render_case_history
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
from casework.plan import PlanError, build_plan, check_measures, event_titles, follow_up_for, progress
from casework.report import ReportError, render_report
from casework.store import CaseDataError, CaseNotFound, Store, StoreError, export_data
from knowledge.schema import INTERVENTION_IDS

REPORT_FORMATS = {
    "pdf": ("PDF", "application/pdf"),
    "docx": ("Word", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    "html": ("HTML", "text/html"),
    "md": ("Markdown", "text/markdown"),
}


def _result_text(status: str | None, primary: str | None, confidence: float | None) -> str:
    if status == "complete" and primary:
        return f"{iv_name(primary)} ({confidence:.0%})" if confidence is not None else iv_name(primary)
    if status == "cannot_recommend":
        return "cannot recommend yet"
    if status == "needs_answer":
        return "needs another answer"
    return "—"


def _when(iso: str | None) -> str:
    return (iso or "")[:16].replace("T", " ")


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


def _fresh_plan(case: dict[str, Any]) -> dict[str, Any] | None:
    try:
        return build_plan(case["answers"], notes=str(case.get("notes") or ""), who=str(case.get("who") or ""),
                          title=str(case.get("title") or ""), gap=case.get("gap"))
    except PlanError as exc:
        st.info(f"No plan yet: {exc}")
        return None


def render_plan(store: Store, case: dict[str, Any]) -> None:
    cid = case["id"]
    plan = case.get("plan")
    if plan is None:
        fresh = _fresh_plan(case)
        if fresh is None:
            return
        st.markdown(f"**{fresh['title']}** — {fresh['summary']}")
        if st.button("Start the plan", key=f"case_plan_start_{cid}", type="primary"):
            store.save_plan(cid, fresh)
            flash("success", "Plan started. Fill it in and save it.", here(cid, "Plan"))
            st.rerun()
        return
    if plan.get("intervention") != case.get("primary") and case.get("result_status") == "complete":
        st.warning(
            f"This plan is for {iv_name(plan.get('intervention'))}, but the latest recommendation is "
            f"{iv_name(case['primary'])}."
        )
        if st.button(
            f"Replace it with a new plan for {iv_name(case['primary'])}", key=f"case_plan_replace_{cid}"
        ):
            fresh = _fresh_plan(case)
            if fresh:
                store.save_plan(cid, fresh)
                flash("success", "New plan started.", here(cid, "Plan"))
                st.rerun()
    if plan.get("safety_notice"):
        st.error(md_plain(plan["safety_notice"]))
    st.markdown(f"### {md_plain(plan.get('title'), one_line=True) or 'Plan'}")
    if plan.get("summary"):
        st.markdown(md_plain(plan["summary"]))
    edited = json.loads(json.dumps(plan))
    k = f"plan_{cid}"
    with st.form(f"case_plan_form_{cid}"):
        for si, s in enumerate(edited.get("sections") or []):
            st.markdown(f"#### {md_plain(s.get('title'), one_line=True)}")
            if s.get("guidance"):
                st.caption(md_plain(s["guidance"]))
            for fi, f in enumerate(s.get("fields") or []):
                f["value"] = st.text_area(
                    md_plain(f.get("label"), one_line=True) or "Text",
                    f.get("value", ""),
                    help=md_plain(f.get("prompt")) or None,
                    key=f"{k}_f_{si}_{fi}",
                    height=80,
                )
            for ii, it in enumerate(s.get("items") or []):
                head = md_plain(it.get("title"), one_line=True) + (
                    " — indicated by the answers" if it.get("indicated") else ""
                )
                st.markdown(f"**{head}**" + (f"  \n{md_plain(it['prompt'])}" if it.get("prompt") else ""))
                c1, c2, c3 = st.columns([3, 2, 1])
                it["action"] = c1.text_input("Action", it.get("action", ""), key=f"{k}_i_{si}_{ii}_a")
                it["owner"] = c2.text_input("Owner", it.get("owner", ""), key=f"{k}_i_{si}_{ii}_o")
                it["due"] = c3.text_input("Due", it.get("due", ""), key=f"{k}_i_{si}_{ii}_d")
            for ci, ch in enumerate(s.get("checklist") or []):
                ch["done"] = st.checkbox(
                    md_plain(ch.get("text"), one_line=True) or "Done",
                    bool(ch.get("done")),
                    help=md_plain(ch.get("detail")) or None,
                    key=f"{k}_c_{si}_{ci}",
                )
        saved = st.form_submit_button("Save plan", type="primary")
    tried = f"case_plan_tried_{cid}"  # the measures are checked once the user has tried to save
    if saved:
        st.session_state[tried] = True
        try:
            store.save_plan(cid, edited)
        except CaseDataError as exc:
            st.error("The plan was not saved: " + md_plain("; ".join(exc.problems)))
            return
        flash("success", "Plan saved.", here(cid, "Plan"))
        st.rerun()
    if "measures" in plan:
        render_measures(store, case, plan)
    if plan.get("secondary"):
        for x in plan["secondary"]:
            with st.expander(f"Alongside: {md_plain(x.get('name'), one_line=True)}"):
                st.markdown(
                    "\n".join(
                        f"{i}. {md_plain(step, one_line=True)}" for i, step in enumerate(x.get("first_steps") or [], 1)
                    )
                )


DIRECTION_WORDS = {"at_least": "at least", "at_most": "at most"}


def render_measures(store: Store, case: dict[str, Any], plan: dict[str, Any]) -> None:
    """The measures of success: a list (each can be removed) and a form to add one with a date
    picker and a number. Problems are shown once the user has tried to save."""
    cid = case["id"]
    st.markdown("#### Measures of success")
    if plan.get("measures_help"):
        st.caption(md_plain(plan["measures_help"]))
    # the template starts with an empty row to fill in; empty rows are not measures
    measures = [m for m in plan.get("measures") or [] if any(str(m.get(k) or "").strip() for k in ("measure", "target", "date"))]
    for i, m in enumerate(measures):
        c1, c2 = st.columns([6, 1])
        c1.markdown(
            f"{i + 1}. **{md_plain(m.get('measure'), one_line=True) or '(no measure)'}** — target "
            f"{md_plain(m.get('target'), one_line=True) or '—'} by {md_plain(m.get('date'), one_line=True) or '—'}"
        )
        if c2.button("Remove", key=f"case_measure_del_{cid}_{i}", help="Remove this measure from the plan"):
            store.save_plan(cid, {**plan, "measures": measures[:i] + measures[i + 1:]})
            flash("success", "Measure removed.", here(cid, "Plan"))
            st.rerun()
    with st.form(f"case_measure_form_{cid}", clear_on_submit=True):
        st.markdown("**Add a measure of success**")
        name = st.text_input("Measure (what the person will do)", key=f"case_measure_name_{cid}")
        c1, c2, c3 = st.columns([2, 2, 2])
        direction = c1.selectbox(
            "Target", list(DIRECTION_WORDS), format_func=DIRECTION_WORDS.get, key=f"case_measure_dir_{cid}"
        )
        number = c2.number_input("Value", value=None, step=1.0, key=f"case_measure_value_{cid}",
                                 placeholder="e.g. 90")
        unit = c3.text_input("Unit (optional)", key=f"case_measure_unit_{cid}", placeholder="e.g. % of calls")
        when = st.date_input("By when", value=None, key=f"case_measure_date_{cid}", format="YYYY-MM-DD")
        added = st.form_submit_button("Add measure")
    tried = f"case_plan_tried_{cid}"
    if added:
        st.session_state[tried] = True
        new = {
            "measure": name.strip(),
            "target": "" if number is None else f"{DIRECTION_WORDS[direction]} {number:g} {unit.strip()}".strip(),
            "date": when.isoformat() if when else "",
            "direction": direction,
        }
        problems = check_measures([new])
        if problems:
            st.error("The measure was not added: " + md_plain("; ".join(p.split(": ", 1)[-1] for p in problems)) + ".")
        else:
            try:
                store.save_plan(cid, {**plan, "measures": [*measures, new]})
            except CaseDataError as exc:
                st.error("The measure was not added: " + md_plain("; ".join(exc.problems)))
            else:
                flash("success", "Measure added.", here(cid, "Plan"))
                st.rerun()
    if st.session_state.get(tried):  # once the user has tried to save, not before
        for p in check_measures(measures):
            st.warning(md_plain(p))


def _chart(m: dict[str, Any]):
    import altair as alt  # deferred on purpose: altair and pandas (~0.7 s) load only for a chart
    import pandas as pd  # deferred on purpose, as altair above

    df = pd.DataFrame([{"date": v["date"], "value": v["value"]} for v in m["values"]])
    values = [v["value"] for v in m["values"]] + ([m["target_value"]] if m["target_value"] is not None else [])
    low, high = min(values), max(values)
    pad = (high - low) * 0.15 or abs(high) * 0.1 or 1.0
    # the y axis spans the values and the target (not from zero), so the line uses the chart's height;
    # the measure's name is the chart's title, not a vertical axis title that gets clipped
    y = alt.Y("value:Q", title=None, scale=alt.Scale(domain=[low - pad, high + pad], nice=True, zero=False))
    base = alt.Chart(df).encode(x=alt.X("date:T", title=None, axis=alt.Axis(format="%Y-%m-%d", labelAngle=0)), y=y)
    chart = base.mark_line(point=alt.OverlayMarkDef(size=60), strokeWidth=2.5)
    if m["target_value"] is not None:
        target = pd.DataFrame([{"target": m["target_value"], "label": f"target {m['target_value']:g}"}])
        rule = alt.Chart(target).mark_rule(strokeDash=[6, 4], color="#2e7d32", strokeWidth=2).encode(y="target:Q")
        text = alt.Chart(target).mark_text(align="left", dx=4, dy=-7, color="#1b5e20").encode(
            y="target:Q", x=alt.value(0), text="label:N")
        chart = chart + rule + text
    return chart.properties(height=260, title=alt.TitleParams(m["measure"][:80], anchor="start", fontSize=13))


def render_monitor(store: Store, case: dict[str, Any]) -> None:
    cid = case["id"]
    plan = case.get("plan")
    prog = progress(plan, case["monitoring"])
    measures = [m["measure"] for m in prog["measures"]]
    if not plan:
        st.info("Start the plan first: monitoring tracks its measures of success.")
    elif not measures and "measures" in plan:
        st.info("The plan has no measures of success yet: add them on the Plan tab.")
    for m in prog["measures"]:
        st.markdown(
            f"**{md_plain(m['measure'], one_line=True)}** — target {md_plain(m['target'], one_line=True) or '—'} "
            f"by {md_plain(m['date'], one_line=True) or '—'}"
        )
        if m["values"]:
            st.altair_chart(_chart(m), width="stretch")
        show = {"met": st.success, "review_passed": st.warning}.get(m["state"], st.info)
        show(md_plain(m["message"]))
    if prog["unmatched"]:
        st.markdown("**Other values recorded**")
        st.dataframe(prog["unmatched"], hide_index=True, width="stretch")
    if measures:
        keys = [f"case_mon_{k}_{cid}" for k in ("day", "which", "value", "note")]
        if st.session_state.pop(f"case_mon_saved_{cid}", False):  # saved: an empty form again
            for k in keys:
                st.session_state.pop(k, None)
        # not cleared on submit: a value that could not be saved stays in the form to try again
        with st.form(f"case_mon_value_{cid}"):
            st.markdown("**Record a value**")
            c1, c2, c3 = st.columns([2, 3, 1])
            day = c1.date_input("Date", dt.date.today(), key=keys[0])
            which = c2.selectbox("Measure", measures, key=keys[1])
            value = c3.number_input("Value", value=None, step=1.0, placeholder="value", key=keys[2])
            note = st.text_input("Note", key=keys[3])
            if st.form_submit_button("Add value"):
                try:
                    store.add_monitoring(
                        cid, {"date": day.isoformat(), "measure": which, "value": value, "note": note}
                    )
                except CaseDataError as exc:
                    st.error("Not saved: " + md_plain("; ".join(exc.problems)))
                except StoreError as exc:
                    st.error(f"Nothing was saved: {store_error(exc)}. The value is still in the form: try again.")
                else:
                    st.session_state[f"case_mon_saved_{cid}"] = True
                    flash("success", "Value recorded.", here(cid, "Monitor"))
                    st.rerun()
    res = case.get("result") or {}
    coached = plan and (plan.get("intervention") == "coaching"
                        or any(x.get("intervention") == "coaching" for x in res.get("secondary") or []))
    if coached:  # the coaching-session entry only where coaching is part of the plan
        titles = event_titles()
        with st.form(f"case_mon_session_{cid}", clear_on_submit=True):
            st.markdown("**Record a coaching session** (tick the events of instruction it covered)")
            day = st.date_input("Session date", dt.date.today())
            ticks = [st.checkbox(t, key=f"case_mon_ev_{cid}_{i}") for i, t in enumerate(titles, 1)]
            note = st.text_input("Session note")
            if st.form_submit_button("Add session"):
                try:
                    store.add_monitoring(
                        cid, {"date": day.isoformat(), "kind": "session", "events": ticks, "note": note}
                    )
                except CaseDataError as exc:
                    st.error("Not saved: " + md_plain("; ".join(exc.problems)))
                else:
                    flash("success", "Session recorded.", here(cid, "Monitor"))
                    st.rerun()
    render_follow_up(store, case, prog)
    for s in prog["sessions"]:
        line = f"Session {s['date']}: {len(s['done'])} of {len(s['done']) + len(s['missing'])} events of instruction"
        (st.caption if s["complete"] else st.warning)(line + ("" if s["complete"] else f". {md_plain(s['message'])}"))
    if case["monitoring"]:
        render_entries(store, case, measures)


def render_follow_up(store: Store, case: dict[str, Any], prog: dict[str, Any]) -> None:
    """The dated note that fits the plan's intervention (a referral's follow-up, a mentoring meeting,
    a check on the job after a course, a fix put in place, a milestone), and those recorded."""
    cid = case["id"]
    fu = follow_up_for(case.get("plan"))
    if fu is None:
        return
    with st.form(f"case_mon_follow_{cid}", clear_on_submit=True):
        st.markdown(f"**{md_plain(fu['label'], one_line=True)}**")
        day = st.date_input("Date", dt.date.today(), key=f"case_follow_date_{cid}")
        note = st.text_area("What happened", placeholder=fu["prompt"], key=f"case_follow_note_{cid}", height=80)
        if st.form_submit_button("Add"):
            try:
                store.add_monitoring(cid, {"date": day.isoformat(), "kind": "follow_up", "note": note})
            except CaseDataError as exc:
                st.error("Not saved: " + md_plain("; ".join(exc.problems)))
            else:
                flash("success", "Recorded.", here(cid, "Monitor"))
                st.rerun()


def _entry_label(e: dict[str, Any]) -> str:
    if e["kind"] == "follow_up":
        return f"{e['date']} · follow-up · {e['note'][:60]}"
    if e["kind"] == "session":
        return f"{e['date']} · coaching session ({len(e['events'])} events)" + (f" · {e['note']}" if e["note"] else "")
    value = "—" if e["value"] is None else f"{e['value']:g}"
    return f"{e['date']} · {e['measure']}: {value}" + (f" · {e['note']}" if e["note"] else "")


def render_entries(store: Store, case: dict[str, Any], measures: list[str]) -> None:
    """Every monitoring entry, newest first; one chosen entry can be corrected or deleted."""
    cid = case["id"]
    entries = {e["id"]: e for e in reversed(case["monitoring"])}
    st.markdown("#### Recorded entries")
    st.dataframe(
        [
            {"date": e["date"],
             "what": {"session": "coaching session", "follow_up": "follow-up"}.get(e["kind"], e["measure"]),
             "value": e["value"], "note": e["note"]}
            for e in entries.values()
        ],
        hide_index=True,
        width="stretch",
    )
    key = f"case_entry_pick_{cid}"
    if st.session_state.get(key) not in entries:
        st.session_state.pop(key, None)
    eid = st.selectbox(
        "Entry to correct or delete", list(entries), index=None, placeholder="Choose an entry",
        format_func=lambda i: _entry_label(entries[i]), key=key,
    )
    if eid is None:
        return
    e = entries[eid]
    with st.form(f"case_entry_form_{cid}_{eid}"):
        day = st.date_input("Date", dt.date.fromisoformat(e["date"]), key=f"case_entry_date_{cid}_{eid}")
        if e["kind"] == "follow_up":
            data: dict[str, Any] = {"kind": "follow_up"}
        elif e["kind"] == "session":
            done = set(e["events"])
            ticks = [
                st.checkbox(t, i in done, key=f"case_entry_ev_{cid}_{eid}_{i}")
                for i, t in enumerate(event_titles(), 1)
            ]
            data = {"kind": "session", "events": ticks}
        else:
            options = measures if e["measure"] in measures else [e["measure"], *measures]
            which = st.selectbox("Measure", options, index=options.index(e["measure"]),
                                 key=f"case_entry_measure_{cid}_{eid}")
            value = st.number_input("Value", value=float(e["value"] or 0.0), step=1.0,
                                    key=f"case_entry_value_{cid}_{eid}")
            data = {"measure": which, "value": value}
        note = st.text_input("Note", e["note"], key=f"case_entry_note_{cid}_{eid}")
        c1, c2 = st.columns(2)
        save = c1.form_submit_button("Save changes")
        delete = c2.form_submit_button("Delete this entry")
    if save:
        try:
            store.update_monitoring(cid, eid, {"date": day.isoformat(), "note": note, **data})
        except CaseDataError as exc:
            st.error("Not saved: " + md_plain("; ".join(exc.problems)))
            return
        except CaseNotFound:
            st.error("That entry no longer exists.")
            return
        flash("success", "Entry corrected.", here(cid, "Monitor"))
        st.rerun()
    if delete:
        try:
            store.delete_monitoring(cid, eid)
        except CaseNotFound:
            pass  # already gone: the same end
        st.session_state.pop(key, None)
        flash("success", "Entry deleted.", here(cid, "Monitor"))
        st.rerun()


def when_signed_in(make, alive):
    """A download made when its button is clicked, and only while the sign-in is still open: the
    file has no address before the click, and a tab left open after its user signed out elsewhere
    gets none (Streamlit serves a download's address to whoever has it, without a session)."""

    def fetch():
        if not alive():
            raise PermissionError("signed out")  # Streamlit hands out no file
        return make()

    return fetch


def render_export(store: Store, case: dict[str, Any]) -> None:
    cid = case["id"]
    name = ("case-" + str(cid) + "-" + "-".join((case["title"] or "").split())[:40]).strip("-")
    alive = still_signed_in()
    st.download_button(
        "Download the case (JSON)",
        when_signed_in(lambda: json.dumps(export_data(case), indent=2, ensure_ascii=False), alive),
        file_name=f"{name}.json",
        mime="application/json",
        key=f"case_export_{cid}",
        on_click=on_export(store, cid, "json"),
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
            when_signed_in(lambda: data, alive),
            file_name=f"{name}.{f}",
            mime=REPORT_FORMATS[f][1],
            key=f"case_report_dl_{cid}",
            on_click=on_export(store, cid, f),
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


TABS = {
    "Overview": "overview",
    "Re-diagnose": "rediagnose",
    "Plan": "plan",
    "Monitor": "monitor",
    "Export": "export",
    "Delete": "delete",
}


def tab_key(cid: int) -> str:
    """Session-state key of the chosen tab of a case (its label): the tab survives every action."""
    return f"case_tab_{cid}"


def here(cid: int, tab: str) -> str:
    """Where a message belongs: it is shown in this tab of this case only."""
    return f"case_{cid}_{TABS[tab]}"


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

