"""The knowledge base loads, is complete, and a malformed file is reported by file, entry and field."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from knowledge.loader import HERE, KnowledgeError, load_from, parse_yaml
from knowledge.schema import DONT_KNOW, INTERVENTION_IDS


def test_six_interventions_with_all_fields(kb):
    assert set(kb.interventions) == set(INTERVENTION_IDS)
    for iv in kb.interventions.values():
        assert iv.summary and iv.when_to_use and iv.when_not and iv.who_leads and iv.time_horizon
        assert len(iv.first_steps) >= 3
        assert all(k in kb.sources for k in iv.sources)


def test_comparison_tables(kb):
    assert [r.dimension for r in kb.coaching_vs_mentoring] == [
        "Focus", "Role", "Selection", "Source of influence", "Personal returns", "Arena"
    ]
    assert {s.service.lower() for s in kb.related_services} >= {"training", "counselling", "consultancy"}


def test_questions_are_plain_and_always_allow_dont_know(kb):
    assert 20 <= len(kb.questions) <= 45
    for q in kb.questions:
        assert DONT_KNOW in q.option_values()
        assert q.text.endswith("?"), q.id
        assert q.why and q.help
        assert all(v == v.lower() and " " not in v for v in q.option_values())


def test_required_sources_and_process_models(kb):
    for key in ["parsloe-1999", "clutterbuck-megginson-1999", "mager-pipe-1997", "gilbert-1978", "van-tiem-2012",
                "hullinger-digirolamo-2018", "schein-1999", "kram-1985", "kerr-1975", "cipd-coaching-mentoring"]:
        assert key in kb.sources
    assert len(kb.processes["events_of_instruction"].steps) == 8
    phases = [s.title.split(":")[0] for s in kb.processes["plan_implement_monitor"].steps]
    assert list(dict.fromkeys(phases)) == ["Plan", "Implement", "Monitor"]
    for sid in ["definitions", "what_coaches_and_mentors_do", "therapy_boundary", "when_to_use_which",
                "work_system_warning", "training_for_continuous_improvement", "ideas_and_commitment"]:
        assert sid in kb.sections


def test_worked_cases_cover_the_brief(kb):
    cases = kb.cases
    assert len(cases) >= 24
    by_primary = {iv: [c for c in cases if c.expected.primary == iv] for iv in INTERVENTION_IDS}
    assert all(len(v) >= 3 for v in by_primary.values()), {k: len(v) for k, v in by_primary.items()}
    cc = next(c for c in cases if c.id == "call-centre")
    assert cc.expected.primary == "work_system" and "coaching" in cc.expected.ruled_out
    assert len([c for c in cases if c.expected.status == "cannot_recommend"]) >= 2
    assert len([c for c in cases if "tricky" in c.tags]) >= 6


def _copy_knowledge(tmp_path: Path) -> Path:
    dst = tmp_path / "knowledge"
    shutil.copytree(HERE, dst, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return dst


def test_error_names_file_entry_and_field(tmp_path):
    folder = _copy_knowledge(tmp_path)
    path = folder / "questions.yaml"
    text = path.read_text()
    path.write_text(text.replace("  - id: aim\n    stage: gap\n", "  - id: aim\n    stage: gap\n    colour: blue\n", 1))
    with pytest.raises(KnowledgeError) as err:
        load_from(folder)
    msg = str(err.value)
    assert "questions.yaml" in msg and "id=aim" in msg and "colour" in msg


def test_missing_dont_know_is_reported(tmp_path):
    folder = _copy_knowledge(tmp_path)
    path = folder / "questions.yaml"
    text = path.read_text()
    start = text.index("  - id: risk_of_harm")
    block_end = text.index("  - id: distress_signs")
    block = text[start:block_end].replace('      - {value: dont_know, label: "Not sure"}\n', "")
    path.write_text(text[:start] + block + text[block_end:])
    with pytest.raises(KnowledgeError, match=r"id=risk_of_harm.*dont_know"):
        load_from(folder)


def test_case_with_unknown_question_is_reported(tmp_path):
    folder = _copy_knowledge(tmp_path)
    (folder / "cases" / "zz-bad.yaml").write_text(
        "id: zz-bad\ntitle: t\nnarrative: n\nanswers: {no_such_question: 'yes'}\nexpected: {primary: null, status: cannot_recommend}\n"
    )
    with pytest.raises(KnowledgeError, match="zz-bad.yaml.*no_such_question"):
        load_from(folder)


def test_unknown_source_key_is_reported(tmp_path):
    folder = _copy_knowledge(tmp_path)
    path = folder / "interventions.yaml"
    path.write_text(path.read_text().replace("mager-pipe-1997", "mager-1900", 1))
    with pytest.raises(KnowledgeError, match="mager-1900"):
        load_from(folder)


def test_strict_yaml_keeps_yes_no_as_text_and_refuses_aliases():
    assert parse_yaml("a: yes\nb: no\nc: true") == {"a": "yes", "b": "no", "c": True}
    with pytest.raises(Exception, match="aliases"):
        parse_yaml("a: &x [1, 2]\nb: *x\n")
