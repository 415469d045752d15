"""The practice set and practice sessions: every practice case gives its expected result through
consult() (as the worked cases do), the set is kept apart from the worked cases, bad practice data is
named, one answer per case, the score, the confused pairs, the drill round, the feedback, and
``triage practice`` in a real process."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from test_worked_cases import test_worked_case_gives_expected_result as check_expected

from casework.cli import main
from casework.practice import (
    PracticeError,
    PracticeSession,
    answer_of,
    check_options,
    feedback,
    right_answers,
)
from knowledge.loader import KnowledgeError
from knowledge.practice_set import ANSWERS, FOLDER, load_practice, load_practice_from
from knowledge.schema import INTERVENTION_IDS
from rules.consult import consult

PRACTICE = load_practice()
ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("case", PRACTICE.cases, ids=[c.id for c in PRACTICE.cases])
def test_practice_case_gives_expected_result(case, rb):
    check_expected(case, rb)  # the worked cases' check: status, primary, gate, lean, secondary, ruled out, path
    c = consult(case.answers, rb)
    assert answer_of(c) == case.answer
    if case.settling_check:
        assert case.settling_check in [x["question"] for x in c.checks(rb)]


def test_the_set_is_big_enough_and_apart_from_the_worked_cases(kb):
    answers = Counter(c.answer for c in PRACTICE.cases)
    assert len(PRACTICE.cases) >= 24
    for iv in INTERVENTION_IDS:
        assert answers[iv] >= 4, iv
    assert answers["check_first"] >= 1 and answers["conduct_matter"] >= 1
    worked_ids = {c.id for c in kb.cases}
    worked_text = {" ".join(c.narrative.split()) for c in kb.cases}
    for c in PRACTICE.cases:
        assert c.id not in worked_ids
        assert " ".join(c.narrative.split()) not in worked_text
    # every distinction is exercised by some case, and every pair names known answers
    assert {c.distinction for c in PRACTICE.cases} == set(PRACTICE.distinctions)


def _copy(tmp_path: Path) -> Path:
    dst = tmp_path / "practice"
    shutil.copytree(FOLDER, dst)
    return dst


def test_bad_practice_data_is_named(tmp_path, kb):
    folder = _copy(tmp_path)
    f = folder / "cases" / "quotes-on-busy-days.yaml"
    f.write_text(f.read_text().replace("can_do_it: 'yes'", "can_do_it: sometimes"))
    with pytest.raises(KnowledgeError, match=r"quotes-on-busy-days.yaml: answers.can_do_it: 'sometimes'"):
        load_practice_from(folder, kb)
    folder = _copy(tmp_path / "b")
    f = folder / "cases" / "quotes-on-busy-days.yaml"
    f.write_text(f.read_text().replace("distinction: training_vs_coaching", "distinction: nonsense"))
    with pytest.raises(KnowledgeError, match="unknown distinction 'nonsense'"):
        load_practice_from(folder, kb)
    folder = _copy(tmp_path / "c")
    (folder / "cases" / "dup.yaml").write_text(
        (folder / "cases" / "quotes-on-busy-days.yaml").read_text().replace("id: quotes-on-busy-days", "id: call-centre"))
    with pytest.raises(KnowledgeError, match="worked case's id"):
        load_practice_from(folder, kb)


# --------------------------------------------------------------------------- sessions


@pytest.fixture(scope="module")
def answers(rb):
    return right_answers(PRACTICE, rb)


def test_a_session_takes_every_case_once_in_a_shuffled_order():
    a = PracticeSession.start(PRACTICE, seed=1)
    b = PracticeSession.start(PRACTICE, seed=2)
    assert sorted(a.round.order) == sorted(c.id for c in PRACTICE.cases)
    assert a.round.order != b.round.order
    assert PracticeSession.start(PRACTICE, seed=1).round.order == a.round.order


def test_one_answer_per_case_score_and_confused_pairs(answers):
    sess = PracticeSession.start(PRACTICE, seed=3)
    first = PRACTICE.case(sess.round.current)
    right = answers[first.id]
    wrong = next(a for a in ANSWERS if a != right)
    att = sess.answer(first, wrong, right)
    assert not att.right and sess.round.score == (0, 1)
    with pytest.raises(PracticeError, match="already answered"):
        sess.answer(first, right, right)
    with pytest.raises(PracticeError, match="unknown answer"):
        sess.answer(PRACTICE.case(sess.round.current), "magic", right)
    second = PRACTICE.case(sess.round.current)
    assert second.id != first.id
    sess.answer(second, answers[second.id], answers[second.id])
    assert sess.score() == (1, 2)
    # the same pair mixed up the other way round counts as the same pair
    third = PRACTICE.case(sess.round.current)
    sess.answer(third, "coaching" if answers[third.id] != "coaching" else "mentoring", answers[third.id])
    pairs = dict(sess.confused_pairs())
    assert sum(pairs.values()) == 2
    # kept as plain data between page runs
    again = PracticeSession.from_dict(sess.to_dict())
    assert again.score() == sess.score() and again.confused_pairs() == sess.confused_pairs()


def test_a_drill_round_takes_cases_of_the_confused_pair_missed_ones_first(answers):
    sess = PracticeSession.start(PRACTICE, seed=4)
    with pytest.raises(PracticeError, match="no pairs to drill"):
        sess.start_drill(PRACTICE, answers)
    mentoring_case = next(c for c in PRACTICE.cases if answers[c.id] == "mentoring")
    sess.round.order.remove(mentoring_case.id)
    sess.round.order.insert(0, mentoring_case.id)
    sess.answer(mentoring_case, "coaching", "mentoring")
    r = sess.start_drill(PRACTICE, answers)
    assert r.kind == "drill" and r.pairs == [("coaching", "mentoring")]
    assert mentoring_case.id in r.order
    assert {answers[cid] for cid in r.order} <= {"coaching", "mentoring"}
    assert len(r.order) == min(8, sum(1 for v in answers.values() if v in ("coaching", "mentoring")))
    # the drill round is answered afresh: one answer per case in this round
    sess.answer(mentoring_case, "mentoring", "mentoring")
    assert sess.round.score == (1, 1) and sess.score() == (1, 2)


def test_feedback_explains_with_the_deciding_fact_and_the_distinction(rb, kb):
    case = PRACTICE.case("quotes-on-busy-days")
    fb = feedback(case, "training", PRACTICE, rb)
    assert not fb["right"] and fb["right_answer"] == "coaching"
    assert fb["headline"] == "Recommended: Coaching" and fb["because"]
    assert fb["deciding_fact"] == " ".join(case.deciding_fact.split())
    d = PRACTICE.distinctions["training_vs_coaching"]
    assert fb["distinction"]["title"] == d.title
    assert fb["distinction"]["references"] == [kb.cite(k) for k in d.sources]
    assert any("training will not fix" in w for w in fb["why_not_pick"])  # the rule's own reason
    # a thin case: the checks that would settle it, and the student's named check marked
    thin = PRACTICE.case("late-minutes-nothing-checked")
    assert "peers_perform" in check_options(thin, kb) and "can_do_it" in check_options(thin, kb)
    fb = feedback(thin, "check_first", PRACTICE, rb, check="peers_perform")
    assert fb["right"] and fb["check_right"] is True and fb["checks"]
    fb = feedback(thin, "check_first", PRACTICE, rb, check="can_do_it")  # already known in the case
    assert fb["check_right"] is False


# --------------------------------------------------------------------------- the command line


def test_practice_list_prints_the_ids(capsys):
    assert main(["practice", "--list"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines() == [c.id for c in PRACTICE.cases]


def test_practice_unknown_case_is_named(capsys):
    assert main(["practice", "--cases", "quotes-on-busy-days,nope"]) == 2
    assert "unknown practice case(s): nope" in capsys.readouterr().err


def test_practice_in_a_real_process():
    # two cases: a wrong answer (work-system fix for a coaching case), then "check first" with its check
    thin = PRACTICE.case("late-minutes-nothing-checked")
    check_no = check_options(thin, load_practice_kb()).index("peers_perform") + 1
    p = subprocess.run(
        [sys.executable, "-m", "casework.cli", "practice", "--cases",
         "quotes-on-busy-days,late-minutes-nothing-checked"],
        input=f"6\n{ANSWERS.index('check_first') + 1}\n{check_no}\ny\n1\nquit\n",
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )
    assert p.returncode == 0, p.stderr
    out = p.stdout
    assert "NOT THIS TIME: you chose Work-system fix; the tool says Coaching." in out
    assert "The distinction: Training or coaching." in out
    assert "RIGHT: Check first." in out and "Your check would settle it." in out
    assert "Score: 1 of 2 right." in out
    assert "Coaching and Work-system fix: 1" in out
    assert "Drill round:" in out  # the drill started, and "quit" ended it with the score


def load_practice_kb():
    from knowledge.loader import load_knowledge

    return load_knowledge()
