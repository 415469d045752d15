"""The exhaustive enumeration of the question tree (rules.tree) against a path-by-path walk.

The enumeration expands each distinct state once. These tests check that merging states hides
nothing: on small rule bases it finds exactly what walking every path finds, and on the shipped rule
base it finds defects planted deep in the tree, each on a path that really shows the defect.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from test_verify import MINI

import rules.tree as tree_mod
from knowledge.loader import load_knowledge
from rules.consult import consult
from rules.evaluate import Compiled
from rules.model import HERE, RULE_FILES, load_rulebase_from
from rules.settle import settle
from rules.tree import TreeEnumerator
from rules.verify import option_classes


def walk_every_path(rb, given: dict[str, str] | None = None) -> dict:
    """Every complete path of the tree (of the branch ``given`` selects), one by one: rules fired,
    questions asked, gaps, conflicts."""
    given = given or {}
    comp = Compiled(rb)
    classes = option_classes(rb)
    out = {"fired": set(), "asked": set(), "gaps": [], "conflicts": [], "leaves": 0}

    def visit(accepted: dict, path: list, dk: bool) -> None:
        w = comp.walk(accepted, settle_stop=False)  # the whole tree: the enumeration does not stop early
        if w.next_question is None:
            out["leaves"] += 1
            fired, _ = comp.fire(w.accepted)
            out["fired"].update(fired)
            st = settle(rb, fired, w.accepted)
            supported = [iv for iv, cf in st.scores.items() if round(cf, 9) >= rb.settlement.primary_threshold]
            barred = {e.intervention for e in st.exclusions}
            if st.gate == "check_first" and set(supported) <= barred:  # nothing may lead
                if supported:
                    out["conflicts"].append(path)
                elif not dk:
                    out["gaps"].append(path)
            return
        q = w.next_question
        out["asked"].add(q)
        for value, dk_only in [(given[q], given[q] == "dont_know")] if q in given else classes[q]:
            visit({**accepted, q: value}, [*path, (q, value)], dk or dk_only)

    visit({}, [], False)
    return out


def rule_base(tmp_path: Path, text: str):
    folder = tmp_path / "rules"
    folder.mkdir(exist_ok=True)
    shutil.copy(HERE / "vocabulary.yaml", folder / "vocabulary.yaml")
    (folder / "mini.yaml").write_text(text)
    return load_rulebase_from(folder, load_knowledge(), ("mini.yaml",))


EXTRA = {
    "sound": "",
    "gap": None,  # MINI with the default coaching rule weakened below the threshold
    # paths that differ only in the evidence gathered so far: merging them would hide the gap
    "evidence": None,
    "conflict": """
  - id: COA-not-lead
    when: {answers: {gap_defined: ["yes", partly, dont_know]}}
    then: {not_primary: [coaching]}
    rationale: Never lead with coaching.
    sources: [study-unit]
""",
    "absent-and-kinds": """
  - id: SYS-only-without-conflict
    when: {answers: {worth_closing: ["yes"]}, absent: [goal_conflict]}
    then: {support: {intervention: work_system, cf: -0.6}}
    rationale: Tests an absence, so it is only decided at the end of a path.
    sources: [kerr-1975]
  - id: COA-not-lead-env
    when: {any_finding_kinds: [environment], answers: {aim: [current_gap]}}
    then: {not_primary: [coaching]}
    rationale: Tests a kind.
    sources: [kerr-1975]
  - id: ENV-no-feedback
    when: {answers: {feedback_given: ["no"]}}
    then: {finding: no_feedback}
    rationale: No feedback.
    sources: [mager-pipe-1997]
  - id: SYS-feedback
    when: {findings: [no_feedback], answers: {aim: [current_gap, both]}}
    then: {support: {intervention: work_system, cf: 0.4}}
    rationale: Needs a finding and an answer together.
    sources: [mager-pipe-1997]
""",
    # what must be remembered between questions, one thing at a time
    "early-bar": """
  - id: COA-not-lead-unclear
    when: {answers: {expectations_clear: ["no"]}}
    then: {not_primary: [coaching]}
    rationale: A bar decided early.
    sources: [mager-pipe-1997]
""",
    "undecided-rule": """
  - id: COA-not-lead-clear-able
    when: {answers: {expectations_clear: ["yes"], can_do_it: ["yes"]}}
    then: {not_primary: [coaching]}
    rationale: Undecided until the second answer.
    sources: [mager-pipe-1997]
