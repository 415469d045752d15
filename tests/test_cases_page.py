"""The Cases page (app_pages/cases.py) on its own, driven with Streamlit's AppTest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from casework.plan import build_plan
from casework.store import Store
from knowledge.loader import load_knowledge

PAGE = str(Path(__file__).resolve().parents[1] / "app_pages" / "cases.py")


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
    return AppTest.from_file(PAGE, default_timeout=60)


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
