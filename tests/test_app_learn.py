"""The Learn pages, driven through AppTest: each renders without an exception and shows the data;
the decision table filters; the rule map highlights the current case; worked cases and practice."""

from __future__ import annotations

from pathlib import Path

import pytest
from page_util import go_to
from streamlit.testing.v1 import AppTest

from app_pages.learn.rule_graph import build_dot, downstream_rules, relevant_rules
from knowledge.loader import load_knowledge
from knowledge.schema import INTERVENTION_IDS
from rules.consult import consult
from rules.model import load_rulebase

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
KB = load_knowledge()
RB = load_rulebase()
LEARN_PAGES = [
    "learn_interventions",
    "learn_topics",
    "learn_processes",
    "rule_table",
    "rule_map",
    "worked_cases",
    "practice",
]


@pytest.fixture(scope="module")
def at() -> AppTest:
    """One app session for the module: the pages are read-only views, switching between them is
    what a student does."""
    app = AppTest.from_file(APP, default_timeout=30)
    app.run()
    return app


def open_page(at: AppTest, page: str) -> AppTest:
    go_to(at, page).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def text_of(at: AppTest) -> str:
    parts = [str(e.value) for e in [*at.markdown, *at.header, *at.title, *at.caption, *at.subheader]]
    return "\n".join(parts)


@pytest.mark.parametrize("page", LEARN_PAGES)
def test_every_learn_page_renders(at, page):
    open_page(at, page)
    assert at.title, f"{page} has no title"


def test_interventions_one_at_a_time_two_side_by_side_or_all(at):
    open_page(at, "learn_interventions")
    # one at a time (the default): headed paragraphs, no wide table
    assert at.radio(key="learn_iv_mode").value == "one"
    assert len(at.table) == 2  # only coaching vs mentoring and the related services
    text = text_of(at)
    assert KB.interventions["coaching"].summary.strip() in text and "**Not when**" in text
    at.selectbox(key="learn_iv_one").set_value("consultancy").run()
    assert KB.interventions["consultancy"].summary.strip() in text_of(at)
    assert KB.interventions["coaching"].summary.strip() not in text_of(at)
    # two chosen side by side
    at.radio(key="learn_iv_mode").set_value("two").run()
    assert list(at.table[0].value.columns) == ["Aspect", "Coaching", "Mentoring"]
    at.selectbox(key="learn_iv_b").set_value("training").run()
    assert list(at.table[0].value.columns) == ["Aspect", "Coaching", "Training"]
    # all six, for a wide screen
    at.radio(key="learn_iv_mode").set_value("all").run()
    tables = at.table
    assert len(tables) == 3
    df = tables[0].value
    assert list(df.columns) == ["Aspect", *(KB.interventions[i].name for i in INTERVENTION_IDS)]  # no empty header
    assert KB.interventions["coaching"].summary.strip() in df.set_index("Aspect").loc["What it is"].iloc[0]
    cvm = tables[1].value
    assert list(cvm["Dimension"]) == [r.dimension for r in KB.coaching_vs_mentoring]
    services = tables[2].value
    assert list(services["Service"]) == [s.service for s in KB.related_services]
    at.radio(key="learn_iv_mode").set_value("one").run()


def test_processes_and_topics_show_all_the_material_with_references(at):
    open_page(at, "learn_processes")
    text = text_of(at)
    for p in KB.processes.values():
        assert p.title in text
        for step in p.steps:
            assert step.text.strip() in text
    assert len(KB.processes["events_of_instruction"].steps) == 8
    open_page(at, "learn_topics")
    text = text_of(at)
    # a table of contents linking every section, and a way back after each
    for s in KB.sections.values():
        assert f"[{s.title}](#{s.id.replace('_', '-')})" in text
    assert text.count("[Back to contents](#contents)") == len(KB.sections)
    for s in KB.sections.values():
        assert s.title in text
        for para in s.paragraphs:
            assert para.strip() in text
        if s.sources:
            assert "References: " + "; ".join(KB.cite(k) for k in dict.fromkeys(s.sources)) in text


