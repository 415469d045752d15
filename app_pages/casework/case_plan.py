"""The Plan and Monitor tabs of an open case: start and edit the plan, its measures of success,
monitoring values with a chart, the follow-up and the entries (``casework.plan`` does the work)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import streamlit as st

from app_pages.access_gate import store_error
from app_pages.casework.case_tabs import here
from app_pages.logic import md_plain
from app_pages.state import flash
from app_pages.widgets import iv_name
from casework.plan import PlanError, build_plan, check_measures, event_titles, follow_up_for, progress
from casework.store import CaseDataError, CaseNotFound, Store, StoreError


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
