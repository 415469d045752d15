"""The Diagnose page, driven through Streamlit's AppTest: every outcome by clicking, Previous and
changing an earlier answer, the safety guidance, the what-if panel, sharing and reopening a case."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from streamlit.testing.v1 import AppTest

from app_pages.logic import (
    answers_from_query,
    filter_answers,
    load_answers_upload,
    remaining_estimate,
    safety_guidance,
)
from casework.answers_io import AnswersFileError, dump_answers
from knowledge.loader import load_knowledge
from knowledge.schema import INTERVENTION_IDS
from rules import summary
from rules.consult import consult
from rules.model import load_rulebase

APP = str(Path(__file__).resolve().parents[1] / "app.py")
KB = load_knowledge()
RB = load_rulebase()
CASES = {c.id: c for c in KB.cases}


def new_app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    at.run()
    assert not at.exception, at.exception
    return at


def shown_question(at: AppTest) -> str | None:
    keys = [r.key for r in at.radio if r.key and r.key.startswith("q_")]
    assert len(keys) <= 1, keys
    return keys[0][2:] if keys else None


def answer(at: AppTest, qid: str, value: str) -> None:
    assert shown_question(at) == qid
    at.radio(key=f"q_{qid}").set_value(value)
    at.button(key="next").click()
    at.run()
    assert not at.exception, at.exception


def drive(at: AppTest, answers: dict[str, str], limit: int = 40) -> list[str]:
    """Answer every question the page shows from ``answers`` ("don't know" when missing)."""
    asked = []
    for _ in range(limit):
        qid = shown_question(at)
        if qid is None:
            return asked
        asked.append(qid)
        answer(at, qid, answers.get(qid, "dont_know"))
    raise AssertionError(f"no result after {limit} questions: {asked}")


def texts(elements) -> str:
    return "\n".join(str(e.value) for e in elements)


def case_for(outcome: str):
    """A worked case whose answers lead to ``outcome`` (an intervention or a gate) by the rule base."""
    for case in KB.cases:
        c = consult(case.answers)
        if outcome in INTERVENTION_IDS and c.status == "complete" and c.primary == outcome == case.expected.primary:
            return case
        if outcome == "cannot_recommend" and c.status == "cannot_recommend" and c.gate != "check_first":
            return case
        if outcome == "check_first" and c.gate == "check_first" and c.lean and case.expected.reason == outcome:
            return case
    raise AssertionError(f"no worked case leads to {outcome}")


# --------------------------------------------------------------------------- opening


def test_opens_on_the_first_question():
    at = new_app()
    first = consult({}).next_question
    assert shown_question(at) == first.id
    assert at.header[0].value == first.text
    radio = at.radio(key=f"q_{first.id}")
    assert "Not sure" in radio.options
    assert radio.label == first.text  # a real label, hidden visually (the question is the heading)
    assert "COLLAPSED" in str(radio.label_visibility)
    assert any("0 answered" in str(p.proto.text) for p in at.get("progress"))


def test_next_without_an_answer_asks_for_one():
    at = new_app()
    at.button(key="next").click().run()
    assert "Choose an answer first" in texts(at.warning)
    assert at.session_state["answers"] == {}


# --------------------------------------------------------------------------- outcomes


@pytest.mark.parametrize("outcome", [*INTERVENTION_IDS, "cannot_recommend", "check_first"])
def test_a_full_path_to_each_outcome(outcome):
    case = case_for(outcome)
    at = new_app()
    asked = drive(at, case.answers)
    expected = consult(case.answers)
    assert asked == list(expected.answers)
    if outcome in ("cannot_recommend", "check_first"):
        gate = RB.gates[expected.gate]
        assert f"{gate.heading}: {gate.label}" in texts(at.warning)
        assert not any("Recommended:" in str(s.value) for s in at.success)
        if outcome == "check_first":  # the checks are a to-do list, each with how to find it out
            boxes = [cb.label for cb in at.checkbox if cb.key and cb.key.startswith("check_")]
            assert boxes and all(x["how"] in " ".join(boxes) for x in expected.checks())
    else:
        name = KB.interventions[outcome].name
        conf = expected.to_dict(RB)["summary"]["confidence"]["text"]  # e.g. "moderate (79%; ...)"
        assert f"**Recommended: {name}" in at.success[0].value
        assert f"confidence {conf}" in at.success[0].value
        assert conf.startswith(f"{expected.confidence_band(RB)} ({expected.confidence:.0%}")
        # next steps come from the knowledge data
        assert KB.interventions[outcome].first_steps[0] in texts(at.markdown)
    # why not: one line per other intervention, with its verdict in words
    md = texts(at.markdown)
    others = [iv for iv in INTERVENTION_IDS if iv != expected.primary]
    for iv in others:
        assert f"- **{KB.interventions[iv].name}**: " in md
    assert "Why not the others?" in [e.label for e in at.expander]
    # the answers are also in the page address
    assert dict(at.query_params) == {k: v for k, v in expected.answers.items()}


def test_ruled_out_reasons_and_explanations_for_the_call_centre():
    at = new_app()
    drive(at, CASES["call-centre"].answers)
    md = texts(at.markdown)
    coaching_rule = RB.by_id["COA-ruled-out-goal-conflict"]
    assert "**Coaching** (ruled out)" in md and coaching_rule.rationale.strip() in md
    assert "`ENV-goal-conflict`" not in md  # rule ids only in the expert detail
    at.toggle(key="expert_detail").set_value(True).run()
    md = texts(at.markdown)
    # how we got here lists the fired rules with their references
    assert "`ENV-goal-conflict`" in md
    assert "Kerr (1975)" in texts(at.caption)
    # the confidence arithmetic
    assert any("confidence =" in str(c.value) for c in at.code)


def visible_texts(at: AppTest) -> str:
    kinds = ("markdown", "caption", "success", "info", "warning", "error", "code", "subheader", "title")
    return "\n".join(str(e.value) for k in kinds for e in getattr(at, k))


@pytest.mark.parametrize("case_id", ["call-centre", "new-crm-rollout", "looks-like-coaching-distress", "bad-attitude"])
def test_default_result_view_shows_summary_and_next_steps_and_no_rule_ids(case_id):
    answers = CASES[case_id].answers
    at = new_app()
    drive(at, answers)
    d = consult(answers).to_dict(RB)
    sm = d["summary"]
    shown = visible_texts(at)
    assert sm["headline"] in shown
    assert all(b in shown for b in sm["because"])
    assert sm["next_step"] in shown
    assert "### Next steps" in texts(at.markdown)
    if d["primary"]:
        assert summary.result_words().confidence.words[sm["confidence"]["band"]] in at.success[0].value
        assert " ".join(summary.result_words().confidence.meaning.split()) in texts(at.caption)
    # the summary comes before the next steps, and no rule id, arithmetic or verdict code is shown
    md = [str(m.value) for m in at.markdown]
    assert any(sm["next_step"] in m for m in md)
    leaked = [rid for rid in RB.by_id if rid in shown]
    assert not leaked, leaked
    assert "confidence =" not in shown and "verdict `" not in shown
    # the expert detail shows them
    at.toggle(key="expert_detail").set_value(True).run()
    shown = visible_texts(at)
    assert any(rid in shown for rid in d["fired_rules"])


def test_close_call_is_flagged_with_what_decides():
    """A near tie between two interventions that could both lead is flagged on the result."""
    answers = find_close_call()
    at = new_app()
    drive(at, answers)
    sm = consult(answers).to_dict(RB)["summary"]
    assert sm["close_call"] and sm["decides"] in texts(at.info)


def find_close_call() -> dict[str, str]:
    from test_summary import find_close_call as search

    return search()


# --------------------------------------------------------------------------- previous, change


def test_previous_and_changing_an_earlier_answer():
    at = new_app()
    answer(at, "concern", "dont_know")
    answer(at, "risk_of_harm", "no")
    answer(at, "distress_signs", "no")
    answer(at, "aim", "current_gap")
    assert shown_question(at) == "gap_defined"
    at.button(key="previous").click().run()
    assert shown_question(at) == "aim"
    assert at.radio(key="q_aim").value == "current_gap"  # the stored answer is shown
    at.button(key="previous").click().run()
    assert shown_question(at) == "distress_signs"
    answer(at, "distress_signs", "no")  # Next steps forward through answered questions
    assert shown_question(at) == "aim"
    answer(at, "aim", "future_development")
    assert at.session_state["answers"]["aim"] == "future_development"
    assert shown_question(at) == consult(at.session_state["answers"]).next_question.id
    assert "gap_defined" not in consult(at.session_state["answers"]).answers  # now a development case


def test_changing_an_earlier_answer_from_the_result_changes_the_result():
    answers = dict(CASES["call-centre"].answers)
    at = new_app()
    drive(at, answers)
    assert "Work-system fix" in at.success[0].value
    at.button(key="previous_result").click().run()
    assert shown_question(at) == list(consult(answers).answers)[-1]
    for _ in range(30):
        if shown_question(at) == "targets_conflict":
            break
        at.button(key="previous").click().run()
    assert shown_question(at) == "targets_conflict"
    answer(at, "targets_conflict", "compatible")
    at.button(key="skip_ahead").click().run()
    answers["targets_conflict"] = "compatible"
    drive(at, answers)
    md = texts(at.markdown)
    assert "**Coaching** (ruled out)" not in md and RB.by_id["COA-ruled-out-goal-conflict"].rationale.strip() not in md
    assert at.session_state["answers"]["targets_conflict"] == "compatible"


def test_start_over_and_undo():
    at = new_app()
    answer(at, "concern", "shortfall")
    answer(at, "risk_of_harm", "no")
    at.button(key="start_over").click().run()
    assert shown_question(at) == "concern"
    assert at.session_state["answers"] == {}
    assert at.radio(key="q_concern").value is None
    at.button(key="undo").click().run()
    assert at.session_state["answers"] == {"concern": "shortfall", "risk_of_harm": "no"}
    assert shown_question(at) == "distress_signs"


# --------------------------------------------------------------------------- safety


def test_risk_of_harm_shows_safety_guidance_first():
    at = new_app()
    answer(at, "concern", "shortfall")
    assert not at.error
    answer(at, "risk_of_harm", "yes")
    g = safety_guidance(KB)
    assert RB.safety.emergency.guidance[0] in at.error[0].value
    # it is the first thing on the page, before the title
    assert at.main[0].type == "error" and at.main[0].value == at.error[0].value
    md = texts(at.markdown)
    assert g.steps[0] in md
    assert "Recommended: Counselling referral" in at.success[0].value


# --------------------------------------------------------------------------- what-if


def test_what_if_panel_shows_the_changed_result_beside_the_current_one():
    answers = CASES["call-centre"].answers
    at = new_app()
    drive(at, answers)
    at.selectbox(key="diag_whatif_q").set_value("risk_of_harm").run()
    at.selectbox(key="diag_whatif_v_risk_of_harm").set_value("yes").run()
    assert not at.exception
    md = texts(at.markdown)
    assert "### Now" in md and "### What if" in md
    assert "The result changes:" in md and "Counselling referral" in md
    successes = [s.value for s in at.success]
    assert any("Work-system fix" in s for s in successes) and any("Counselling referral" in s for s in successes)
    at.selectbox(key="diag_whatif_q").set_value("other_obstacles").run()
    at.selectbox(key="diag_whatif_v_other_obstacles").set_value("yes").run()
    assert "The primary recommendation stays the same." in texts(at.markdown)
    at.button(key="diag_whatif_apply").click().run()
    assert at.session_state["answers"]["other_obstacles"] == "yes"


# --------------------------------------------------------------------------- share and reopen


def test_upload_of_a_malformed_file_names_the_problem_and_keeps_the_answers():
    at = new_app()
    answer(at, "concern", "shortfall")
    at.file_uploader(key="upload").set_value(("broken.yaml", b"answers: {gap_defined: [yes", "application/x-yaml"))
    at.run()
    assert not at.exception
    msg = texts(at.error)
    assert "broken.yaml" in msg and "not valid YAML or JSON" in msg and "unchanged" in msg
    assert at.session_state["answers"] == {"concern": "shortfall"}
    assert shown_question(at) == "risk_of_harm"


def test_upload_without_answers_and_with_bad_values():
    at = new_app()
    at.file_uploader(key="upload").set_value(("list.json", b"[1, 2]", "application/json"))
    at.run()
    assert "expected a mapping" in texts(at.error)
    bad = dump_answers({"gap_defined": "yes", "worth_closing": "maybe"}).replace("answers:", "answers:\n  nonsense: 1")
    at.file_uploader(key="upload").set_value(("mixed.yaml", bad.encode(), "application/x-yaml"))
    at.run()
    assert "Opened mixed.yaml: 1 answers." in texts(at.success)
    warn = texts(at.warning)
    assert "worth_closing: 'maybe'" in warn and "unknown question id 'nonsense'" in warn
    assert at.session_state["answers"] == {"gap_defined": "yes"}


def test_a_downloaded_answers_file_reopens_the_case():
    case = CASES["call-centre"]
    at = new_app()
    drive(at, case.answers)
    at.text_input(key="case_title").input("Call centre team").run()
    dl = next(d for d in at.get("download_button") if "YAML" in d.proto.label)
    assert dl.proto.label == "Download answers (YAML)"
    text = dump_answers(at.session_state["answers"], title=at.session_state["case"]["title"])
    assert yaml.safe_load(text)["title"] == "Call centre team"

    other = new_app()
    other.file_uploader(key="upload").set_value(("call-centre.yaml", text.encode(), "application/x-yaml"))
    other.run()
    assert "Opened call-centre.yaml" in texts(other.success)
    assert "Recommended: Work-system fix" in other.success[-1].value or any(
        "Recommended: Work-system fix" in s.value for s in other.success
    )
    assert other.text_input(key="case_title").value == "Call centre team"


def test_the_page_address_reopens_a_case():
    case = CASES["call-centre"]
    at = AppTest.from_file(APP, default_timeout=30)
    at.query_params.update(case.answers)
    at.run()
    assert not at.exception
    assert any("Recommended: Work-system fix" in s.value for s in at.success)
    assert "Reopened a case from the link" in texts(at.info)


def test_a_bad_page_address_keeps_the_valid_answers():
    at = AppTest.from_file(APP, default_timeout=30)
    at.query_params.update({"concern": "shortfall", "risk_of_harm": "no", "worth_closing": "perhaps", "bogus": "1"})
    at.run()
    assert at.session_state["answers"] == {"concern": "shortfall", "risk_of_harm": "no"}
    warn = texts(at.warning)
    assert "worth_closing" in warn and "bogus" in warn
    assert shown_question(at) == "distress_signs"


def test_the_report_downloads_when_the_report_module_exists():
    pytest.importorskip("casework.report")
    at = new_app()
    drive(at, CASES["call-centre"].answers)
    at.selectbox(key="report_fmt").set_value("md").run()
    at.button(key="report_make").click().run()
    assert not at.exception
    assert not at.error, texts(at.error)
    labels = [d.proto.label for d in at.get("download_button")]
    assert "Download the report (Markdown)" in labels


# --------------------------------------------------------------------------- plain helpers


def test_filter_answers_keeps_the_valid_part():
    clean, problems = filter_answers({"gap_defined": "Yes", "aim": "nonsense", "zzz": "yes"}, RB)
    assert clean == {"gap_defined": "yes"}
    assert len(problems) == 2 and any("aim" in p for p in problems) and any("zzz" in p for p in problems)


def test_load_answers_upload_errors_name_the_file():
    with pytest.raises(AnswersFileError, match="x.yaml: the file is empty"):
        load_answers_upload(b"  ", "x.yaml", RB)
    with pytest.raises(AnswersFileError, match="x.yaml: not UTF-8"):
        load_answers_upload(b"\xff\xfe\xfa", "x.yaml", RB)
    loaded = load_answers_upload(b"title: T\nanswers: {gap_defined: no}\n", "x.yaml", RB)
    assert (loaded.title, loaded.answers, loaded.problems) == ("T", {"gap_defined": "no"}, [])


def test_answers_from_query_takes_the_last_of_repeated_values():
    clean, problems = answers_from_query({"gap_defined": ["no", "yes"], "embed": "true"}, RB)
    assert clean == {"gap_defined": "yes"} and problems == []


def test_remaining_estimate_follows_the_adaptive_path():
    assert remaining_estimate(RB, {}) > 10
    assert remaining_estimate(RB, {"concern": "shortfall", "risk_of_harm": "no", "distress_signs": "no",
                                   "gap_defined": "no"}) == 0  # the gate ends the questions
    full = dict(consult(CASES["call-centre"].answers).answers)
    assert remaining_estimate(RB, full) == 0
    part = dict(list(full.items())[:5])
    assert 0 < remaining_estimate(RB, part) < remaining_estimate(RB, {})


def test_safety_guidance_comes_from_the_knowledge_data():
    g = safety_guidance(KB)
    assert g.emergency == KB.processes["referral_process"].steps[0].text.strip()
    assert g.steps == list(KB.interventions["counselling_referral"].first_steps)


def test_download_file_names_are_safe():
    from app_pages.diagnose.diagnose import file_stem

    assert file_stem("Call centre / team A: Jo's case", "x") == "Call-centre-team-A-Jo-s-case"
    assert file_stem("../../etc/passwd", "x") == "etc-passwd"
    assert file_stem("  ", "triage-answers") == "triage-answers"