def test_decision_table_filters(at):
    from rules.table import decision_table_rows

    open_page(at, "rule_table")
    rows = decision_table_rows(RB)
    df = at.dataframe[0].value
    assert len(df) == len(rows) == len(RB.rules)
    at.multiselect(key="dt_iv").set_value(["coaching"]).run()
    df = at.dataframe[0].value
    assert set(df["rule"]) == {r.id for r in RB.rules if "coaching" in r.interventions()}
    at.selectbox(key="dt_q").set_value("targets_conflict").run()
    df = at.dataframe[0].value
    # ENV-goal-conflict concludes goal_conflict, which rules coaching out
    assert "COA-ruled-out-goal-conflict" in set(df["rule"])
    assert set(df["rule"]) == {
        r.id for r in downstream_rules(RB, "targets_conflict") if "coaching" in r.interventions()
    }
    at.multiselect(key="dt_iv").set_value([]).run()
    at.selectbox(key="dt_q").set_value(None).run()
    at.text_input(key="dt_text").input("kerr").run()
    df = at.dataframe[0].value
    assert set(df["rule"]) == {r.id for r in RB.rules if "kerr-1975" in r.sources}
    at.text_input(key="dt_text").input("no rule says this xyzzy").run()
    assert "No rule matches these filters." in [i.value for i in at.info]
    at.text_input(key="dt_text").input("").run()


def test_rule_map_draws_the_graph(at):
    open_page(at, "rule_map")
    charts = at.get("graphviz_chart")
    assert len(charts) == 1
    dot = charts[0].proto.spec
    assert dot.startswith("digraph rules {") and '"i:work_system"' in dot
    at.selectbox(key="map_focus").set_value("mentoring").run()
    dot = at.get("graphviz_chart")[0].proto.spec
    assert '"i:mentoring"' in dot and '"i:training"' not in dot


def test_worked_cases_show_answers_result_and_what_if(at):
    open_page(at, "worked_cases")
    case = next(c for c in KB.cases if c.id == "call-centre")
    at.selectbox(key="wc_case").set_value("call-centre").run()
    assert case.narrative.strip() in text_of(at)
    answers_table = at.table[0].value
    c = consult(case.answers)
    assert len(answers_table) == len(c.answers)
    assert any("Recommended: Work-system fix" in s.value for s in at.success)
    # the summary and its reasons, not only the headline
    summary = c.to_dict()["summary"]
    assert "**Why:**\n" + "\n".join(f"- {b}" for b in summary["because"]) in text_of(at)
    assert f"**First step:** {summary['next_step']}" in text_of(at)
    # What if? starts from no change: no question chosen, then the chosen question keeps its answer
    assert at.selectbox(key="wc_call-centre_whatif_q").value is None
    assert "### What if" not in text_of(at)
    at.selectbox(key="wc_call-centre_whatif_q").set_value("targets_conflict").run()
    assert at.selectbox(key="wc_call-centre_whatif_v_targets_conflict").value == "conflicting"
    assert "### What if" not in text_of(at)
    at.selectbox(key="wc_call-centre_whatif_q").set_value("targets_conflict").run()
    at.selectbox(key="wc_call-centre_whatif_v_targets_conflict").set_value("compatible").run()
    assert not at.exception
    text = text_of(at)
    assert "### What if" in text
    assert "`COA-ruled-out-goal-conflict`" in text  # in the current result, beside the changed one


