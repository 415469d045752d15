"""The Cases page (app_pages/casework/cases.py) on its own, driven with Streamlit's AppTest."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from page_util import page_app
from streamlit.testing.v1 import AppTest

from casework.plan import build_plan
from casework.store import Store
from knowledge.loader import load_knowledge


def worked(cid: str):
    return next(c for c in load_knowledge().cases if c.id == cid)


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.delenv("TRIAGE_DATABASE_URL", raising=False)
    monkeypatch.setenv("TRIAGE_DATA_DIR", str(tmp_path / "data"))
    s = Store()
    yield s
    s.close()


def page() -> AppTest:
    return page_app("cases", timeout=60)


def no_errors(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def save(store: Store, cid: str, **header) -> int:
    wc = worked(cid)
    return store.create_case({"title": wc.title, "who": "Sam", **header}, wc.answers)


def open_case(at: AppTest, cid: int, tab: str | None = None) -> AppTest:
    at.selectbox(key="cases_pick").select(cid).run()
    no_errors(at)
    return open_tab(at, cid, tab) if tab else at


def open_tab(at: AppTest, cid: int, tab: str) -> AppTest:
    """Choose a tab of the open case, as a click on it does (the tabs are keyed and rerun on change)."""
    at.session_state[f"case_tab_{cid}"] = tab
    at.run()
    no_errors(at)
    assert shown_tab(at, cid) == tab
    return at


def shown_tab(at: AppTest, cid: int) -> str:
    return at.session_state[f"case_tab_{cid}"] if f"case_tab_{cid}" in at.session_state else "Overview"


def test_empty_store_says_so(store):
    at = page().run()
    no_errors(at)
    assert any("No saved cases yet" in i.value for i in at.info)


def test_list_filters_and_open(store):
    a = save(store, "call-centre")
    b = save(store, "presentation-skills", who="Priya")
    at = page().run()
    no_errors(at)
    assert set(at.selectbox(key="cases_pick").options) == {
        f"#{a} {worked('call-centre').title}",
        f"#{b} {worked('presentation-skills').title}",
    }
    at.text_input(key="cases_search").input("priya").run()
    assert at.selectbox(key="cases_pick").options == [f"#{b} {worked('presentation-skills').title}"]
    at.text_input(key="cases_search").input("").run()
    at.selectbox(key="cases_iv").select("work_system").run()
    assert at.selectbox(key="cases_pick").options == [f"#{a} {worked('call-centre').title}"]
    open_case(at, a)
    assert [t.label for t in at.tabs] == ["Overview", "Re-diagnose", "Plan", "Monitor", "Export", "Delete"]
    assert any("Work-system fix" in m.value for m in at.markdown)


def test_rediagnose_keeps_history(store):
    cid = save(store, "call-centre")
    at = open_case(page().run(), cid, "Re-diagnose")
    at.button(key=f"case_rediag_{cid}").click().run()
    no_errors(at)
    assert len(store.get_case(cid)["consultations"]) == 2
    assert any("No change" in i.value for i in at.info)


def test_open_in_diagnose_hands_over_answers_and_header(store):
    cid = save(store, "call-centre", notes="private notes")
    at = open_case(page().run(), cid, "Re-diagnose")
    at.button(key=f"case_open_diag_{cid}").click().run()
    assert at.session_state["answers"] == store.get_case(cid)["answers"]
    assert at.session_state["case_header"] == {
        "title": worked("call-centre").title,
        "who": "Sam",
        "notes": "private notes",
    }
    assert at.session_state["case_id"] == cid


def test_save_from_diagnose_session(store):
    at = page()
    wc = worked("presentation-skills")
    at.session_state["answers"] = dict(wc.answers)
    at.session_state["case"] = {"title": "From the session", "who": "Lee", "notes": ""}
    at.run()
    no_errors(at)
    at.button(key="cases_save_new").click().run()
    no_errors(at)
    rows = store.list_cases()
    assert [r["title"] for r in rows] == ["From the session"]
    assert at.session_state["case_id"] == rows[0]["id"]


def test_plan_start_edit_and_save(store):
    cid = save(store, "call-centre")
    at = open_case(page().run(), cid, "Plan")
    at.button(key=f"case_plan_start_{cid}").click().run()
    no_errors(at)
    plan = store.get_plan(cid)
    assert plan["title"] == "System fixes"
    # the fixes' owners, as the user types them
    fixes = next(i for i, s in enumerate(plan["sections"]) if s["id"] == "fixes")
    targets = next(j for j, it in enumerate(plan["sections"][fixes]["items"]) if it["id"] == "targets")
    at.text_input(key=f"plan_{cid}_i_{fixes}_{targets}_o").input("Head of sales")
    at.text_area(key=f"plan_{cid}_f_0_0").input("Customers complain of being rushed")
    at.button[[b.label for b in at.button].index("Save plan")].click().run()
    no_errors(at)
    saved = store.get_plan(cid)
    assert saved["sections"][fixes]["items"][targets]["owner"] == "Head of sales"
    assert saved["sections"][0]["fields"][0]["value"] == "Customers complain of being rushed"


def test_monitor_shows_progress_chart_and_records_values(store):
    cid = save(store, "presentation-skills")
    plan = build_plan(store.get_case(cid)["answers"])
    assert plan["intervention"] == "coaching"
    plan["measures"] = [
        {"measure": "Presentations without notes", "target": "at least 3", "date": "2000-01-01"}
    ]
    store.save_plan(cid, plan)
    store.add_monitoring(cid, {"date": "1999-12-01", "measure": "Presentations without notes", "value": 1})
    at = open_case(page().run(), cid, "Monitor")
    assert any("review date has passed" in w.value for w in at.warning)  # further coaching is due
    assert at.get("vega_lite_chart")  # the progress chart (Altair)
    at.number_input[0].set_value(4)
    at.button[[b.label for b in at.button].index("Add value")].click().run()
    no_errors(at)
    values = [e["value"] for e in store.get_case(cid)["monitoring"]]
    assert values == [1, 4]
    assert any("recognise the achievement" in s.value.lower() for s in at.success)
    # a coaching session with some of the eight events ticked
    at.checkbox(key=f"case_mon_ev_{cid}_1").check()
    at.checkbox(key=f"case_mon_ev_{cid}_2").check()
    at.button[[b.label for b in at.button].index("Add session")].click().run()
    no_errors(at)
    sessions = [e for e in store.get_case(cid)["monitoring"] if e["kind"] == "session"]
    assert sessions and sessions[0]["events"] == [1, 2]


def test_export_and_report_downloads(store):
    cid = save(store, "call-centre")
    at = open_case(page().run(), cid, "Export")
    at.selectbox(key=f"case_report_fmt_{cid}").select("md").run()
    at.button(key=f"case_report_make_{cid}").click().run()
    no_errors(at)
    fmt, data, _ = at.session_state[f"case_report_{cid}"]
    assert fmt == "md" and data.decode().startswith("# Justification report")
    exported = store.export_case(cid)
    assert json.loads(json.dumps(exported))["id"] == cid


def test_delete_needs_confirmation(store):
    keep = save(store, "presentation-skills")
    cid = save(store, "call-centre")
    at = open_case(page().run(), cid, "Delete")
    button = at.button(key=f"case_del_{cid}")
    assert button.disabled
    at.checkbox(key=f"case_del_sure_{cid}").check().run()
    assert not at.button(key=f"case_del_{cid}").disabled
    at.button(key=f"case_del_{cid}").click().run()
    no_errors(at)
    assert [r["id"] for r in store.list_cases()] == [keep]
    assert store.counts(cid) == dict.fromkeys(store.counts(cid), 0)
    assert any(f"Case {cid} deleted" in s.value for s in at.success)


def test_store_unavailable_shows_a_message(monkeypatch, tmp_path):
    blocker = tmp_path / "afile"
    blocker.write_text("not a folder")
    monkeypatch.delenv("TRIAGE_DATABASE_URL", raising=False)
    monkeypatch.setenv("TRIAGE_DATA_DIR", str(blocker / "data"))
    at = page().run()
    assert not at.exception
    assert any("cannot be used" in e.value for e in at.error)


# --------------------------------------------------------------------------- keeping its place (issue 14)


def test_the_chosen_tab_survives_every_action(store):
    cid = save(store, "presentation-skills")
    at = open_case(page().run(), cid, "Plan")
    at.button(key=f"case_plan_start_{cid}").click().run()  # used to jump back to Overview
    no_errors(at)
    assert shown_tab(at, cid) == "Plan" and store.get_plan(cid) is not None
    at.button[[b.label for b in at.button].index("Save plan")].click().run()
    assert shown_tab(at, cid) == "Plan"
    # a measure through the form: a number and a date picker
    at.text_input(key=f"case_measure_name_{cid}").input("Presentations without notes")
    at.number_input(key=f"case_measure_value_{cid}").set_value(3)
    at.date_input(key=f"case_measure_date_{cid}").set_value(dt.date(2030, 6, 30))
    at.button[[b.label for b in at.button].index("Add measure")].click().run()
    no_errors(at)
    assert shown_tab(at, cid) == "Plan"
    assert store.get_plan(cid)["measures"] == [
        {"measure": "Presentations without notes", "target": "at least 3", "date": "2030-06-30",
         "direction": "at_least"}
    ]
    open_tab(at, cid, "Monitor")
    at.number_input[0].set_value(2)
    at.button[[b.label for b in at.button].index("Add value")].click().run()
    no_errors(at)
    assert shown_tab(at, cid) == "Monitor"
    assert [e["value"] for e in store.get_case(cid)["monitoring"]] == [2]


def test_messages_belong_to_their_tab(store):
    cid = save(store, "call-centre")
    at = open_case(page().run(), cid, "Plan")
    at.button(key=f"case_plan_start_{cid}").click().run()
    assert [s.value for s in at.tabs[2].success] == ["Plan started. Fill it in and save it."]
    open_tab(at, cid, "Overview")
    assert not [s.value for s in at.success if "Plan started" in s.value]  # not carried to another tab
    open_tab(at, cid, "Plan")
    assert not [s.value for s in at.success if "Plan started" in s.value]  # and shown once only


def test_measure_warnings_only_after_a_save_attempt(store):
    cid = save(store, "presentation-skills")
    store.save_plan(cid, build_plan(store.get_case(cid)["answers"]))
    at = open_case(page().run(), cid, "Plan")
    assert not at.warning and not at.error  # nothing typed yet: no warnings
    at.text_input(key=f"case_measure_name_{cid}").input("Fewer notes")
    at.button[[b.label for b in at.button].index("Add measure")].click().run()
    assert not at.exception
    (err,) = [e.value for e in at.error]
    assert err.startswith("The measure was not added:") and "no target" in err and "no date" in err
    assert not any(m["measure"] for m in store.get_plan(cid)["measures"])  # nothing added
    assert any("add at least one measure of success" in w.value for w in at.warning)


def test_monitoring_entries_can_be_corrected_and_deleted(store):
    cid = save(store, "presentation-skills")
    plan = build_plan(store.get_case(cid)["answers"])
    plan["measures"] = [{"measure": "Talks given", "target": "at least 3", "date": "2030-01-01"}]
    store.save_plan(cid, plan)
    first = store.add_monitoring(cid, {"date": "2029-01-05", "measure": "Talks given", "value": 1, "note": "typo"})
    second = store.add_monitoring(cid, {"date": "2029-02-05", "measure": "Talks given", "value": 2})
    at = open_case(page().run(), cid, "Monitor")
    at.selectbox(key=f"case_entry_pick_{cid}").select(first).run()
    at.number_input(key=f"case_entry_value_{cid}_{first}").set_value(10)
    at.text_input(key=f"case_entry_note_{cid}_{first}").input("corrected")
    at.button[[b.label for b in at.button].index("Save changes")].click().run()
    no_errors(at)
    entries = {e["id"]: e for e in store.get_case(cid)["monitoring"]}
    assert (entries[first]["value"], entries[first]["note"], entries[first]["date"]) == (10, "corrected", "2029-01-05")
    assert shown_tab(at, cid) == "Monitor" and any("Entry corrected" in s.value for s in at.success)
    at.selectbox(key=f"case_entry_pick_{cid}").select(second).run()
    at.button[[b.label for b in at.button].index("Delete this entry")].click().run()
    no_errors(at)
    assert [e["id"] for e in store.get_case(cid)["monitoring"]] == [first]


def test_saving_from_the_session_twice_makes_one_case(store):
    at = page()
    at.session_state["answers"] = dict(worked("presentation-skills").answers)
    at.session_state["case"] = {"title": "Once", "who": "Lee", "notes": ""}
    at.run()
    at.button(key="cases_save_new").click().run()
    no_errors(at)
    (row,) = store.list_cases()
    # the saved case is open, and the page no longer offers to save it again
    assert at.session_state["cases_open"] == row["id"] and at.session_state["cases_pick"] == row["id"]
    assert not [b for b in at.button if b.key == "cases_save_new"]
    assert any(f"saved as case {row['id']}" in c.value for c in at.caption)
    # a changed answer in the session is saved into the same case
    at.session_state["answers"] = {**at.session_state["answers"], "gap_defined": "no"}
    at.run()
    assert at.button(key="cases_save_new").label == f"Save the changes into case {row['id']} (re-diagnose)"
    at.button(key="cases_save_new").click().run()
    assert [r["id"] for r in store.list_cases()] == [row["id"]]
    assert store.get_case(row["id"])["answers"]["gap_defined"] == "no"


APP = str(Path(__file__).resolve().parents[1] / "app.py")


def test_save_this_case_on_diagnose_saves_once_and_opens_the_case(store):
    case = worked("call-centre")
    at = AppTest.from_file(APP, default_timeout=60).run()
    for _ in range(40):
        keys = [r.key for r in at.radio if r.key and r.key.startswith("q_")]
        if not keys:
            break
        at.radio(key=keys[0]).set_value(case.answers.get(keys[0][2:], "dont_know"))
        at.button(key="next").click().run()
    for _ in range(3):  # a double click, and one more
        at.button(key="save_case").click().run()
        no_errors(at)
    (row,) = store.list_cases()
    assert any(f"Saved as case {row['id']}." in s.value for s in at.success)
    at.button(key="open_saved_case").click().run()  # to the Cases page, with the case open
    no_errors(at)
    assert at.session_state["cases_pick"] == row["id"]
    assert any(h.value.startswith(f"#{row['id']} ") for h in at.header)
    assert not [b for b in at.button if b.key == "cases_save_new"]  # not offered again
    assert len(store.list_cases()) == 1