""",
    "kind": """
  - id: ENV-no-feedback
    when: {answers: {feedback_given: ["no"]}}
    then: {finding: no_feedback}
    rationale: No feedback.
    sources: [mager-pipe-1997]
  - id: COA-not-lead-env-able
    when: {any_finding_kinds: [environment], answers: {can_do_it: ["yes"]}}
    then: {not_primary: [coaching]}
    rationale: A kind found early, tested with a later answer.
    sources: [kerr-1975]
""",
    "finding": """
  - id: SHR-few-succeed
    when: {answers: {peers_perform: [few_or_none]}}
    then: {finding: shared_shortfall}
    rationale: Few succeed.
    sources: [deming-1986]
  - id: SHR-organisation
    when: {answers: {people_affected: [organisation]}}
    then: {finding: shared_shortfall}
    rationale: A second, later way to the same finding.
    sources: [deming-1986]
  - id: DEV-not-lead-two-findings
    when: {findings: [shared_shortfall, goal_conflict]}
    then: {not_primary: [coaching, work_system]}
    rationale: Two findings far apart.
    sources: [kerr-1975]
""",
}


@pytest.mark.parametrize("variant", sorted(EXTRA))
def test_enumeration_matches_walking_every_path(tmp_path, monkeypatch, variant):
    monkeypatch.setattr(tree_mod, "MAX_EXAMPLES", 10**9)
    text = MINI.replace("cf: 0.5", "cf: 0.1") if EXTRA[variant] is None else MINI + EXTRA[variant]
    if variant == "evidence":
        text += """
  - id: COA-clear
    when: {answers: {expectations_clear: ["yes"]}}
    then: {support: {intervention: coaching, cf: 0.3}}
    rationale: Enough with the default.
    sources: [study-unit]
  - id: SYS-unclear
    when: {answers: {expectations_clear: ["no"]}}
    then: {support: {intervention: work_system, cf: 0.3}}
    rationale: Enough alone.
    sources: [mager-pipe-1997]
"""
    rb = rule_base(tmp_path, text)
    slow = walk_every_path(rb)
    fast = TreeEnumerator(rb, option_classes(rb)).run()
    assert fast.complete
    assert fast.fired == slow["fired"]
    assert fast.asked == slow["asked"]
    # the paths counted through merged states are exactly the paths walked one by one
    assert (fast.paths, fast.gap_paths, fast.conflict_paths) == (
        slow["leaves"], len(slow["gaps"]), len(slow["conflicts"]))
    # and every example path reported is one the walk also finds defective
    assert all(g in slow["gaps"] for g in fast.gaps)
    assert all(c["path"] in slow["conflicts"] for c in fast.conflicts)
    if variant in ("gap", "evidence"):
        assert fast.gaps
    if variant == "conflict":
        assert fast.conflicts


@pytest.mark.parametrize("given", [{"concern": "shortfall"}, {"gap_defined": "dont_know"},
                                   {"concern": "shortfall", "peers_perform": "few_or_none"}])
def test_a_branch_is_exactly_the_paths_its_answers_select(tmp_path, monkeypatch, given):
    """``run(given=...)``: where the walk asks a question given in advance, only that answer is
    followed; the counts are those of walking every path of that branch one by one."""
    monkeypatch.setattr(tree_mod, "MAX_EXAMPLES", 10**9)
    rb = rule_base(tmp_path, MINI + EXTRA["finding"] + EXTRA["conflict"])
    slow = walk_every_path(rb, given)
    fast = TreeEnumerator(rb, option_classes(rb)).run(given=given)
    whole = TreeEnumerator(rb, option_classes(rb)).run()
    assert fast.complete and (fast.fired, fast.asked) == (slow["fired"], slow["asked"])
    assert (fast.paths, fast.gap_paths, fast.conflict_paths) == (
        slow["leaves"], len(slow["gaps"]), len(slow["conflicts"]))
    assert all(c["path"] in slow["conflicts"] for c in fast.conflicts)
    assert all(dict(c["path"]).get(q, v) == v for c in fast.conflicts for q, v in given.items())
    assert 0 < fast.paths < whole.paths and fast.conflict_paths <= whole.conflict_paths


def test_a_branch_with_an_unknown_question_or_answer_is_refused_by_name(tmp_path):
    rb = rule_base(tmp_path, MINI)
    with pytest.raises(ValueError, match="no question 'concerns'"):
        TreeEnumerator(rb, option_classes(rb)).run(given={"concerns": "shortfall"})
    with pytest.raises(ValueError, match="'short' is not an answer to 'concern'"):
        TreeEnumerator(rb, option_classes(rb)).run(given={"concern": "short"})


PLANTED = """
  - id: PLANT-bar-all
    when: {findings: [trained_before, role_model]}
    then: {not_primary: [coaching, mentoring, training, counselling_referral, consultancy, work_system]}
    rationale: Planted defect - bars every intervention on a deep, rare path.
    sources: [study-unit]