def test_practice_one_answer_per_case_feedback_score_and_drill():
    """Unseen cases (not the worked cases), one answer each, feedback shown at once with the deciding
    fact and the distinction, the score and the confused pairs, then a drill round on them."""
    from casework.practice import PracticeSession, Round
    from knowledge.practice_set import load_practice

    practice = load_practice()
    at = AppTest.from_file(APP, default_timeout=30)
    at.run()
    open_page(at, "practice")
    order = at.session_state["practice"]["rounds"][0]["order"]
    assert sorted(order) == sorted(c.id for c in practice.cases)
    assert not {c.id for c in KB.cases} & set(order)  # kept apart from the worked cases
    # a short round of three chosen cases (the session is our own plain data)
    ids = ["quotes-on-busy-days", "technician-to-lab-manager", "late-minutes-nothing-checked"]
    at.session_state["practice"] = PracticeSession([Round("all", ids)], seed=1).to_dict()
    at.run()
    case = practice.case(ids[0])
    assert case.narrative.split(".")[0] in text_of(at)
    assert "0 of 3 cases answered" in at.get("progress")[0].proto.text
    at.button(key="practice_check").click().run()
    assert "Choose an answer first." in [w.value for w in at.warning]
    at.radio(key="practice_pick").set_value("training").run()
    at.button(key="practice_check").click().run()
    assert "Not this time" in at.error[0].value and "Coaching" in at.error[0].value
    text = text_of(at)
    assert "**The deciding fact.** " + " ".join(case.deciding_fact.split()) in text
    assert "**Why not Training**" in text
    info = " ".join(i.value for i in at.info)
    assert "The distinction: Training or coaching." in info and "Mager & Pipe (1997)" in info
    assert not at.expander  # nothing folded away
    # one answer per case: the choice is gone once answered, and the score counts it
    assert not [r for r in at.radio if r.key == "practice_pick"]
    assert "1 of 3 cases answered, 0 right" in at.get("progress")[0].proto.text
    at.button(key="practice_next").click().run()
    assert practice.case(ids[1]).narrative.split(".")[0] in text_of(at)
    at.radio(key="practice_pick").set_value("mentoring").run()
    at.button(key="practice_check").click().run()
    assert "Right: **Mentoring**" in at.success[0].value
    at.button(key="practice_next").click().run()
    at.radio(key="practice_pick").set_value("check_first").run()
    at.selectbox(key="practice_check_q").set_value("peers_perform").run()
    at.button(key="practice_check").click().run()
    text = text_of(at)
    assert "is one that would settle it" in text and "What would settle it (check first)" in text
    at.button(key="practice_next").click().run()
    # the round is done: the score, the confused pair, and a drill round on it
    text = text_of(at)
    assert "You got **2 of 3** right in this round." in text
    assert "Coaching and Training: 1 time" in text and "Training or coaching" in text
    at.button(key="practice_drill").click().run()
    drill = at.session_state["practice"]["rounds"][-1]
    assert drill["kind"] == "drill" and "quotes-on-busy-days" in drill["order"]
    assert "Drill round 2" in at.get("progress")[0].proto.text
    assert not at.exception


def test_the_rule_map_highlights_the_current_case():
    at = AppTest.from_file(APP, default_timeout=30)
    case = next(c for c in KB.cases if c.id == "call-centre")
    at.query_params.update(case.answers)
    at.run()
    open_page(at, "rule_map")
    dot = at.get("graphviz_chart")[0].proto.spec
    assert '"q:targets_conflict" [' in dot
    line = next(x for x in dot.splitlines() if x.strip().startswith('"q:targets_conflict" ['))
    assert "penwidth" in line  # highlighted
    # the path of the current case by default, and written out in words
    assert at.toggle(key="map_path_only").value is True
    assert '"q:task_new"' not in dot  # not asked in this case
    c = consult(case.answers)
    text = text_of(at)
    assert "The path in words" in text
    for rid in c.fired:
        assert f"`{rid}`" in text
    assert " ".join(RB.by_id["COA-ruled-out-goal-conflict"].rationale.split()) in text
    # the whole map again on request
    at.toggle(key="map_path_only").set_value(False).run()
    dot = at.get("graphviz_chart")[0].proto.spec
    assert '"q:task_new"' in dot


# --------------------------------------------------------------------------- the DOT builder


def test_build_dot_covers_every_rule_and_node():
    dot = build_dot(RB)
    for iv in INTERVENTION_IDS:
        assert f'"i:{iv}" [' in dot
    for g in RB.gates:
        if any(r.then.gate == g for r in RB.rules):
            assert f'"g:{g}" [' in dot
    edge_rules = set()
    for line in dot.splitlines():
        if "->" in line and "tooltip=" in line:
            edge_rules.update(line.split('tooltip="')[1].split('"')[0].split())
    assert edge_rules == {r.id for r in RB.rules}


def test_build_dot_escapes_quotes_and_highlights_the_fired_rules():
    c = consult(next(x for x in KB.cases if x.id == "call-centre").answers)
    dot = build_dot(RB, fired=c.fired, answers=c.answers, findings=c.findings, primary=c.primary)
    assert dot.count('"') % 2 == 0
    highlighted = [x for x in dot.splitlines() if "->" in x and 'penwidth="3"' in x]
    assert any("ENV-goal-conflict" in x for x in highlighted)
    assert not any("TRN-new-skill" in x.split("tooltip=")[1] for x in highlighted if "tooltip=" in x)


def test_relevant_rules_reach_back_to_the_questions():
    rules = relevant_rules(RB, "consultancy")
    ids = {r.id for r in rules}
    assert all(("consultancy" in r.interventions()) or r.then.finding for r in rules)
    # every finding a chosen rule tests is produced by a chosen rule
    produced = {r.then.finding for r in rules if r.then.finding}
    for r in rules:
        for f in r.when.findings:
            assert f in produced or not any(x.then.finding == f for x in RB.rules), (r.id, f)
    assert ids
