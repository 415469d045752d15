"""The Outcomes page, closing a case and the gap on the Cases page, and the Organisation profile page
(AppTest), plus the Outcomes page in a real browser."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from page_util import page_app
from streamlit.testing.v1 import AppTest

from casework.outcomes import case_frame, notable
from casework.store import Store
from knowledge.loader import load_knowledge

ROOT = Path(__file__).resolve().parents[1]
TODAY = dt.date.today()


def worked(primary: str):
    return next(c for c in load_knowledge().cases if c.expected.status == "complete" and c.expected.primary == primary)


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.delenv("TRIAGE_DATABASE_URL", raising=False)
    monkeypatch.delenv("TRIAGE_PROFILE", raising=False)
    monkeypatch.setenv("TRIAGE_DATA_DIR", str(tmp_path / "data"))
    s = Store()
    yield s
    s.close()


def app(page: str) -> AppTest:
    return page_app(page, timeout=60)


def no_errors(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def test_outcomes_page_counts_and_notable_cases(store):
    a = store.create_case({"title": "Quick coaching win"}, worked("coaching").answers)
    store.close_case(a, "closed")
    b = store.create_case({"title": "Course that did not help"}, worked("training").answers)
    store.close_case(b, "not_closed")
    store.create_case({"title": "Still going"}, worked("coaching").answers)
    at = app("outcomes").run()
    no_errors(at)
    assert any("3 cases you may see · 2 closed" in c.value for c in at.caption)
    table = at.dataframe[0].value
    rows = {r["Intervention"]: r for r in table.to_dict("records")}
    assert rows["Coaching"]["Cases"] == 2 and rows["Coaching"]["Open"] == 1 and rows["Coaching"]["Gap closed"] == 1
    assert rows["Training"]["Not closed"] == 1
    text = " ".join(m.value for m in at.markdown)
    assert "Quick coaching win" in text and "Course that did not help" in text
    at.radio(key="outcomes_by").set_value("unit").run()
    no_errors(at)
    assert list(at.dataframe[0].value["Unit"]) == ["no unit"]


def test_outcomes_page_with_no_cases_says_so(store):
    at = app("outcomes").run()
    no_errors(at)
    assert any("No saved cases" in i.value for i in at.info)


def test_cases_page_closes_a_case_proposes_it_and_saves_the_gap(store):
    cid = store.create_case({"title": "Errors"}, worked("coaching").answers)
    at = app("cases").run()
    at.selectbox(key="cases_pick").select(cid).run()
    no_errors(at)
    at.text_input(key=f"case_gap_{cid}_measure").input("Errors a week")
    at.number_input(key=f"case_gap_{cid}_current").set_value(6)
    at.number_input(key=f"case_gap_{cid}_target").set_value(2)
    next(b for b in at.button if b.label == "Save the gap").click().run()
    no_errors(at)
    assert store.get_case(cid)["gap"]["target"] == 2.0
    assert not any("reached its target" in s.value for s in at.success)
    store.add_monitoring(cid, {"date": TODAY.isoformat(), "measure": "Errors a week", "value": 2})
    at.run()
    assert any("reached its target" in s.value for s in at.success)
    assert at.selectbox(key=f"case_close_outcome_{cid}_closed").value == "closed"  # proposed
    next(b for b in at.button if b.label == "Close the case").click().run()
    no_errors(at)
    c = store.get_case(cid)
    assert (c["status"], c["outcome"], c["closed_on"]) == ("closed", "closed", TODAY.isoformat())
    next(b for b in at.button if b.label == "Reopen the case").click().run()
    assert store.get_case(cid)["status"] == "open"


def test_monitoring_value_has_no_preset_number_and_sessions_only_for_coaching(store):
    from casework.plan import build_plan

    cid = store.create_case({"title": "Course"}, worked("training").answers)
    plan = build_plan(worked("training").answers, profile=None)
    plan["measures"] = [{"measure": "Quotes a day", "target": "at least 8", "date": "2030-01-01"}]
    store.save_plan(cid, plan)
    at = app("cases").run()
    at.selectbox(key="cases_pick").select(cid).run()
    at.session_state[f"case_tab_{cid}"] = "Monitor"
    at.run()
    no_errors(at)
    values = [n for n in at.number_input if n.label == "Value"]
    assert values and values[0].value is None
    assert not any("coaching session" in m.value.lower() for m in at.markdown)


def test_a_referral_plan_offers_its_follow_up_on_the_monitor_tab(store):
    from casework.plan import build_plan

    answers = worked("counselling_referral").answers
    cid = store.create_case({"title": "Referral"}, answers)
    store.save_plan(cid, build_plan(answers, profile=None))
    at = app("cases").run()
    at.selectbox(key="cases_pick").select(cid).run()
    at.session_state[f"case_tab_{cid}"] = "Monitor"
    at.run()
    no_errors(at)
    assert any(m.value == "**Record a follow-up of the referral**" for m in at.markdown)
    at.text_area(key=f"case_follow_note_{cid}").input("Took up the assistance programme.")
    next(b for b in at.button if b.label == "Add").click().run()
    no_errors(at)
    assert [e["kind"] for e in store.get_case(cid)["monitoring"]] == ["follow_up"]


PROFILE_OK = "organisation: Example Ltd\ncurrency: GBP\nsupport:\n  employee_assistance: {name: CareFirst, contact: '0800 1'}\n"


def test_profile_page_admin_edits_and_a_bad_profile_is_refused(store, tmp_path):
    at = app("org_profile").run()  # local mode: the local operator is an administrator
    no_errors(at)
    at.text_area(key="profile_text").input("coaching: {cost_per_session: free}\n")
    next(b for b in at.button if b.label == "Check and save").click().run()
    assert any("coaching.cost_per_session" in e.value for e in at.error)
    path = tmp_path / "data" / "profile.yaml"
    assert not path.exists()
    at.text_area(key="profile_text").input(PROFILE_OK)
    next(b for b in at.button if b.label == "Check and save").click().run()
    no_errors(at)
    assert path.read_text() == PROFILE_OK
    path.write_text("support: {hr: {phone: 1}}\n")  # broken by hand: named, the app goes on
    at = app("org_profile").run()
    assert any("support.hr.phone: unknown field" in e.value for e in at.error)


# --------------------------------------------------------------------------- in a real browser


def test_outcomes_page_in_the_browser(browser_page, app_url):
    """Cases saved and closed in the store the app uses; the Outcomes page shows the counts and the
    notable cases, and groups by unit, with no error."""
    from browser_util import click, go_to, wait_idle

    with Store() as s:  # the served app uses the same data folder (the session's temporary one)
        won = s.create_case({"title": "Browser coaching success"}, worked("coaching").answers)
        s.close_case(won, "closed")
        lost = s.create_case({"title": "Browser stopped course"}, worked("training").answers)
        s.close_case(lost, "stopped")
        frame = case_frame(s.outcome_rows())
    page = browser_page
    page.goto(app_url + "/")
    wait_idle(page)
    go_to(page, "Outcomes")
    page.get_by_role("heading", name="Outcomes").first.wait_for()
    closed = int((frame["status"] == "closed").sum())
    page.get_by_text(f"{len(frame)} cases you may see · {closed} closed").wait_for()
    page.locator('[data-testid="stVegaLiteChart"]').first.wait_for()
    best, worst = notable(frame)
    assert won in list(best["id"]) or len(best) == 3
    page.get_by_text("Browser stopped course").first.wait_for()
    click(page, page.get_by_text("Unit", exact=True))  # group by unit: a run
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.locator('[data-testid="stAlert"]', has_text="cannot be used").count() == 0


def test_diagnose_names_the_organisations_route_in_the_first_step_and_safety_guidance(store, tmp_path, monkeypatch):
    """With a profile, a referral's first step and the safety guidance on the Diagnose page name the
    assistance programme; a gap typed in the case details is saved with the case."""
    prof = tmp_path / "org.yaml"
    prof.write_text("support:\n  employee_assistance: {name: CareFirst EAP, contact: '0800 123'}\n"
                    "  emergency: {contact: '999'}\n")
    monkeypatch.setenv("TRIAGE_PROFILE", str(prof))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    referral = worked("counselling_referral").answers
    at.session_state["answers"] = dict(referral)
    at.run()
    no_errors(at)
    text = " ".join(m.value for m in at.markdown)
    assert "First step:" in text and "CareFirst EAP, 0800 123" in text
    risk = next(c for c in load_knowledge().cases if c.answers.get("risk_of_harm") == "yes")
    at.session_state["answers"] = dict(risk.answers)
    at.run()
    assert any("In an emergency: 999" in e.value for e in at.error)
    at.text_input(key="case_gap_measure").input("Days absent a month")
    at.number_input(key="case_gap_current").set_value(4)
    at.number_input(key="case_gap_target").set_value(1)
    at.run()
    at.button(key="save_case").click().run()
    assert not at.exception
    saved = store.list_cases()[0]
    assert store.get_case(saved["id"])["gap"]["measure"] == "Days absent a month"
