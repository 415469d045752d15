"""A row that is not finished lists every answer it still needs (``missing``), and blank cells can be
taken as "don't know" (``empty_as_dont_know``) in the batch, ``triage_frame``, ``triage batch`` and the
Batch page."""

from __future__ import annotations

import csv
import io
import random

import pandas as pd
from page_util import page_app

from casework import batch
from casework.cli import main
from knowledge.schema import DONT_KNOW
from rules.consult import consult
from rules.model import load_rulebase

RB = load_rulebase()


def half_known_rows(n: int, seed: int) -> list[dict[str, str]]:
    """Rows answering a random prefix of the adaptive path (a half-filled sheet)."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        answers: dict[str, str] = {}
        stop_after = rng.randint(0, 6)
        while len(answers) < stop_after:
            c = consult(answers, RB)
            if c.status != "needs_answer":
                break
            answers[c.next_question.id] = rng.choice(c.next_question.option_values())
        rows.append({"case_id": f"c{i}", **answers})
    return rows


ROWS = half_known_rows(40, seed=3)


def test_missing_lists_every_open_question_of_an_unfinished_row():
    results = batch.triage_rows(ROWS)
    unfinished = [(row, r) for row, r in zip(ROWS, results, strict=True) if r["status"] == "needs_answer"]
    assert len(unfinished) >= 10
    several = 0
    for row, r in unfinished:
        missing = r["missing"].split(";")
        answers = {k: v for k, v in row.items() if k != "case_id"}
        c = consult(answers, RB)
        assert missing[0] == c.next_question.id  # the next question comes first
        assert not set(missing) & set(answers)
        # answering exactly the listed questions "don't know" finishes the row: none is left out
        done = consult({**answers, **dict.fromkeys(missing, DONT_KNOW)}, RB)
        assert done.status != "needs_answer", (answers, missing)
        assert set(missing) <= set(done.answers)
        several += len(missing) > 1
        if len(missing) > 1:
            assert f"{len(missing) - 1} more open on this row's path" in r["reason"]
            assert f"about {len(missing)} more questions" in r["headline"]
    assert several  # the point: a row short of several answers says so, not "one more answer"
    for r in results:
        if r["status"] != "needs_answer":
            assert r["missing"] == ""
            assert "One more answer" not in r["headline"]


def test_empty_as_dont_know_finishes_every_row_as_consult_would():
    results = batch.triage_rows(ROWS, empty_as_dont_know=True)
    for row, r in zip(ROWS, results, strict=True):
        assert r["status"] in ("complete", "cannot_recommend") and r["missing"] == ""
        answers = {k: v for k, v in row.items() if k != "case_id"}
        filled = dict(answers)
        while (c := consult(filled, RB)).status == "needs_answer":
            filled[c.next_question.id] = DONT_KNOW
        assert r["status"] == c.status and r["primary"] == (c.primary or "")
        assert r["headline"] == " ".join(c.to_dict(RB)["summary"]["headline"].split())
    # without the flag the same rows are not all finished
    assert any(r["status"] == "needs_answer" for r in batch.triage_rows(ROWS))


def test_triage_frame_missing_and_empty_as_dont_know():
    df = pd.DataFrame(ROWS).set_index("case_id")
    out = df.pipe(batch.triage_frame)
    rows = batch.triage_rows(ROWS)
    assert [";".join(m) for m in out["missing"]] == [r["missing"] for r in rows]
    filled = batch.triage_frame(df, empty_as_dont_know=True)
    assert set(filled["status"]) <= {"complete", "cannot_recommend"}
    assert all(m == [] for m in filled["missing"])
    assert list(filled["primary"].fillna("")) == [r["primary"] for r in batch.triage_rows(ROWS, empty_as_dont_know=True)]


def test_cli_batch_empty_as_dont_know(tmp_path, capsys):
    src = tmp_path / "half.csv"
    src.write_bytes(batch.rows_to_csv(ROWS))
    plain, filled = tmp_path / "plain.csv", tmp_path / "filled.csv"
    assert main(["batch", str(src), "-o", str(plain)]) == 0
    assert main(["batch", str(src), "-o", str(filled), "--empty-as-dont-know"]) == 0
    capsys.readouterr()

    def read(p):
        return list(csv.DictReader(io.StringIO(p.read_text(encoding="utf-8-sig"))))

    a, b = read(plain), read(filled)
    assert any(r["status"] == "needs_answer" and ";" in r["missing"] for r in a)
    assert {r["status"] for r in b} <= {"complete", "cannot_recommend"}
    assert [r["status"] for r in b] == [r["status"] for r in batch.triage_rows(ROWS, empty_as_dont_know=True)]


def test_batch_page_checkbox_and_rows_needing_answers():
    at = page_app("batch")
    at.run()
    at.file_uploader[0].upload("half.csv", batch.rows_to_csv(ROWS), "text/csv")
    at.run()
    assert not at.exception
    at.radio(key="batch_show").set_value("rows needing answers").run()
    shown = at.dataframe[1].value
    expect = [r for r in batch.triage_rows(ROWS) if r["status"] == "needs_answer"]
    assert list(shown["case_id"]) == [r["case_id"] for r in expect]
    assert list(shown["missing"]) == [r["missing"] for r in expect]
    # ticking the box triages the same file again with blanks as "don't know"
    at.checkbox(key="batch_dont_know").check().run()
    assert not at.exception
    assert any("taken as \"don't know\"" in c.value for c in at.caption)
    at.radio(key="batch_show").set_value("all rows").run()
    statuses = set(at.dataframe[1].value["status"])
    assert statuses <= {"complete", "cannot_recommend"}


def test_batch_page_safety_banner_speaks_of_the_batch_and_counts_one_row():
    rows = [{"case_id": "a", "concern": "shortfall", "gap_defined": "yes", "risk_of_harm": "yes"},
            {"case_id": "b", "concern": "shortfall", "gap_defined": "maybe"}]
    at = page_app("batch")
    at.run()
    at.file_uploader[0].upload("two.csv", batch.rows_to_csv(rows), "text/csv")
    at.run()
    (banner,) = at.error
    assert banner.value.startswith("**1 row flags a possible risk of harm**")
    assert "this plan" not in banner.value and "rest of the batch" in banner.value
    assert any(e.label.startswith("Problems in 1 row (this row was not triaged)") for e in at.expander)
