"""Action plans (casework.plan): templates from data, a plan for every intervention's worked case,
the check on measures of success, and progress against them."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casework.plan import (
    PLANS_FILE,
    PlanError,
    build_plan,
    check_measures,
    event_titles,
    load_templates,
    load_templates_from,
    normalise_entry,
    parse_target,
    progress,
    validate_plan,
)
from knowledge.loader import load_knowledge, read_yaml
from knowledge.schema import INTERVENTION_IDS
from rules.consult import consult
from rules.model import load_rulebase


def worked(primary: str):
    for c in load_knowledge().cases:
        if c.expected.status == "complete" and c.expected.primary == primary:
            return c
    raise AssertionError(f"no worked case for {primary}")


def worked_id(cid: str):
    return next(c for c in load_knowledge().cases if c.id == cid)


def section(plan: dict, sid: str) -> dict:
    return next(s for s in plan["sections"] if s["id"] == sid)


RAW = read_yaml(PLANS_FILE)


def raw_template(iv: str) -> dict:
    return next(p for p in RAW["plans"] if p["intervention"] == iv)


# --------------------------------------------------------------------------- templates


def test_templates_cover_every_intervention_and_gate():
    t = load_templates()
    assert set(t.plans) == set(INTERVENTION_IDS)
    assert set(t.gates) == set(load_rulebase().gates)


@pytest.mark.parametrize("primary", INTERVENTION_IDS)
def test_plan_for_each_worked_case_comes_from_the_data(primary):
    case = worked(primary)
    plan = build_plan(consult(case.answers))
    raw = raw_template(primary)
    assert plan["kind"] == "intervention" and plan["intervention"] == primary
    assert plan["title"] == raw["title"]
    assert [s["id"] for s in plan["sections"]] == [
        s["id"]
        for s in raw["sections"]
        if "show_when" not in s or s["id"] in {x["id"] for x in plan["sections"]}
    ]
    for s_plan in plan["sections"]:
        s_raw = next(s for s in raw["sections"] if s["id"] == s_plan["id"])
        assert s_plan["title"] == s_raw["title"]
        assert [f["label"] for f in s_plan["fields"]] == [f["label"] for f in s_raw.get("fields", [])]
    assert plan["rulebase_version"] == load_rulebase().version
    assert all(k in load_knowledge().sources for k in plan["sources"])


def test_coaching_plan_has_measures_agreement_and_the_eight_events():
    plan = build_plan(worked("coaching").answers)
    assert plan["measures"] == [{"measure": "", "target": "", "date": ""}]
    assert check_measures(plan["measures"])  # blank measures are flagged until written
    assert {"needs_analysis", "measures", "action_plan", "agreement", "sessions", "monitor"} <= {
        s["id"] for s in plan["sections"]
    }
    events = section(plan, "sessions")["checklist"]
    steps = load_knowledge().processes["events_of_instruction"].steps
    assert [e["text"] for e in events] == [s.title for s in steps] and len(events) == 8
    assert not any(e["done"] for e in events)
    assert plan["process"]["id"] == "plan_implement_monitor"


def test_work_system_plan_marks_the_fixes_the_answers_point_to():
    plan = build_plan(worked_id("call-centre").answers)
    assert plan["intervention"] == "work_system"
    items = {it["id"]: it for it in section(plan, "fixes")["items"]}
    assert set(items) == {"expectations", "feedback", "resources", "targets", "consequences", "obstacles"}
    assert items["targets"]["indicated"] and items["targets"]["because"]
    assert items["consequences"]["indicated"]
    assert not items["resources"]["indicated"] and not items["feedback"]["indicated"]
    assert all(it["owner"] == "" for it in items.values())  # an owner each, for the user to fill in
    assert "measures" not in plan


def test_referral_plan_has_emergency_steps_only_when_risk_was_flagged():
    risk = build_plan(worked_id("risk-of-harm").answers)
    assert risk["intervention"] == "counselling_referral"
    assert risk["safety_alert"] and risk["safety_notice"] == RAW["safety_notice"].strip()
    assert risk["sections"][0]["id"] == "emergency"
    calm = build_plan(worked_id("bereavement-decline").answers)
    assert calm["intervention"] == "counselling_referral"
    assert "emergency" not in {s["id"] for s in calm["sections"]}
    assert not calm["safety_alert"] and calm["safety_notice"] == ""
    routes = [it["title"] for it in section(calm, "who_to_refer")["items"]]
    assert any("EAP" in r for r in routes) and any("GP" in r for r in routes)
    assert {"what_to_say", "confidentiality", "what_not_to_do"} <= {s["id"] for s in calm["sections"]}


def test_suggestions_are_filled_from_the_answers():
    mentoring = build_plan(worked("mentoring").answers)
    aims = section(mentoring, "aims")["fields"][0]
    assert aims["suggested"] and aims["value"]
    case = worked("training")
    training = build_plan(case.answers)
    participants = section(training, "who")["fields"][0]
    given_answer = consult(case.answers).answers.get("people_affected")
    kb = load_knowledge()
    assert participants["value"] == (
        kb.question("people_affected").label_of(given_answer) if given_answer else ""
    )
    coach = section(training, "follow_up")["fields"][0]
    mapping = next(
        f["suggest"]["map"]
        for s in raw_template("training")["sections"]
        for f in s.get("fields", [])
        if f["id"] == "coach" and "suggest" in f
    )
    assert coach["value"] == mapping.get(consult(case.answers).answers.get("leader_can_coach"), "")


def test_gate_plans_and_dont_know_list():
    plan = build_plan(worked_id("too-little-known").answers)
    assert plan["kind"] == "gate" and plan["gate"] == "check_first" and plan["intervention"] is None
    todo = section(plan, "find_out")["fields"][0]["value"].splitlines()
    c = consult(worked_id("too-little-known").answers)
    assert todo and len(todo) == len(c.checks())
    assert all(line.lower().startswith(x["what"].lower()) and x["how"] in line for line, x in zip(todo, c.checks(), strict=True))
    assert build_plan(worked_id("bad-attitude").answers)["gate"] == "gap_undefined"
    conduct = build_plan(worked_id("harassment-complaint").answers)
    assert conduct["gate"] == "conduct_matter" and any("HR" in i["text"] for s in conduct["sections"]
                                                        for i in s["checklist"])


def test_plan_from_consultation_dict_or_answers_is_the_same():
    answers = worked("consultancy").answers
    c = consult(answers)
    a, b, d = build_plan(c), build_plan(c.to_dict()), build_plan(dict(answers))
    assert a == b == d


def test_no_plan_while_a_question_is_open_and_bad_input_is_named():
    with pytest.raises(PlanError, match="still needs an answer"):
        build_plan({"gap_defined": "yes"})
    with pytest.raises(PlanError, match="bad answers"):
        build_plan({"gap_defined": "perhaps"})
    with pytest.raises(PlanError, match="expected a consultation"):
        build_plan(42)


def test_broken_template_file_is_reported_with_entry_and_field(tmp_path):
    text = PLANS_FILE.read_text(encoding="utf-8")
    bad = tmp_path / "plans.yaml"
    bad.write_text(
        text.replace("suggest: {answer: people_affected}", "suggest: {answer: people_affectd}", 1)
        .replace("checklist_from: events_of_instruction", "checklist_from: events_of_instructions")
        .replace("intervention: consultancy", "intervention: consultation"),
        encoding="utf-8",
    )
    with pytest.raises(PlanError) as info:
        load_templates_from(bad)
    msg = str(info.value)
    assert "plans.yaml" in msg and "intervention" in msg
    shutil.copy(PLANS_FILE, bad)
    bad.write_text(
        text.replace("suggest: {answer: people_affected}", "suggest: {answer: people_affectd}", 1).replace(
            "checklist_from: events_of_instruction", "checklist_from: events_of_instructions"
        ),
        encoding="utf-8",
    )
    with pytest.raises(PlanError) as info:
        load_templates_from(bad)
    msg = str(info.value)
    assert "unknown question id 'people_affectd'" in msg
    assert "unknown process 'events_of_instructions'" in msg
    assert "(id=who)" in msg  # names the section


# --------------------------------------------------------------------------- measures


def test_check_measures_names_each_problem():
    good = [{"measure": "Calls closed first time", "target": "80%", "date": "2030-06-30"}]
    assert check_measures(good) == []
    assert check_measures([{**good[0], "date": dt.date(2030, 6, 30)}]) == []
    assert check_measures([]) == ["add at least one measure of success, with a measure, a target and a date"]
    problems = check_measures(
        [
            {"measure": "", "target": "5", "date": "2030-01-01"},
            {"measure": "Errors", "target": " ", "date": "2030-01-01"},
            {"measure": "Speed", "target": "3", "date": ""},
            {"measure": "Quality", "target": "3", "date": "31/12/2030"},
            {"measure": "speed", "target": "4", "date": "2030-01-01"},
            {"measure": "Tone", "target": "4", "date": "2030-02-30"},
            "not a measure",
        ]
    )
    assert problems == [
        "measure 1: no measure (what will the person do?)",
        "measure 2 ('Errors'): no target (how well or how often, ideally a number)",
        "measure 3 ('Speed'): no date (by when)",
        "measure 4 ('Quality'): '31/12/2030' is not a date (write it as YYYY-MM-DD)",
        "measure 5 ('speed'): the same measure as measure 3",
        "measure 6 ('Tone'): '2030-02-30' is not a date (write it as YYYY-MM-DD)",
        "measure 7: expected a measure, a target and a date, not str",
    ]
    assert check_measures("x") == ["measures must be a list, not str"]


@settings(max_examples=150, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids, max_size=4),
        max_leaves=12,
    )
)
def test_check_measures_never_crashes(value):
    out = check_measures(value)
    assert isinstance(out, list) and all(isinstance(p, str) for p in out)


def test_parse_target():
    assert parse_target("at least 8 a day") == (8.0, "at_least")
    assert parse_target("90%") == (90.0, "at_least")
    assert parse_target("no more than 2 errors") == (2.0, "at_most")
    assert parse_target("1,000 calls") == (1000.0, "at_least")
    assert parse_target("handles it calmly") == (None, "at_least")
    assert parse_target("5", "at_most") == (5.0, "at_most")


# --------------------------------------------------------------------------- monitoring


def _plan_with(measures):
    plan = build_plan(worked("coaching").answers)
    plan["measures"] = measures
    return plan


def test_progress_states_and_messages_come_from_the_data():
    texts = RAW["monitoring"]
    plan = _plan_with(
        [
            {"measure": "Quotes", "target": "8", "date": "2024-03-01"},
            {"measure": "Errors", "target": "at most 2", "date": "2024-03-01"},
            {"measure": "Calm", "target": "stays calm", "date": "2024-06-01"},
            {"measure": "Unstarted", "target": "3", "date": "2024-06-01"},
            {"measure": "Late", "target": "3", "date": "2024-01-01"},
        ]
    )
    entries = [
        {"date": "2024-02-20", "measure": "quotes", "value": 9},
        {"date": "2024-02-01", "measure": "Quotes", "value": 4},
        {"date": "2024-02-01", "measure": "Errors", "value": 5},
        {"date": "2024-02-01", "measure": "Calm", "value": 1},
        {"date": "2024-01-05", "measure": "Late", "value": 1},
        {"date": "2024-01-05", "measure": "Not in the plan", "value": 7},
        {"date": "2024-02-02", "kind": "session", "events": [1, 2, 3, 4]},
    ]
    p = progress(plan, entries, today=dt.date(2024, 2, 25))
    by = {m["measure"]: m for m in p["measures"]}
    assert [v["value"] for v in by["Quotes"]["values"]] == [4, 9]  # in date order
    assert by["Quotes"]["met"] is True and by["Quotes"]["message"] == texts["met"].strip()
    assert by["Errors"]["met"] is False and by["Errors"]["state"] == "on_track"
    assert by["Errors"]["message"] == texts["on_track"].strip()
    assert by["Calm"]["met"] is None and by["Calm"]["state"] == "no_number"
    assert (
        by["Unstarted"]["state"] == "no_values" and by["Unstarted"]["message"] == texts["no_values"].strip()
    )
    assert by["Late"]["state"] == "review_passed" and by["Late"]["review_passed"]
    assert by["Late"]["message"] == texts["review_passed"].strip()
    assert p["unmatched"] == [{"date": "2024-01-05", "measure": "Not in the plan", "value": 7.0, "note": ""}]
    (session,) = p["sessions"]
    assert session["done"] == event_titles()[:4] and session["missing"] == event_titles()[4:]
    assert not session["complete"] and session["message"] == texts["session_incomplete"].strip()
    # once the review date passes without the target, further coaching is due
    later = progress(plan, entries, today=dt.date(2024, 3, 2))
    assert {m["measure"]: m["state"] for m in later["measures"]}["Errors"] == "review_passed"


def test_normalise_entry():
    assert normalise_entry({"date": "2024-01-02", "measure": " Quotes ", "value": "85%"}) == {
        "date": "2024-01-02",
        "kind": "measure",
        "measure": "Quotes",
        "value": 85.0,
        "note": "",
        "events": [],
    }
    ticks = [True, False, True, False, False, False, False, True]
    assert normalise_entry({"date": "2024-01-02", "kind": "session", "events": ticks})["events"] == [1, 3, 8]
    for bad, word in [
        ({"measure": "x", "value": 1}, "date"),
        ({"date": "2024-01-02", "measure": "x", "value": True}, "true/false"),
        ({"date": "2024-01-02", "measure": "x", "value": "many"}, "not a number"),
        ({"date": "2024-01-02", "measure": "", "value": 1}, "which measure"),
        ({"date": "2024-01-02", "measure": "x"}, "a number is needed"),
        ({"date": "2024-01-02", "kind": "session", "events": [0, 9]}, "event numbers"),
        ({"date": "2024-01-02", "kind": "chat"}, "kind"),
        ({"date": "2024-01-02", "measure": "x", "value": 1, "colour": "red"}, "colour"),
        ({"date": "2024-01-02", "measure": "x", "value": float("nan")}, "finite"),
    ]:
        with pytest.raises(PlanError, match=word):
            normalise_entry(bad)


@settings(max_examples=150, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["date", "kind", "measure", "value", "note", "events", "x"]),
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats()
        | st.text(max_size=12)
        | st.lists(st.integers(-2, 10) | st.booleans(), max_size=9),
        max_size=6,
    )
)
def test_normalise_entry_raises_only_plan_errors(entry):
    try:
        out = normalise_entry(entry)
    except PlanError as exc:
        assert exc.problems
    else:
        assert out["kind"] in ("measure", "session")


def test_validate_plan_keeps_what_the_user_wrote_and_refuses_non_data():
    plan = _plan_with([{"measure": "Quotes", "target": 8, "date": dt.date(2030, 1, 1)}])
    plan["sections"][0]["fields"][0]["value"] = "Ünïcode ✓ 😀"
    clean = validate_plan(plan)
    assert clean["measures"] == [{"measure": "Quotes", "target": "8", "date": "2030-01-01"}]
    assert clean["sections"][0]["fields"][0]["value"] == "Ünïcode ✓ 😀"
    with pytest.raises(PlanError, match="mapping"):
        validate_plan(["not", "a", "plan"])
    with pytest.raises(PlanError, match="plain data"):
        validate_plan({**plan, "x": {1, 2}})
    broken = {**plan, "intervention": "magic", "sections": [{"fields": [{"value": 3}]}]}
    with pytest.raises(PlanError) as info:
        validate_plan(broken)
    assert "unknown intervention 'magic'" in str(info.value) and "value must be text" in str(info.value)
