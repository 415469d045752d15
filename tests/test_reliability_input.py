"""Reliability: hostile input never crashes and always gets a clear message.

Fuzzes ``consult()`` and the ``triage`` command line (in-process, plus real processes) with random and
malformed answers; feeds malformed, huge, deeply nested, aliased ("YAML bomb"), binary and wrongly
encoded answers files; and random, ragged, binary, wrongly encoded and oversized batch files. The
rule everywhere: a clear message naming the problem (``AnswerError``, ``AnswersFileError``,
``BatchError``, exit code 2), never a traceback, and the valid part kept.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from page_util import page_app

from casework import batch
from casework.answers_io import (
    MAX_ANSWERS_FILE_BYTES,
    AnswersFileError,
    read_answers_bytes,
    read_answers_file,
)
from casework.cli import main
from knowledge.loader import load_knowledge
from rules.consult import AnswerError, consult

KB = load_knowledge()
OPTIONS = {q.id: q.option_values() for q in KB.questions}
QIDS = sorted(OPTIONS)
ROOT = Path(__file__).resolve().parents[1]
FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --------------------------------------------------------------------------- strategies

# Text that can never be a valid answer (a valid one is a lower-case ASCII option word): a "¤" first.
junk_text = st.one_of(
    st.text(max_size=40).map(lambda s: "¤" + s),
    st.sampled_from(["", " ", "\x00", "maybe", "yes please", "<script>alert(1)</script>", "=1+1", "\ud800",
                     "ｙｅｓ", "Y E S", "🙂", "dont know?", "null", "[yes]"]),
    st.integers(min_value=1, max_value=60).map(lambda n: "x" * (n * 5_000)),  # up to 300,000 characters
)
junk_leaf = st.one_of(st.integers(), st.floats(allow_nan=True), st.binary(max_size=8), junk_text)
junk_value = st.recursive(
    junk_leaf, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
junk_key = st.one_of(
    st.text(max_size=30).filter(lambda s: s not in OPTIONS),
    st.integers(), st.none(), st.booleans(), st.floats(allow_nan=False), st.binary(max_size=6),
    st.tuples(st.integers(), st.text(max_size=3)), st.frozensets(st.integers(), max_size=2),
    st.sampled_from(["GAP_DEFINED", " gap_defined", "gap-defined", "x" * 100_000, "\ud800", "<b>aim</b>"]),
)


@st.composite
def answers_with_junk(draw):
    """(answers mapping, number of bad entries): valid answers mixed with bad keys and bad values."""
    good = draw(st.dictionaries(st.sampled_from(QIDS), st.none(), max_size=8))
    answers: dict = {}
    bad = 0
    for q in good:
        kind = draw(st.sampled_from(["option", "spelling", "none", "bool", "junk", "junk"]))
        if kind == "option":
            answers[q] = draw(st.sampled_from(OPTIONS[q]))
        elif kind == "spelling":  # how people type it: capitals, spaces, "Don't know"
            v = draw(st.sampled_from(OPTIONS[q]))
            answers[q] = "Don't know" if v == "dont_know" else f"  {v.upper().replace('_', ' ')} "
        elif kind == "none":
            answers[q] = None  # a question not answered
        elif kind == "bool":
            answers[q] = draw(st.booleans())
            if ("yes" if answers[q] else "no") not in OPTIONS[q]:
                bad += 1
        else:
            answers[q] = draw(junk_value)
            bad += 1
    for k in draw(st.lists(junk_key, max_size=4, unique_by=repr)):
        try:
            if k in answers:
                continue
        except TypeError:  # an unhashable key cannot be in a dict anyway
            continue
        answers[k] = draw(st.one_of(st.sampled_from(["yes", "no"]), junk_value))
        bad += 1
    return answers, bad


# --------------------------------------------------------------------------- consult()


@FUZZ
@given(answers_with_junk())
def test_consult_on_junk_answers_gives_answer_error_naming_each_problem(case):
    answers, bad = case
    try:
        c = consult(answers)
    except AnswerError as exc:
        assert bad > 0
        assert len(exc.problems) == bad  # every bad entry named, one problem each
        for p in exc.problems:
            assert isinstance(p, str) and 0 < len(p) < 400  # short: a huge value is cut
            assert "Traceback" not in p
        return
    assert bad == 0
    assert c.status in ("complete", "needs_answer", "cannot_recommend")


@settings(max_examples=60, deadline=None)
@given(st.one_of(st.text(min_size=1), st.integers().filter(bool), st.lists(st.integers(), min_size=1),
                 st.binary(min_size=1), st.tuples(st.integers()), st.floats().filter(bool),
                 st.sets(st.integers(), min_size=1)))
def test_consult_on_something_that_is_not_a_mapping(junk):
    with pytest.raises(AnswerError, match="answers must be a mapping"):
        consult(junk)


# --------------------------------------------------------------------------- the command line, in-process


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def assert_clean_usage_error(code: int, out: str, err: str) -> None:
    assert code == 2, (code, err)
    assert out == ""
    assert err.startswith("triage: error: ") and err.count("\n") == 1, err[:500]
    assert "Traceback" not in err and "internal error" not in err


def file_text(answers: dict, fmt: str) -> str:
    if fmt == "json":
        return json.dumps({"title": "fuzz", "answers": answers}, ensure_ascii=False)
    return yaml.safe_dump({"title": "fuzz", "answers": answers}, allow_unicode=True)


def writable(key, value, fmt: str) -> bool:
    try:
        size = len(file_text({key: value}, fmt).encode("utf-8"))
    except (TypeError, ValueError, yaml.YAMLError):  # JSON keys are text; no lone surrogates in a file
        return False
    return size < 20_000  # huge values are for consult() above: the pure-Python YAML parser is slow


@st.composite
def cli_answers(draw):
    """Answers that a JSON or YAML file can hold (YAML: also int, bool and null keys, binary values)."""
    answers, _ = draw(answers_with_junk())
    fmt = draw(st.sampled_from(["json", "yaml"]))
    return {k: v for k, v in answers.items() if writable(k, v, fmt)}, fmt


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cli_answers())
def test_cli_consult_on_random_answers_files(case):
    answers, fmt = case
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"answers.{fmt}"
        text = file_text(answers, fmt)
        path.write_text(text, encoding="utf-8")
        code, out, err = run_cli("consult", str(path), "--format", "json")
    try:
        consult(answers)
        valid = len(text.encode("utf-8")) <= MAX_ANSWERS_FILE_BYTES
    except AnswerError:
        valid = False
    if valid:
        assert code == 0, err
        assert json.loads(out)["status"] in ("complete", "needs_answer", "cannot_recommend")
    else:
        assert_clean_usage_error(code, out, err)


@settings(max_examples=60, deadline=None)
@given(st.one_of(st.binary(max_size=3000), st.text(max_size=500).map(lambda s: s.encode("utf-8", "surrogatepass"))))
def test_cli_consult_on_random_bytes(raw):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "junk.yaml"
        path.write_bytes(raw)
        code, out, err = run_cli("consult", str(path))
    if code == 0:  # it happened to be a valid answers file
        assert "Status:" in out
    else:
        assert_clean_usage_error(code, out, err)


# --------------------------------------------------------------------------- malformed and huge answers files


def lol_bomb(levels: int = 9) -> str:
    """The "billion laughs": each level refers ten times to the one before."""
    lines = ['a0: &a0 ["lol"]']
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    return "\n".join(lines) + f"\nanswers: {{gap_defined: *a{levels}}}\n"


HOSTILE_FILES = {
    "yaml bomb (billion laughs)": (lol_bomb().encode(), "aliases"),
    "alias as an answer": (b"x: &y yes\nanswers: {gap_defined: *y}", "aliases"),
    "python object tag": (b"answers: !!python/object/apply:os.system ['echo owned']", "not valid YAML"),
    "python name tag": (b"answers: {gap_defined: !!python/name:os.system }", "not valid YAML"),
    "deeply nested JSON": (b'{"answers": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested too deeply"),
    "deeply nested YAML flow": (b"answers: " + b"[" * 1_500 + b"]" * 1_500, "nested too deeply"),
    "a million tokens in 1 MB": (b"answers: " + b"[" * 40 + b"a," * 450_000 + b"]" * 40, "more than 50,000 entries"),
    "deeply nested YAML blocks": (b"answers:\n" + b"".join(b" " * i + b"- \n" for i in range(1, 200)), "nested too deeply"),
    "over the size limit": (b"answers: {}\n" + b"#" * MAX_ANSWERS_FILE_BYTES, "over the limit"),
    "a date that does not exist": (b"title: 2024-02-30\nanswers: {gap_defined: yes}", "not valid YAML or JSON"),
    "a 5,000-digit number": (b'{"answers": {"gap_defined": ' + b"9" * 5000 + b"}}", "not valid YAML or JSON"),
    "unhashable key": (b"answers:\n  ? [a, b]\n  : yes\n", "unhashable"),
    "two documents": (b"answers: {}\n---\nanswers: {}\n", "not valid YAML"),
    "binary": (b"\x00\x01\x02PK\x03\x04" * 50, "binary"),
    "UTF-16": ('answers: {gap_defined: "yes"}'.encode("utf-16"), "not UTF-8"),
    "Latin-1": ("title: Café Noël\nanswers: {gap_defined: yes}".encode("latin-1"), "not UTF-8"),
    "empty": (b"", "empty"),
    "only whitespace": (b" \n\t\n", "empty"),
    "a list": (b"[1, 2, 3]", "expected a mapping"),
    "a scalar": (b"just some words", "expected a mapping"),
    "answers is a list": (b"answers: [gap_defined, yes]", "must be a mapping"),
    "answers is a set": (b"answers: !!set {gap_defined, aim}", "must be a mapping"),
    "title is binary": (b"title: !!binary aGVsbG8=\nanswers: {}", "'title' must be text"),
    "title is a mapping": (b"title: {a: 1}\nanswers: {}", "'title' must be text"),
    "notes too long": (b"notes: " + b"n" * 6000 + b"\nanswers: {}", "longer than"),
    "tab indentation": (b"answers:\n\tgap_defined: yes", "not valid YAML"),
}


@pytest.mark.parametrize("what", list(HOSTILE_FILES))
def test_hostile_answers_files_are_refused_with_a_message(what, tmp_path):
    raw, needle = HOSTILE_FILES[what]
    path = tmp_path / "hostile.yaml"
    path.write_bytes(raw)
    with pytest.raises(AnswersFileError) as info:
        read_answers_file(path)
    message = str(info.value)
    assert needle in message and str(path) in message
    assert len(message) < 500 and "\n" not in message
    code, out, err = run_cli("consult", str(path))
    assert_clean_usage_error(code, out, err)
    assert needle in err


def test_control_characters_and_lone_surrogates_in_the_case_details_are_cleaned():
    raw = json.dumps({"title": "A\x00B\x1b[2JC\ud800", "who": "x\ty", "notes": "line 1\r\nline 2\x07",
                      "answers": {"gap_defined": "no"}}).encode()
    f = read_answers_bytes(raw, "c.json")
    assert f.title == "AB[2JC\ufffd" and f.who == "x\ty" and f.notes == "line 1\r\nline 2"
    (f.title + f.who + f.notes).encode("utf-8")  # can be shown, stored and written


# --------------------------------------------------------------------------- batch files


def csv_of(rows: list[list[str]]) -> bytes:
    buf = io.StringIO(newline="")
    csv.writer(buf).writerows(rows)
    return buf.getvalue().encode("utf-8")


cell = st.one_of(
    st.sampled_from(["", "yes", "no", "dont_know", "Yes ", "maybe", '"', ",", ";", "\n", "=1+1", "@SUM(A1)",
                     "-2", "+cmd", "\tx", "\x00", "é", "🙂", "<script>", "a,b", 'say "hi"']),
    st.text(max_size=12),
)
header_cell = st.one_of(st.sampled_from([*QIDS[:6], "case_id", "team", "Gap Defined", "gap_defind", "", "status"]),
                        st.text(max_size=8))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(header_cell, min_size=1, max_size=7),
       st.lists(st.lists(cell, max_size=9), max_size=8),  # ragged: rows shorter and longer than the header
       st.sampled_from(["csv", "raw"]))
def test_random_batch_files_give_results_or_a_message(header, body, how):
    if how == "csv":
        data = csv_of([header, *body])
    else:  # hand-joined: unbalanced quotes and separators inside values
        data = "\n".join(",".join(r) for r in [header, *body]).encode("utf-8", "surrogatepass")
    try:
        rows, columns, messages = batch.read_table(data, "fuzz.csv")
    except batch.BatchError as exc:
        assert "fuzz.csv" in str(exc) and "Traceback" not in str(exc)
        return
    results = batch.triage_rows(rows)
    assert len(results) == len(rows)
    for r in results:
        assert r["status"] in batch.STATUSES
        assert (r["status"] == "error") == bool(r["errors"])
    out_cols = batch.output_columns(columns)
    for fmt in ("csv", "xlsx"):
        assert batch.table_bytes(results, out_cols, fmt)  # any content can be written


@pytest.mark.parametrize(
    "data, name, needle",
    [
        (b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 4, "cases.csv", "binary file"),
        (b"gap_defined,worth_closing\n\x81\x8d\x8f\x90\x9d,no\n", "cases.csv", "neither UTF-8 nor Windows-1252"),
        (b"PK\x03\x04" + b"\x00" * 200, "cases.xlsx", "not a readable Excel .xlsx"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 500, "cases.xls", "old Excel .xls"),
        (b"", "cases.csv", "empty"),
        (("gap_defined," + ",".join(f"c{i}" for i in range(600)) + "\nyes\n").encode(), "wide.csv", "columns"),
    ],
)
def test_unusable_batch_files_get_one_plain_message(data, name, needle):
    with pytest.raises(batch.BatchError) as info:
        batch.read_table(data, name)
    assert needle in str(info.value) and name in str(info.value)


def test_a_hundred_thousand_rows_are_refused_over_the_limit_with_a_message(tmp_path):
    head = "case_id,gap_defined,worth_closing,team\n"
    data = (head + "".join(f"r{i},yes,no,team {i % 7}\n" for i in range(100_000))).encode()
    path = tmp_path / "big.csv"
    path.write_bytes(data)
    with pytest.raises(batch.BatchError, match=f"more than {batch.MAX_ROWS:,} rows"):
        batch.read_table(path)
    code, out, err = run_cli("batch", str(path), "-o", str(tmp_path / "out.csv"))
    assert_clean_usage_error(code, out, err)
    assert not (tmp_path / "out.csv").exists()


def test_ragged_rows_keep_the_good_rows():
    data = csv_of([["case_id", "risk_of_harm", "distress_signs", "gap_defined", "worth_closing"],
                   ["a", "no", "no", "yes", "yes"], ["b", "no", "no", "no"],
                   ["c", "no", "no", "yes", "yes", "extra", "cells"], ["d", "no", "no", "maybe", "yes"],
                   ["e", "no", "no", "no", "yes"]])
    rows, _, messages = batch.read_table(data, "ragged.csv")
    results = {r["case_id"]: r for r in batch.triage_rows(rows)}
    assert results["a"]["status"] == "needs_answer"
    assert results["b"]["status"] == results["e"]["status"] == "cannot_recommend"
    assert results["c"]["status"] == results["d"]["status"] == "error"
    assert "row 4" in results["c"]["errors"] and "row 5, column gap_defined" in results["d"]["errors"]
    assert any("fewer cells" in str(m) and "(3)" in str(m) for m in messages)  # the short row is named


# --------------------------------------------------------------------------- real processes


def test_real_processes_print_a_message_not_a_traceback(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"answers": {"gap_defined": "maybe", "<script>": "yes", "aim": ["x"]}}))
    binary = tmp_path / "cases.csv"
    binary.write_bytes(b"\x00\xff" * 5000)
    runs = [["consult", str(bad), "--explain"], ["batch", str(binary), "-o", str(tmp_path / "out.xlsx")]]
    procs = [subprocess.Popen([sys.executable, "-m", "casework.cli", *argv], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for argv in runs]  # both at once
    errs = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 2, err
        assert out == "" and err.startswith("triage: error: ") and "Traceback" not in err
        errs.append(err)
    assert "gap_defined: 'maybe' is not one of" in errs[0]
    assert "unknown question id '<script>'" in errs[0] and "aim: answer must be text, not list" in errs[0]
    assert "binary file" in errs[1] and not (tmp_path / "out.xlsx").exists()


# --------------------------------------------------------------------------- the same files in the app

APP_FILES = ["yaml bomb (billion laughs)", "python object tag", "deeply nested JSON", "over the size limit",
             "a date that does not exist", "binary", "Latin-1", "answers is a list", "a million tokens in 1 MB"]


def test_hostile_files_opened_in_the_app_leave_the_answers_as_they_were(tmp_path):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params.update({"gap_defined": "yes"})
    at.run()
    for what in APP_FILES:
        raw, needle = HOSTILE_FILES[what]
        at.file_uploader(key="upload").set_value(("hostile.yaml", raw, "application/x-yaml"))
        at.run()
        assert not at.exception, (what, at.exception)
        errors = " ".join(e.value for e in at.error)
        assert "Could not open the answers file. hostile.yaml: " in errors and needle in errors, (what, errors)
        assert "unchanged" in errors and at.session_state["answers"] == {"gap_defined": "yes"}


def test_hostile_case_exports_imported_on_the_cases_page_get_a_message(monkeypatch, tmp_path):

    from casework.store import EXPORT_FORMAT

    monkeypatch.delenv("TRIAGE_DATABASE_URL", raising=False)
    monkeypatch.setenv("TRIAGE_DATA_DIR", str(tmp_path))
    # written as text: json.dumps of 950 levels would itself exceed the recursion limit in a deep stack
    deep = '{"a": ' * 950 + '"x"' + "}" * 950
    files = {
        "deeply nested": (b'{"a": ' * 5000 + b"1" + b"}" * 5000, "nested too deeply"),
        "nested deep inside an export": (json.dumps({"format": EXPORT_FORMAT, "format_version": 1, "answers": {},
                                                     "consultations": [{"result": {"status": "complete", "x": "DEEP"}}]
                                                     }).replace('"DEEP"', deep).encode(), "nested too deeply"),
        "binary": (b"\x00\xff" * 100, "not a JSON file"),
        "not JSON": (b"answers: {gap_defined: yes}", "not a JSON file"),
        "an answers file": (b'{"answers": {"gap_defined": "yes"}}', "not a case export"),
        "bad values": (json.dumps({"format": EXPORT_FORMAT, "format_version": 1, "status": "<b>x</b>",
                                   "answers": {"gap_defined": "maybe"}, "monitoring": [{"date": "yesterday"}]}
                                  ).encode(), "gap_defined: 'maybe' is not one of"),
    }
    at = page_app("cases", timeout=60)
    at.run()
    for what, (raw, needle) in files.items():
        at.file_uploader(key="cases_import_file").set_value((f"{what}.json", raw, "application/json"))
        at.run()
        at.button(key="cases_import_go").click().run()
        assert not at.exception, (what, at.exception)
        errors = " ".join(e.value for e in at.error)
        assert needle in errors, (what, errors)
    from casework.store import Store

    with Store() as s:
        assert s.list_cases() == []  # nothing half-imported