""" + "".join(
    f"""
  - id: PLANT-against-{iv.replace('_', '-')}
    when: {{findings: [done_before, leader_can_coach, individual_cause]}}
    then: {{support: {{intervention: {iv}, cf: -1.0}}}}
    rationale: Planted defect - leaves nothing supported on another deep path.
    sources: [study-unit]
"""
    for iv in ("coaching", "mentoring", "training", "counselling_referral", "consultancy", "work_system")
)


# The branches of the shipped tree where the planted rules can fire, each entered by its first answers
# (the whole shipped tree is enumerated by test_verify; a branch takes a fraction of the time)
PLANTED_GAPS = {"concern": "organisation"}
PLANTED_CONFLICTS = {"concern": "dont_know", "risk_of_harm": "no", "distress_signs": "no", "aim": "both",
                     "gap_defined": "yes", "people_affected": "one", "already_trained": "yes",
                     "role_model_available": "yes"}


@pytest.mark.slow  # more than 5 s on a quiet machine
def test_defects_planted_deep_in_the_shipped_tree_are_found(tmp_path):
    folder = tmp_path / "rules"
    shutil.copytree(HERE, folder, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    with (folder / "decisions.yaml").open("a") as fh:
        fh.write(PLANTED)
    rb = load_rulebase_from(folder, load_knowledge(), RULE_FILES)
    classes = option_classes(rb)
    with_gaps = TreeEnumerator(rb, classes).run(given=PLANTED_GAPS)
    with_conflicts = TreeEnumerator(rb, classes).run(given=PLANTED_CONFLICTS)
    assert with_gaps.complete and with_conflicts.complete
    assert with_gaps.gaps and with_conflicts.conflicts
    for path in with_gaps.gaps:
        c = consult(dict(path), rb)
        assert c.status == "cannot_recommend" and c.gate == "check_first" and c.lean is None
        assert not c.next_question
        assert {"done_before", "leader_can_coach", "individual_cause"} <= set(c.findings)
        assert "dont_know" not in dict(path).values()
    for conflict in with_conflicts.conflicts:
        c = consult(dict(conflict["path"]), rb)
        assert c.gate == "check_first" and c.lean is None and not c.next_question
        assert {"trained_before", "role_model"} <= set(c.findings)
        assert conflict["barred"] and all(c.settled.scores[iv] >= 0.25 for iv in conflict["barred"])
    # every planted rule is reachable, so the enumeration reports each as fired
    fired = with_gaps.fired | with_conflicts.fired
    assert {r for r in fired if r.startswith("PLANT-")} == {r.id for r in rb.rules if r.id.startswith("PLANT-")}


def test_budget_stops_the_enumeration_and_says_so(rb):
    found = TreeEnumerator(rb, option_classes(rb)).run(max_states=50)
    assert not found.complete and found.states == 50


def test_evidence_combines_the_same_in_any_order(rb):
    """settle() accumulates belief and disbelief apart (EMYCIN), so firing order cannot change a result;
    the enumeration relies on that to merge paths that gathered the same evidence in another order."""
    import random

    from rules.settle import accumulate, net_cf

    rnd = random.Random(5)
    support = [r.id for r in rb.rules if r.then.support]
    for _ in range(200):
        fired = rnd.sample(support, 6)
        base = settle(rb, fired, {})
        shuffled = settle(rb, rnd.sample(fired, len(fired)), {})
        assert shuffled.scores == pytest.approx(base.scores, abs=1e-12)
        assert (shuffled.primary, shuffled.status) == (base.primary, base.status)
    # two for, one against: (MB - MD) / (1 - min(MB, MD)) with MB = 0.5 + 0.4 x 0.5 = 0.7
    assert net_cf(accumulate(accumulate(0.0, 0.5), 0.4), accumulate(0.0, -0.3)) == pytest.approx(0.4 / 0.7)
