"""Batch triage (casework.batch, casework.cli.batch): reading, validation, results equal to consult(),
spreadsheet safety, summary, template, command line."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile

import pytest
from openpyxl import Workbook, load_workbook

from casework import batch
from casework.cli import main as cli_main
from knowledge.loader import load_knowledge
from rules.consult import consult
from rules.model import load_rulebase

RB = load_rulebase()
QIDS = [q.id for q in RB.knowledge.questions]


def answers_of(row: dict) -> dict:
    return {k: v for k, v in row.items() if k in RB.knowledge.question_index and v not in ("", None)}


def expected(answers: dict, c=None) -> dict:
    """What a batch row must say, from consult() on the same answers (``c``, when already consulted)."""
    c = c or consult(answers)
    d = c.to_dict()
    sm = d["summary"]
    return {
        "status": c.status,
        "primary": c.primary or "",
        "primary_label": RB.knowledge.interventions[c.primary].name if c.primary else "",
        "confidence": "" if c.confidence is None else f"{round(c.confidence * 100)}%",
        "confidence_band": d["primary"]["confidence_band"] if c.primary else "",
        "secondary": ";".join(c.secondary),
        "ruled_out": ";".join(r["intervention"] for r in c.ruled_out()),
        "cannot_lead": ";".join(r["intervention"] for r in c.cannot_lead()),
        "headline": sm["headline"],
        "because": " ".join(" ".join(sm["because"]).split()),
        "next_step": " ".join(sm["next_step"].split()),
        "close_call": " ".join(sm["decides"].split()) if sm["close_call"] else "",
        "safety_alert": "yes" if c.safety_alert else "",
        "errors": "",
    }


def check_row(row: dict, answers: dict) -> None:
    """The batch row says what consult() says, with a one-line reason taken from the data."""
    c = consult(answers)
    want = expected(answers, c)
    assert {k: row[k] for k in want} == want
    if c.status == "needs_answer":
        assert c.next_question.id in row["reason"]
    elif c.gate == "check_first":
        assert row["reason"].startswith(RB.gates[c.gate].label)
        assert all(x["what"] in row["reason"] for x in c.checks(RB))
    elif c.status == "cannot_recommend":
        assert " ".join(RB.gates[c.gate].advice.split()) in row["reason"]
    else:
        supporting = {
            " ".join(RB.by_id[r].rationale.split())
            for r in c.fired
            if RB.by_id[r].then.support and RB.by_id[r].then.support.intervention == c.primary
        }
        assert row["reason"] in supporting
    assert "\n" not in row["reason"]


def csv_bytes(rows: list[list[str]], encoding: str = "utf-8", delimiter: str = ",") -> bytes:
    buf = io.StringIO(newline="")
    csv.writer(buf, delimiter=delimiter).writerows(rows)
    return buf.getvalue().encode(encoding)


def read_csv_out(data: bytes) -> list[dict]:
    text = data.decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text, newline="")))


# --------------------------------------------------------------------------- equal to consult()


def test_worked_cases_equal_consult_and_their_expected_result():
    cases = load_knowledge().cases
    if not cases:
        pytest.skip("no worked cases yet")
    rows = batch.worked_case_rows()
    results = batch.triage_rows(rows)
    for case, row in zip(cases, results, strict=True):
        check_row(row, case.answers)
        assert row["status"] == case.expected.status
        assert row["primary"] == (case.expected.primary or "")


@pytest.mark.slow  # more than 5 s on a quiet machine
def test_random_rows_equal_consult_through_a_csv_file():
    rows = batch.sample_rows(1000, seed=11, random_share=0.3)
    read, columns, messages = batch.read_table(batch.rows_to_csv(rows), "random.csv")
    assert messages == []
    results = batch.triage_rows(read)
    assert len(results) == 1000
    assert {r["status"] for r in results} == {"complete", "needs_answer", "cannot_recommend"}
    for src, row in zip(rows, results, strict=True):
        check_row(row, answers_of(src))
        assert row["case_id"] == src["case_id"] and row["team"] == src["team"]


def test_spelling_variants_are_read_as_consult_reads_them():
    base = batch.sample_rows(40, seed=3, random_share=0.0, extra=False)
    variants = []
    for i, row in enumerate(base):
        v = {}
        for k, val in row.items():
            if val == "yes" and i % 3 == 0:
                v[k] = True  # a spreadsheet boolean
            elif val == "dont_know" and i % 2:
                v[k] = "Don't know"
            else:
                v[k] = f"  {val.upper()} " if i % 2 else val
        variants.append(v)
    results = batch.triage_rows(variants)
    for v, row in zip(variants, results, strict=True):
        check_row(row, v)


def test_identical_rows_are_computed_once_and_give_identical_results(monkeypatch):
    calls = []
    real = batch.triage._outcome

    def counting(rb, comp, clean, cache, *more):
        calls.append(1)
        return real(rb, comp, clean, cache, *more)

    monkeypatch.setattr(batch.triage, "_outcome", counting)  # where _triage looks it up
    row = batch.sample_rows(1, seed=5, random_share=0.0, extra=False)[0]
    results = batch.triage_rows([dict(row) for _ in range(50)])
    assert len(calls) == 1
    assert all(r == results[0] for r in results)


def test_worker_processes_give_the_same_results_and_report_progress(monkeypatch):
    monkeypatch.setattr(batch.triage, "POOL_MIN_KEYS", 0)
    monkeypatch.setattr(batch.triage, "CHUNK_KEYS", 40)
    rows = batch.sample_rows(200, seed=8)
    seen = []
    pooled = batch.triage_rows(rows, progress=lambda d, t: seen.append((d, t)), workers=2)
    assert pooled == batch.triage_rows(rows)
    assert seen[0] == (0, 200) and seen[-1] == (200, 200)
    assert len(seen) >= 4  # several chunks reported


# --------------------------------------------------------------------------- progress and summary


@pytest.mark.slow  # more than 5 s on a quiet machine
def test_progress_callback_counts_up_to_the_total():
    rows = batch.sample_rows(500, seed=2)
    rows[3]["gap_defined"] = "perhaps"  # a bad row is done at once
    seen = []
    batch.triage_rows(rows, progress=lambda done, total: seen.append((done, total)))
    assert seen[0] == (0, 500)
    assert seen[-1] == (500, 500)
    assert len(seen) > 3
    dones = [d for d, _ in seen]
    assert dones == sorted(dones)
    assert all(t == 500 for _, t in seen)


def test_progress_on_an_empty_batch():
    seen = []
    assert batch.triage_rows([], progress=lambda d, t: seen.append((d, t))) == []
    assert seen[-1] == (0, 0)


@pytest.mark.slow  # more than 5 s on a quiet machine
def test_summary_counts_add_up():
    rows = batch.sample_rows(400, seed=4)
    rows[0]["gap_defined"] = "sometimes"
    rows[1]["team"] = ""
    results = batch.triage_rows(rows)
    s = batch.summarise(results, group_by="team")
    n = len(results)
    assert s["rows"] == n
    assert sum(s["by_status"].values()) == n
    assert sum(s["by_outcome"].values()) == n
    assert sum(s["by_primary"].values()) == s["by_status"]["complete"]
    assert s["by_status"]["error"] == 1
    assert sum(g["rows"] for g in s["groups"].values()) == n
    for g in s["groups"].values():
        assert sum(g["by_outcome"].values()) == g["rows"]
    for o in batch.OUTCOMES:
        assert sum(g["by_outcome"][o] for g in s["groups"].values()) == s["by_outcome"][o]
    assert "(blank)" in s["groups"]
    assert s["safety_alerts"] == sum(1 for r in results if r["safety_alert"])
    assert s["secondary"]["coaching"] == sum("coaching" in r["secondary"].split(";") for r in results)
    table = batch.summary_rows(s)
    assert table[-1][:2] == ["total", n]
    assert sum(r[1] for r in table[1:-1]) == n


def test_summary_by_an_unknown_column_is_refused():
    results = batch.triage_rows(batch.sample_rows(3, seed=1))
    with pytest.raises(batch.BatchError, match="no column named 'tema'"):
        batch.summarise(results, group_by="tema")


# --------------------------------------------------------------------------- validation of rows


def test_a_file_mixing_good_and_bad_rows():
    good = batch.sample_rows(3, seed=9, random_share=0.0)
    header = ["case_id", "team", *QIDS]
    lines = [header]
    for r in good:
        lines.append([r.get(c, "") for c in header])
    bad_value = [r for r in lines[1]]
    bad_value[0] = "X1"
    bad_value[header.index("gap_defined")] = "maybe"
    lines.append(bad_value)  # row 5
    dup = list(lines[2])  # row 6: same case id as row 3
    lines.append(dup)
    ragged = list(lines[3])
    ragged[0] = "X2"
    lines.append([*ragged, "spill"])  # row 7: one cell too many
    rows, columns, messages = batch.read_table(csv_bytes(lines), "mixed.csv")
    results = batch.triage_rows(rows)
    assert [r["status"] == "error" for r in results] == [False, False, False, True, True, True]
    assert "row 5, column gap_defined: 'maybe' is not one of yes, partly, no, dont_know" in results[3]["errors"]
    assert f"row 6, column case_id: duplicate case id '{good[1]['case_id']}' (first on row 3)" in results[4]["errors"]
    assert "row 7" in results[5]["errors"] and "cells" in results[5]["errors"]
    for src, row in zip(good, results[:3], strict=True):
        assert row["errors"] == "" and row["status"] == expected(answers_of(src))["status"]
    problems = batch.row_messages(results)
    assert any(p.startswith("row 5, column gap_defined") for p in problems)
    assert all(p.startswith("row ") for p in problems)


def test_header_variants_misspellings_and_carried_columns():
    data = csv_bytes(
        [
            ["Case ID", "Gap Defined", "worth-closing", "gap_defind", "status", "team", "team", ""],
            ["A", "yes", "not_worth", "x", "old", "t1", "t2", "loose"],
        ]
    )
    rows, columns, messages = batch.read_table(data, "h.csv")
    text = " | ".join(str(m) for m in messages)
    assert columns[:3] == ["case_id", "gap_defined", "worth_closing"]
    assert "did you mean gap_defined?" in text
    assert "input_status" in columns and "carried through as 'input_status'" in text
    assert "team (2)" in columns and "repeats column F" in text
    assert "column_H" in columns
    (row,) = batch.triage_rows(rows)
    # the gap alone is not enough: the safety questions come first (no risk answer yet)
    assert row["status"] == "needs_answer" and "risk_of_harm" in row["reason"]
    assert row["gap_defind"] == "x" and row["input_status"] == "old"
    assert row["team (2)"] == "t2" and row["column_H"] == "loose"


def test_short_rows_are_padded_with_a_warning_and_long_rows_are_errors():
    data = csv_bytes([["case_id", "gap_defined", "worth_closing"], ["a", "yes"], ["b", "yes", "yes", ""], ["c", "no", "yes", "x"]])
    rows, _cols, messages = batch.read_table(data, "r.csv")
    assert any("row" in str(m) and "fewer cells" in str(m) and "2" in str(m) for m in messages)
    results = batch.triage_rows(rows)
    assert results[0]["status"] != "error" and results[1]["status"] != "error"  # an empty extra cell is fine
    assert results[2]["status"] == "error" and "row 4" in results[2]["errors"]


def test_true_false_text_in_a_csv_reads_as_yes_no():
    data = csv_bytes([["gap_defined", "worth_closing", "aim", "risk_of_harm"], ["yes", "yes", "current_gap", "TRUE"]])
    (row,) = batch.triage_rows(batch.read_table(data, "b.csv")[0])
    want = expected({"gap_defined": "yes", "worth_closing": "yes", "aim": "current_gap", "risk_of_harm": "yes"})
    assert {k: row[k] for k in want} == want
    assert row["safety_alert"] == "yes"


# --------------------------------------------------------------------------- unusable files


@pytest.mark.parametrize(
    "data, name, message",
    [
        (b"", "e.csv", "the file is empty"),
        (b"   \r\n\n", "e.csv", "the file is empty"),
        (b",,,\nyes,no,yes\n", "h.csv", "no header row: row 1 is empty"),
        (b"yes,no,dont_know\nyes,yes,no\n", "d.csv", "row 1 looks like answers, not a header"),
        (b"name,team\nann,x\n", "n.csv", "no column is a question id"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "p.csv", "binary file"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "old.xls", "not a readable old Excel .xls"),
        (b"case_id,gap_defined\na,yes\n", "looks.xlsx", "not a readable Excel .xlsx"),
        (b"PK\x03\x04 broken zip", "broken.xlsx", "not a readable Excel .xlsx"),
        (b"gap_defined\n\x81\x8d\x8f\x90\x9d\n", "enc.csv", "neither UTF-8 nor Windows-1252"),
    ],
)
def test_unusable_files_get_a_clear_message(data, name, message):
    with pytest.raises(batch.BatchError) as err:
        batch.read_table(data, name)
    assert message in str(err.value)
    assert name in str(err.value)


def test_a_file_over_the_size_limit(monkeypatch, tmp_path):
    monkeypatch.setattr(batch.files, "MAX_BYTES", 1000)
    data = b"gap_defined\n" + b"yes\n" * 400
    with pytest.raises(batch.BatchError, match=r"the limit is .* MB"):
        batch.read_table(data, "big.csv")
    p = tmp_path / "big.csv"
    p.write_bytes(data)
    with pytest.raises(batch.BatchError, match="big.csv: the file is"):
        batch.read_table(p)


def test_a_file_over_the_row_limit(monkeypatch):
    monkeypatch.setattr(batch.reading, "MAX_ROWS", 5)
    data = b"gap_defined\n" + b"yes\n" * 6
    with pytest.raises(batch.BatchError, match="more than 5 rows"):
        batch.read_table(data, "many.csv")
    rows, _, _ = batch.read_table(b"gap_defined\n" + b"yes\n" * 5, "five.csv")
    assert len(rows) == 5


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(batch.BatchError, match="no such file"):
        batch.read_table(tmp_path / "nope.csv")
    with pytest.raises(batch.BatchError, match="is a folder"):
        batch.read_table(tmp_path)


def test_windows_1252_falls_back_with_a_warning():
    data = "case_id,team,gap_defined\nA,Équipe café,no\n".encode("cp1252")
    rows, _, messages = batch.read_table(data, "w.csv")
    assert rows[0]["team"] == "Équipe café"
    assert any("Windows-1252" in str(m) for m in messages)


def test_utf16_semicolons_and_tabs_and_bom_are_read():
    lines = [["case_id", "gap_defined"], ["A", "no"]]
    for data in (
        csv_bytes(lines, "utf-16"),
        csv_bytes(lines, delimiter=";"),
        csv_bytes(lines, delimiter="\t"),
        b"\xef\xbb\xbf" + csv_bytes(lines),
        b"sep=;\r\n" + csv_bytes(lines, delimiter=";"),
    ):
        rows, columns, messages = batch.read_table(data, "x.csv")
        assert columns == ["case_id", "gap_defined"] and rows[0]["gap_defined"] == "no", data[:20]
        assert messages == []


def test_an_unclosed_quote_marks_the_row():
    data = b'case_id,team,gap_defined\nA,"open,yes\nB,t,no\nC,t,no\n'
    rows, _, _ = batch.read_table(data, "q.csv")
    results = batch.triage_rows(rows)
    assert results[-1]["status"] == "error" and "never closed" in results[-1]["errors"]


def test_blank_rows_are_skipped_but_row_numbers_stay_those_of_the_sheet():
    data = b"case_id,gap_defined\n\nA,maybe\n,\nB,yes\n"
    rows, _, _ = batch.read_table(data, "b.csv")
    assert [r.line for r in rows] == [3, 5]
    results = batch.triage_rows(rows)
    assert results[0]["errors"].startswith("row 3, column gap_defined")


# --------------------------------------------------------------------------- output and spreadsheet safety


def ooxml_text(v):
    """A cell's text with the spreadsheet format's escapes (``_x000D_`` for a carriage return, ECMA-376
    ST_Xstring) decoded, as Excel and calamine show it; openpyxl leaves them in inline strings."""
    if not isinstance(v, str):
        return v
    return re.sub(r"_x([0-9A-Fa-f]{4})_", lambda m: chr(int(m.group(1), 16)), v)


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_formula_cells_are_neutralised_in_csv_and_excel(start):
    danger = f"{start}HYPERLINK(\"http://x\")"
    rows = [{"case_id": danger, "team": danger, "gap_defined": "no"}]
    results = batch.triage_rows(rows)
    cols = batch.output_columns(["case_id", "team", "gap_defined", danger])
    out = read_csv_out(batch.table_bytes(results, cols, "csv"))
    assert out[0]["team"] == "'" + danger and out[0]["case_id"] == "'" + danger
    assert "'" + danger in out[0]  # a header cell too
    wb = load_workbook(io.BytesIO(batch.table_bytes(results, cols, "xlsx")))
    ws = wb["results"]
    values = [ooxml_text(c.value) for c in ws[2]]
    assert "'" + danger in values
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)


def test_neutralise_leaves_safe_values_alone():
    assert batch.neutralise("yes") == "yes"
    assert batch.neutralise("'=x") == "'=x"
    assert batch.neutralise(-1.5) == -1.5
    assert batch.neutralise(None) is None


def test_csv_output_has_the_case_id_the_results_in_plain_words_first_then_every_input_column(tmp_path):
    rows = batch.sample_rows(20, seed=6)
    src = tmp_path / "in.csv"
    src.write_bytes(batch.rows_to_csv(rows))
    read, columns, _ = batch.read_table(src)
    results = batch.triage_rows(read)
    dst = tmp_path / "out.csv"
    batch.write_table(results, batch.output_columns(columns), dst)
    out = read_csv_out(dst.read_bytes())
    assert list(out[0]) == ["case_id", *batch.OUTPUT_COLUMNS, *(c for c in columns if c != "case_id")]
    assert list(out[0])[1:3] == ["headline", "next_step"]  # the plain headline and first step lead
    for r, o in zip(results, out, strict=True):
        assert o["status"] == r["status"] and o["primary"] == r["primary"]
        assert o["confidence"] == r["confidence"] and (r["confidence"] == "" or r["confidence"].endswith("%"))
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary file left


def test_excel_in_and_out(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.title = "cases"
    ws.append(["case_id", "team", "started", "gap_defined", "worth_closing", "risk_of_harm", "aim"])
    from datetime import date

    ws.append([101, "ops", date(2024, 3, 1), "Yes", "yes", True, "current_gap"])
    ws.append([102, "-ops", None, "yes", "nope", False])
    ws.append([None, None, None, None, None, None])
    ws.append([103, 7.5, None, "no", None, None])
    src = tmp_path / "in.xlsx"
    wb.save(src)
    rows, columns, messages = batch.read_table(src)
    assert columns == ["case_id", "team", "started", "gap_defined", "worth_closing", "risk_of_harm", "aim"]
    assert [r.line for r in rows] == [2, 3, 5]
    assert rows[0]["started"].startswith("2024-03-01")
    results = batch.triage_rows(rows)
    assert results[0]["safety_alert"] == "yes"
    want = expected({"gap_defined": "yes", "worth_closing": "yes", "risk_of_harm": "yes", "aim": "current_gap"})
    assert {k: results[0][k] for k in want} == want
    assert results[1]["status"] == "error" and "row 3, column worth_closing: 'nope'" in results[1]["errors"]
    assert results[2]["status"] == "needs_answer"  # "gap not defined", but the safety screen comes first
    dst = tmp_path / "out.xlsx"
    summary = batch.summarise(results, "team")
    batch.write_table(results, batch.output_columns(columns), dst, summary=summary)
    back = load_workbook(dst)
    assert back.sheetnames == ["results", "summary"]
    res = back["results"]
    header = [c.value for c in res[1]]
    assert header == ["case_id", *batch.OUTPUT_COLUMNS, *(c for c in columns if c != "case_id")]
    team = header.index("team") + 1
    assert res.cell(2, 1).value == 101 and res.cell(3, team).value == "'-ops" and res.cell(4, team).value == 7.5
    assert res.cell(2, header.index("confidence") + 1).value == results[0]["confidence"]
    assert res.cell(2, header.index("risk_of_harm") + 1).value is True
    assert [c.value for c in back["summary"][1]][:2] == ["outcome", "rows"]
    # and the results file reads back in as a batch (result columns renamed, rows the same)
    again, cols2, msgs = batch.read_table(dst)
    assert "input_status" in cols2 and len(again) == 3
    assert batch.triage_rows(again)[0]["primary"] == results[0]["primary"]


def test_excel_cells_are_read_with_their_types_and_row_numbers():
    from datetime import datetime, time, timedelta

    wb = Workbook()
    ws = wb.active
    ws.title = "first"
    ws.append(["case_id", "gap_defined", "when", "at", "took", "n", "flag", "formula"])
    ws.append(["a", "yes", datetime(2023, 5, 6, 7, 8), time(9, 30), timedelta(hours=30), 3, True, "x"])
    ws["H2"] = "=1+1"  # a formula without a cached value
    ws.append([])
    ws.append([])
    ws.append(["b", "  no ", None, None, None, 2.25, False, None])
    ws["C5"].number_format = "yyyy-mm-dd"
    ws["C5"] = 45000
    ws.cell(row=7, column=3, value="far")
    wb.create_sheet("notes").append(["ignored"])
    buf = io.BytesIO()
    wb.save(buf)
    data = buf.getvalue()
    records = list(batch._sheet_records(data, "t.xlsx", "xlsx", []))
    assert records[1] == ["a", "yes", "2023-05-06T07:08:00", "09:30:00", "1 day, 6:00:00", 3, True, ""]
    assert records[4][:6] == ["b", "  no ", "2023-03-15", "", "", 2.25] and records[4][6] is False
    assert records[2] == records[3] == [""] * 8 and records[6][2] == "far"
    rows, _, messages = batch.read_table(data, "t.xlsx")
    assert any("only the first, 'first'" in str(m) for m in messages)
    assert [r.line for r in rows] == [2, 5, 7]


def _case_grid():
    return [
        ["case_id", "team", "gap_defined", "worth_closing", "aim", "risk_of_harm"],
        ["A1", "ops", "yes", "yes", "current_gap", "yes"],
        ["A2", "=cmd", "no", "", "", ""],
        ["", "", "", "", "", ""],
        ["A3", "sales", "maybe", "", "", ""],
    ]


def _check_case_grid(rows, columns, name):
    assert columns == ["case_id", "team", "gap_defined", "worth_closing", "aim", "risk_of_harm"]
    assert [r.line for r in rows] == [2, 3, 5]
    results = batch.triage_rows(rows)
    want = expected({"gap_defined": "yes", "worth_closing": "yes", "aim": "current_gap", "risk_of_harm": "yes"})
    assert {k: results[0][k] for k in want} == want and results[0]["safety_alert"] == "yes"
    assert results[1]["status"] == expected({"gap_defined": "no"})["status"] and results[1]["team"] == "=cmd"
    assert results[2]["status"] == "error" and "row 5, column gap_defined: 'maybe'" in results[2]["errors"], name


def test_old_excel_xls_workbooks_are_read():
    xlwt = pytest.importorskip("xlwt")
    wb = xlwt.Workbook()
    ws = wb.add_sheet("cases")
    for r, values in enumerate(_case_grid()):
        for c, v in enumerate(values):
            if v:
                ws.write(r, c, v)
    buf = io.BytesIO()
    wb.save(buf)
    rows, columns, _ = batch.read_table(buf.getvalue(), "old.xls")
    _check_case_grid(rows, columns, "old.xls")


def test_opendocument_ods_spreadsheets_are_read():
    pytest.importorskip("odf")
    import pandas as pd

    grid = _case_grid()
    buf = io.BytesIO()
    pd.DataFrame(grid[1:], columns=grid[0]).to_excel(buf, engine="odf", sheet_name="cases", index=False)
    rows, columns, _ = batch.read_table(buf.getvalue(), "cases.ods")
    _check_case_grid(rows, columns, "cases.ods")


def test_a_sheet_with_a_cell_far_away_is_refused_before_it_is_unpacked():
    # calamine allocates the whole grid from A1 to the farthest cell: this 10 KB file would need 512 GB
    wb = Workbook()
    ws = wb.active
    ws["A1"] = "gap_defined"
    ws["A2"] = "yes"
    ws["XFD1048576"] = "x"
    buf = io.BytesIO()
    wb.save(buf)
    with pytest.raises(batch.BatchError, match=r"far\.xlsx: a sheet has cells as far as row 1,048,576, column XFD"):
        batch.read_table(buf.getvalue(), "far.xlsx")


@pytest.mark.slow  # more than 5 s on a quiet machine
def test_an_ods_sheet_of_repeated_cells_is_refused_by_its_size():
    pytest.importorskip("odf")
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table, TableCell, TableRow
    from odf.text import P

    doc = OpenDocumentSpreadsheet()
    table = Table(name="cases")
    for repeat_rows, repeat_cells, text in ((1, 1, "gap_defined"), (40_000, 400, "yes")):
        row = TableRow(numberrowsrepeated=repeat_rows)
        cell = TableCell(valuetype="string", numbercolumnsrepeated=repeat_cells)
        cell.addElement(P(text=text))
        row.addElement(cell)
        table.addElement(row)
    doc.spreadsheet.addElement(table)
    buf = io.BytesIO()
    doc.write(buf)  # 1.5 KB that stand for 16 million cells
    with pytest.raises(batch.BatchError, match=r"rep\.ods: the sheet spans 40,001 rows and 400 columns"):
        batch.read_table(buf.getvalue(), "rep.ods")


def test_a_damaged_workbook_of_each_kind_gets_a_message():
    good = batch.make_template("xlsx")
    for data, name, needle in [
        (good[: len(good) // 2], "cut.xlsx", "not a readable Excel .xlsx workbook"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(range(256)) * 8, "bad.xls", "not a readable old Excel .xls"),
        (b"PK\x03\x04" + b"\x00" * 300, "bad.ods", "not a readable OpenDocument .ods"),
        (b"case_id,gap_defined\na,yes\n", "text.ods", "not a readable OpenDocument .ods"),
    ]:
        with pytest.raises(batch.BatchError) as err:
            batch.read_table(data, name)
        assert needle in str(err.value) and name in str(err.value), str(err.value)


def test_excel_output_is_a_valid_workbook_with_text_that_needs_care():
    rows = [{"case_id": "x", "team": "a & b <c> \x07 bell", "note": " padded ", "gap_defined": "no"}]
    results = batch.triage_rows(rows)
    data = batch.table_bytes(results, batch.output_columns(["case_id", "team", "note", "gap_defined"]), "xlsx")
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.testzip() is None
    ws = load_workbook(io.BytesIO(data))["results"]
    header = [c.value for c in ws[1]]
    assert ws.cell(2, header.index("team") + 1).value == "a & b <c>  bell"
    assert ws.cell(2, header.index("note") + 1).value == " padded "


# --------------------------------------------------------------------------- template


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_template_round_trip(fmt, tmp_path):
    data = batch.make_template(fmt)
    rows, columns, messages = batch.read_table(data, f"template.{fmt}")
    assert columns == ["case_id", *QIDS, *batch.GAP_COLUMNS]
    assert rows == []
    assert [m.level for m in messages] == ["warning"] and "no cases below the header" in str(messages[0])
    # fill the template in with the worked cases (or random cases) and triage it
    cases = batch.worked_case_rows() or batch.sample_rows(10, seed=1, extra=False)
    if fmt == "csv":
        filled = data + b"".join(
            (",".join([c.get("case_id", str(i)), *(c.get(q, "") for q in QIDS), *[""] * len(batch.GAP_COLUMNS)])
             + "\r\n").encode()
            for i, c in enumerate(cases)
        )
    else:
        wb = load_workbook(io.BytesIO(data))
        ws = wb["cases"]
        for i, c in enumerate(cases):
            ws.append([c.get("case_id", str(i)), *(c.get(q) for q in QIDS)])
        buf = io.BytesIO()
        wb.save(buf)
        filled = buf.getvalue()
    rows, columns, messages = batch.read_table(filled, f"filled.{fmt}")
    assert messages == []
    results = batch.triage_rows(rows)
    for c, r in zip(cases, results, strict=True):
        want = expected(answers_of(c))
        assert r["status"] == want["status"] and r["primary"] == want["primary"]


def test_excel_template_lists_the_questions_and_offers_drop_downs():
    wb = load_workbook(io.BytesIO(batch.make_template("xlsx")))
    assert wb.sheetnames == ["cases", "questions"]
    qs = list(wb["questions"].iter_rows(values_only=True))
    assert qs[0][:4] == ("question id", "stage", "question", "allowed values")
    kb = RB.knowledge
    for row in qs[1 : len(kb.questions) + 1]:
        q = kb.question(row[0])
        assert row[2] == " ".join(q.text.split())
        assert row[3] == ", ".join(q.option_values())
        assert all(f"{o.value} = {o.label}" in row[4] for o in q.options)  # the labels, accepted too
    assert [row[0] for row in qs[len(kb.questions) + 1 :]] == list(batch.GAP_COLUMNS)
    lists = {
        str(dv.sqref).split(":")[0].rstrip("0123456789"): dv.formula1 for dv in wb["cases"].data_validations.dataValidation
    }
    assert lists["B"] == '"' + ",".join(kb.questions[0].option_values()) + '"'


# --------------------------------------------------------------------------- command line


def test_cli_batch_writes_results_and_prints_a_json_summary(tmp_path, capsys):
    rows = batch.sample_rows(60, seed=12)
    src, dst = tmp_path / "cases.csv", tmp_path / "out.xlsx"
    src.write_bytes(batch.rows_to_csv(rows))
    code = cli_main(["batch", str(src), "-o", str(dst), "--format", "json", "--group-by", "Team", "--workers", "1"])
    assert code == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert summary["rows"] == 60 and summary["group_by"] == "team"
    assert sum(summary["by_outcome"].values()) == 60
    assert "[" not in captured.err  # no progress bar when standard error is not a terminal
    ws = load_workbook(dst)["results"]
    assert ws.max_row == 61


def test_cli_batch_reports_bad_rows_with_exit_code_1(tmp_path, capsys):
    src, dst = tmp_path / "cases.csv", tmp_path / "out.csv"
    src.write_bytes(b"case_id,gap_defined\nA,yes\nB,maybe\n")
    assert cli_main(["batch", str(src), "-o", str(dst)]) == 1
    err = capsys.readouterr().err
    assert "row 3, column gap_defined: 'maybe' is not one of" in err
    out = read_csv_out(dst.read_bytes())
    assert [r["status"] for r in out] == ["needs_answer", "error"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["batch"], "give the file of cases"),
        (["batch", "{src}"], "give the results file with -o"),
        (["batch", "{src}", "-o", "{tmp}/out.txt"], "must end in .csv or .xlsx"),
        (["batch", "{src}", "-o", "{src}"], "must not be the input file"),
        (["batch", "{src}", "-o", "{tmp}/o.csv", "--group-by", "nosuch"], "no column named 'nosuch'"),
        (["batch", "{src}", "-o", "{tmp}/o.csv", "--workers", "many"], "--workers must be"),
        (["batch", "{tmp}/missing.csv", "-o", "{tmp}/o.csv"], "no such file"),
        (["batch", "{empty}", "-o", "{tmp}/o.csv"], "the file is empty"),
    ],
)
def test_cli_batch_usage_errors(args, message, tmp_path, capsys):
    src = tmp_path / "cases.csv"
    src.write_bytes(b"case_id,gap_defined\nA,yes\n")
    (tmp_path / "empty.csv").write_bytes(b"")
    argv = [a.format(src=src, tmp=tmp_path, empty=tmp_path / "empty.csv") for a in args]
    assert cli_main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert src.read_bytes() == b"case_id,gap_defined\nA,yes\n"


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_cli_batch_template(fmt, tmp_path):
    dst = tmp_path / f"t.{fmt}"
    assert cli_main(["batch", "--template", str(dst)]) == 0
    assert dst.read_bytes() == batch.make_template(fmt) or fmt == "xlsx"
    assert batch.read_table(dst)[1] == ["case_id", *QIDS, *batch.GAP_COLUMNS]


def test_progress_bar_draws_to_the_end():
    from casework.cli.batch import ProgressBar

    buf = io.StringIO()
    bar = ProgressBar(buf, width=10)
    for d in range(0, 101, 10):
        bar(d, 100)
    assert buf.getvalue().endswith("[##########] 100/100 rows\n")


def test_excel_values_right_of_the_header_are_carried_as_unnamed_columns():
    wb = Workbook()
    ws = wb.active
    ws.append(["case_id", "gap_defined"])
    ws.append(["a", "no"])
    ws.append(["b", "no", None, "note for b"])
    buf = io.BytesIO()
    wb.save(buf)
    rows, columns, messages = batch.read_table(buf.getvalue(), "extra.xlsx")
    assert columns == ["case_id", "gap_defined", "column_D"]
    assert any("column D has no name" in str(m) for m in messages)
    results = batch.triage_rows(rows)
    assert [r["status"] for r in results] == ["needs_answer", "needs_answer"]  # safety screen first
    assert results[1]["column_D"] == "note for b" and results[0].get("column_D", "") == ""


def test_an_error_in_the_progress_callback_reaches_the_caller(monkeypatch):
    monkeypatch.setattr(batch.triage, "POOL_MIN_KEYS", 0)
    monkeypatch.setattr(batch.triage, "CHUNK_KEYS", 50)
    rows = batch.sample_rows(120, seed=13, random_share=1.0)

    def stop(done, total):
        if done:
            raise LookupError("stop here")

    for workers in (1, 2):
        with pytest.raises(LookupError, match="stop here"):
            batch.triage_rows(rows, progress=stop, workers=workers)


def test_excel_output_is_the_same_in_both_writing_modes(monkeypatch):
    rows = batch.triage_rows(batch.read_table(batch.rows_to_csv(batch.sample_rows(30, seed=4)), "s.csv")[0])
    cols = batch.output_columns(list(rows[0]))
    small = batch.table_bytes(rows, cols, "xlsx")  # in memory (shared strings)
    monkeypatch.setattr(batch.writing, "IN_MEMORY_ROWS", 10)
    large = batch.table_bytes(rows, cols, "xlsx")  # row by row in constant memory (inline strings)
    assert small != large
    read = [batch.read_table(b, "r.xlsx") for b in (small, large)]
    assert read[0][1] == read[1][1] and [dict(r) for r in read[0][0]] == [dict(r) for r in read[1][0]]
    assert len(read[0][0]) == 30


def test_labels_are_accepted_as_well_as_values_and_gap_columns_are_checked():
    """A sheet filled in with the labels the app shows triages as with the values; the gap columns
    are carried through, and a bad gap is named in the row's errors while its result stands."""
    from rules.model import load_rulebase

    kb = load_rulebase().knowledge
    wc = next(c for c in kb.cases if c.id == "call-centre")
    by_value = {"case_id": "v", **wc.answers}
    by_label = {"case_id": "l", **{q: kb.question(q).label_of(v).upper() for q, v in wc.answers.items()},
                "gap_measure": "Calls resolved first time", "gap_current": "62", "gap_target": "80", "gap_unit": "%"}
    bad_gap = {"case_id": "b", **wc.answers, "gap_current": "sixty"}
    out = batch.triage_rows([by_value, by_label, bad_gap])
    assert out[1]["status"] == "complete" and out[1]["primary"] == out[0]["primary"] == wc.expected.primary
    assert out[1]["errors"] == "" and out[1]["gap_measure"] == "Calls resolved first time"
    assert out[2]["primary"] == wc.expected.primary
    assert "row 4, gap.current" in out[2]["errors"] and "row 4, gap.measure" in out[2]["errors"]
