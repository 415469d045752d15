"""Verification: the shipped rule base is clean, and each kind of defect is reported on a broken one."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rules.model import HERE
from rules.verify import verify


@pytest.mark.slow  # more than 5 s on a quiet machine
def test_shipped_rule_base_has_no_errors(rb):
    report = verify()
    assert report["errors"] == []
    # the whole question tree was enumerated, not sampled
    assert report["tree"]["exhaustive"] is True and report["tree"]["random_paths"] == 0
    assert report["tree"]["paths"] > 1_000_000 and report["tree"]["gap_paths"] == report["tree"]["conflict_paths"] == 0
    assert not any(w["check"] == "tree" for w in report["warnings"])
    assert report["coverage"]["rules_exercised"] == report["coverage"]["rules"] == len(rb.rules)
    assert report["coverage"]["cases_matching_expected"] == report["coverage"]["cases"]


MINI = """
rules:
  - id: ROUTE-shortfall
    when: {answers: {concern: [shortfall]}}
    then: {finding: shortfall_route}
    rationale: A shortfall.
    sources: [mager-pipe-1997]
  - id: ROUTE-current
    when: {findings: [shortfall_route]}
    then: {finding: current_shortfall}
    rationale: A current shortfall.
    sources: [mager-pipe-1997]
  - id: MEN-other-routes
    when: {answers: {concern: [development, wellbeing, organisation, change, retention, conduct, dont_know]}}
    then: {support: {intervention: mentoring, cf: 0.5}}
    rationale: Every other route ends in mentoring here.
    sources: [study-unit]
  - id: GATE-gap-undefined
    when: {answers: {gap_defined: ["no"]}}
    then: {gate: gap_undefined}
    rationale: Define the gap first.
    sources: [mager-pipe-1997]
  - id: ENV-goal-conflict
    when: {answers: {targets_conflict: [conflicting]}}
    then: {finding: goal_conflict}
    rationale: Targets conflict.
    sources: [kerr-1975]
  - id: SYS-goal-conflict
    when: {findings: [goal_conflict]}
    then: {support: {intervention: work_system, cf: 0.8}}
    rationale: Fix the targets.
    sources: [kerr-1975]
  - id: COA-default
    when: {answers: {gap_defined: ["yes", partly, dont_know]}}
    then: {support: {intervention: coaching, cf: 0.5}}
    rationale: Coach by default.
    sources: [study-unit]
"""


def mini(tmp_path: Path, extra: str = "", replace: tuple[str, str] | None = None) -> dict:
    folder = tmp_path / "rules"
    folder.mkdir()
    shutil.copy(HERE / "vocabulary.yaml", folder / "vocabulary.yaml")
    text = MINI + extra
    if replace:
        text = text.replace(*replace)
    (folder / "mini.yaml").write_text(text)
    return verify(folder=folder)


def checks(report: dict, level: str = "errors") -> set[str]:
    return {e["check"] for e in report[level]}


def test_a_small_sound_rule_base_is_enumerated_whole(tmp_path):
    r = mini(tmp_path)
    assert r["tree"]["exhaustive"] is True
    assert "gap" not in checks(r) and "conflict" not in checks(r)
    # most questions are asked only when findings no rule of this mini base concludes
    assert "never_asked" in checks(r)


@pytest.mark.parametrize(
    "old, new, needle",
    [
        ("targets_conflict: [conflicting]", "no_such_question: [conflicting]", "unknown question id 'no_such_question'"),
        ("targets_conflict: [conflicting]", "targets_conflict: [furious]", "'furious' is not one of"),
        ("findings: [goal_conflict]", "findings: [no_such_finding]", "unknown finding 'no_such_finding'"),
        ("intervention: work_system", "intervention: hypnosis", "unknown intervention 'hypnosis'"),
        ("sources: [study-unit]", "sources: [nobody-2099]", "unknown source key 'nobody-2099'"),
    ],
)
def test_dangling_ids(tmp_path, old, new, needle):
    r = mini(tmp_path, replace=(old, new))
    assert any(needle in e["message"] for e in r["errors"] if e["check"] == "dangling")


def test_rule_that_can_never_fire(tmp_path):
    r = mini(tmp_path, extra="""
  - id: SYS-contradiction
    when: {findings: [goal_conflict], absent: [goal_conflict]}
    then: {support: {intervention: work_system, cf: 0.2}}
    rationale: Impossible.
    sources: [kerr-1975]
  - id: SYS-needs-missing-finding
    when: {findings: [structural_cause]}
    then: {support: {intervention: work_system, cf: 0.2}}
    rationale: Nothing concludes structural_cause here.
    sources: [kerr-1975]
  - id: ENV-path-impossible
    when: {answers: {gap_defined: ["no"], targets_conflict: [conflicting]}}
    then: {finding: no_feedback}
    rationale: targets_conflict is never asked once the gap is undefined.
    sources: [kerr-1975]
