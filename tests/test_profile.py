"""The organisation profile (casework.profile): validated, and used by plans, first steps, safety
guidance and the report; without one, the generic text."""

from __future__ import annotations

import datetime as dt

import pytest

from casework.plan import build_plan
from casework.profile import (
    ProfileError,
    load_profile,
    parse_profile,
    safety_guidance,
    save_profile,
)
from casework.report import build_document
from knowledge.loader import load_knowledge
from rules.consult import consult

PROFILE = """
organisation: Example Ltd
currency: GBP
support:
  employee_assistance: {name: "CareFirst EAP", contact: "0800 123 456"}
  occupational_health: {name: "Health@Work", contact: "oh@example.test"}
  hr: {name: "People team", contact: "hr@example.test"}
  emergency: {contact: "999"}
coaching: {in_house_coaches: ["Priya Shah", "Tom Lee"], cost_per_session: 120}
mentoring: {scheme: {name: "Grow Together", contact: "mentoring@example.test"}}
training_catalogue:
  - {title: "Quoting with the new method", provider: "Sales Academy", days: 2, cost: 450, topics: ["quoting", "quotes"]}
  - {title: "Excel basics", provider: "IT Training", days: 1, cost: 150, topics: ["spreadsheets"]}
consultancy: {framework: "Crown Commercial framework", day_rate: 900}
budget: {approver: "Head of L&D"}
"""


def worked(primary: str):
    return next(c for c in load_knowledge().cases if c.expected.status == "complete" and c.expected.primary == primary)


@pytest.fixture
def prof():
    return parse_profile(PROFILE)


def test_a_valid_profile_loads_from_the_data_folder_or_TRIAGE_PROFILE(tmp_path, monkeypatch):
    monkeypatch.setenv("TRIAGE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("TRIAGE_PROFILE", raising=False)
    assert load_profile().profile is None and load_profile().problems == []  # no file: generic text
    (tmp_path / "profile.yaml").write_text(PROFILE)
    assert load_profile().profile.organisation == "Example Ltd"
    other = tmp_path / "elsewhere.yaml"
    other.write_text("organisation: Other plc\n")
    monkeypatch.setenv("TRIAGE_PROFILE", str(other))
    assert load_profile().profile.organisation == "Other plc"


@pytest.mark.parametrize("text, named", [
    ("support:\n  employee_assistance: {nam: x}\n", "support.employee_assistance.nam: unknown field"),
    ("coaching: {cost_per_session: -5}\n", "coaching.cost_per_session"),
    ("training_catalogue:\n  - {provider: x}\n", "training_catalogue.0.title"),
    ("consultancy: {day_rate: lots}\n", "consultancy.day_rate"),
    ("- just a list\n", "expected a mapping"),
    ("organisation: [unclosed\n", "not valid YAML"),
    ("a: &x 1\nb: *x\n", "aliases"),
])
def test_a_bad_profile_names_the_field_and_everything_goes_on(tmp_path, monkeypatch, text, named):
    p = tmp_path / "profile.yaml"
    p.write_text(text)
    with pytest.raises(ProfileError) as exc:
        parse_profile(text)
    assert any(named in m for m in exc.value.problems), exc.value.problems
    loaded = load_profile(p)
    assert loaded.profile is None and any(named in m for m in loaded.problems)
    monkeypatch.setenv("TRIAGE_PROFILE", str(p))
    plan = build_plan(worked("counselling_referral").answers)  # generic text, no crash
    assert "CareFirst" not in str(plan)


def test_save_profile_refuses_a_bad_one_and_keeps_the_old_file(tmp_path):
    p = tmp_path / "profile.yaml"
    save_profile(PROFILE, p)
    with pytest.raises(ProfileError):
        save_profile("coaching: {cost_per_session: free}\n", p)
    assert p.read_text() == PROFILE


def test_referral_plan_first_step_and_safety_guidance_name_the_assistance_programme(prof):
    wc = worked("counselling_referral")
    plan = build_plan(wc.answers, profile=prof)
    text = str(plan)
    assert "CareFirst EAP, 0800 123 456" in text and "Health@Work" in text
    assert "CareFirst" not in str(build_plan(wc.answers, profile=None))
    doc = build_document({"title": "t", "answers": wc.answers}, today=dt.date(2026, 1, 1), profile=prof)
    first = next(doc.blocks[i + 1].text for i, b in enumerate(doc.blocks) if b.text == "First step")
    assert "CareFirst EAP" in first
    assert "In an emergency: 999" in safety_guidance("Call for help now.", prof)
    risk = next(c for c in load_knowledge().cases if c.answers.get("risk_of_harm") == "yes")
    doc = build_document({"title": "t", "answers": risk.answers}, profile=prof)
    alert = next(b.text for b in doc.blocks if b.kind == "alert")
    assert "CareFirst EAP" in alert and "999" in alert


def test_mentoring_plan_names_the_scheme(prof):
    plan = build_plan(worked("mentoring").answers, profile=prof)
    offer = plan["sections"][0]
    assert offer["id"] == "organisation_offer" and "Grow Together" in offer["checklist"][0]["text"]


def test_training_plan_lists_matching_courses_with_days_and_cost(prof):
    plan = build_plan(worked("training").answers, profile=prof, title="Slow with quotes")
    items = [c["text"] for c in plan["sections"][0]["checklist"]]
    assert items[0] == "Quoting with the new method (Sales Academy, 2 days, GBP 450)"
    doc = build_document({"title": "Slow with quotes", "answers": worked("training").answers}, profile=prof)
    table = next(b for b in doc.blocks if b.kind == "table" and "Who delivers" in b.header)
    rows = {r[0]: r for r in table.rows}
    assert "GBP 450 a place" in rows["Training"][4]
    assert "GBP 900 a day" in rows["Consultancy"][4] and "GBP 120 a session" in rows["Coaching"][4]
    assert rows["Counselling referral"][2] == "CareFirst EAP or Health@Work"
    decision = next(doc.blocks[i + 1].text for i, b in enumerate(doc.blocks) if b.text == "Decision asked")
    assert decision.startswith("Approve Training at about GBP 450 a place") and "Head of L&D" in decision


def test_who_attends_comes_from_the_case_and_the_gap_is_the_first_measure():
    answers = worked("training").answers
    plan = build_plan(consult(answers), who="The three new sales staff", profile=None,
                      gap={"measure": "Quotes a day", "current": 4, "target": 8, "by": "2027-01-31"})
    fields = {f["id"]: f["value"] for s in plan["sections"] for f in s["fields"]}
    assert fields["participants"].startswith("The three new sales staff")
    assert plan["measures"][0] == {"measure": "Quotes a day", "target": "8", "date": "2027-01-31",
                                   "direction": "at_least", "baseline": 4.0}