""")
    never = {e.get("rule") for e in r["errors"] if e["check"] == "never_fires"}
    assert {"SYS-contradiction", "SYS-needs-missing-finding", "ENV-path-impossible"} <= never


def test_gap_is_found(tmp_path):
    # without the default coaching rule, a path with no conflicting targets reaches nothing
    r = mini(tmp_path, replace=("cf: 0.5", "cf: 0.1"))
    gaps = [e for e in r["errors"] if e["check"] == "gap"]
    assert gaps and all("dont_know" not in e["path"].values() for e in gaps)


def test_conflict_is_found(tmp_path):
    r = mini(tmp_path, extra="""
  - id: COA-not-lead
    when: {answers: {gap_defined: ["yes", partly, dont_know]}}
    then: {not_primary: [coaching]}
    rationale: Never lead with coaching.
    sources: [study-unit]
""")
    conflicts = [e for e in r["errors"] if e["check"] == "conflict"]
    assert conflicts and "COA-not-lead" in conflicts[0]["rules"]
    r2 = mini(tmp_path / "b", extra="""
  - id: COA-against-default
    when: {answers: {gap_defined: ["yes", partly, dont_know]}}
    then: {support: {intervention: coaching, cf: -0.5}}
    rationale: Opposes the default.
    sources: [study-unit]
""") if (tmp_path / "b").mkdir() is None else None
    assert any(e["check"] == "conflict" and "same conditions" in e["message"] for e in r2["errors"])


def test_missing_rationale_and_source(tmp_path):
    r = mini(tmp_path, replace=("    rationale: Coach by default.\n    sources: [study-unit]\n", "    rationale: ''\n"))
    assert "rationale" in checks(r)
    assert "sources" in checks(r, "warnings")


def test_a_tree_too_large_for_the_budget_falls_back_to_sampling_and_says_so(tmp_path):
    folder = tmp_path / "rules"
    folder.mkdir()
    shutil.copy(HERE / "vocabulary.yaml", folder / "vocabulary.yaml")
    (folder / "mini.yaml").write_text(MINI.replace("cf: 0.5", "cf: 0.1"))
    r = verify(folder=folder, max_states=3, samples=200)
    assert r["tree"]["exhaustive"] is False and r["tree"]["random_paths"] == 200
    assert any(w["check"] == "tree" and "too large" in w["message"] for w in r["warnings"])
    assert "gap" in checks(r)  # the random paths still find the gap


def test_unused_question_and_coverage_warnings(tmp_path):
    r = mini(tmp_path, extra="""
  - id: COA-aim-unknown
    when: {answers: {aim: [dont_know]}}
    then: {support: {intervention: coaching, cf: 0.1}}
    rationale: No worked case leaves the aim unknown.
    sources: [study-unit]
""")
    assert "unused_question" in checks(r, "warnings")
    assert r["coverage"]["not_exercised"] == ["COA-aim-unknown"]
    assert any(w["check"] == "coverage" and w["rule"] == "COA-aim-unknown" for w in r["warnings"])
