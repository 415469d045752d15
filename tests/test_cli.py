"""The triage command: the contract other tools rely on, and bad input answered with exit code 2."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from casework.cli import main

CASES = Path(__file__).resolve().parents[1] / "knowledge" / "cases"


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_questions_json(capsys, kb):
    code, out, _ = run(capsys, "questions", "--format", "json")
    items = json.loads(out)
    assert code == 0 and len(items) == len(kb.questions)
    first = items[0]
    assert first["id"] == "concern" and {"id", "text", "why", "options"} <= set(first)
    assert {"value": "dont_know", "label": "Not sure"} in first["options"]
    assert {"value": "dont_know", "label": "Not sure"} in items[1]["options"]  # the safety screen
    assert {"value": "no", "label": "No, nothing seen or heard"} in items[1]["options"]


def test_consult_worked_case_json(capsys):
    code, out, _ = run(capsys, "consult", str(CASES / "call-centre.yaml"), "--format", "json")
    d = json.loads(out)
    assert code == 0
    assert d["status"] == "complete" and d["next_question"] is None
    assert d["primary"]["intervention"] == "work_system" and 0 < d["primary"]["confidence"] <= 1
    assert isinstance(d["secondary"], list)
    assert "coaching" in [r["intervention"] for r in d["ruled_out"]]


def test_consult_explain_json(capsys, rb):
    code, out, _ = run(capsys, "consult", str(CASES / "call-centre.yaml"), "--explain", "--format", "json")
    e = json.loads(out)["explanation"]
    assert code == 0
    assert {h["rule"] for h in e["how"]} == set(json.loads(out)["fired_rules"])
    assert all({"rule", "rationale", "answers", "sources"} <= set(h) for h in e["how"])
    assert "coaching" in e["why_not"] and any("perpetuate" in r for r in e["why_not"]["coaching"]["reasons"])
    for d in e["decisive"]:
        assert {"question", "answer", "alternative", "new_primary"} <= set(d)
        assert d["new_primary"] is None or d["new_primary"] in rb.knowledge.interventions


def test_consult_partial_answers_gives_next_question(tmp_path, capsys):
    f = tmp_path / "a.json"
    f.write_text(json.dumps({"answers": {"concern": "shortfall", "risk_of_harm": "no", "distress_signs": "no",
                                         "gap_defined": "yes"}}))
    code, out, _ = run(capsys, "consult", str(f), "--format", "json")
    d = json.loads(out)
    assert code == 0 and d["status"] == "needs_answer"
    assert d["next_question"]["id"] == "worth_closing" and d["primary"] is None


def test_consult_text_explain(capsys):
    code, out, _ = run(capsys, "consult", str(CASES / "stalled-coaching.yaml"), "--explain")
    assert code == 0
    assert "Primary: Counselling referral" in out and "How we got here" in out and "Why not the others" in out


@pytest.mark.parametrize(
    "content, needle",
    [
        ("answers: {nope: 'yes'}", "unknown question id 'nope'"),
        ("answers: {gap_defined: maybe}", "'maybe' is not one of"),
        ("answers: [1, 2]", "'answers' must be a mapping"),
        ("title: x", "no 'answers' mapping"),
        ("answers: {gap_defined: [", "not valid YAML or JSON"),
        ("", "the file is empty"),
        ("a: &x [1]\nanswers: *x", "aliases"),
    ],
)
def test_bad_files_exit_2_with_a_message(tmp_path, capsys, content, needle):
    f = tmp_path / "bad.yaml"
    f.write_text(content)
    code, out, err = run(capsys, "consult", str(f), "--format", "json")
    assert code == 2 and out == ""
    assert needle in err and "Traceback" not in err


def test_missing_file_and_binary_file(tmp_path, capsys):
    code, _, err = run(capsys, "consult", str(tmp_path / "absent.yaml"))
    assert code == 2 and "cannot read" in err
    b = tmp_path / "bin.yaml"
    b.write_bytes(b"\x00\x01\xff\xfe" * 10)
    code, _, err = run(capsys, "consult", str(b))
    assert code == 2 and ("UTF-8" in err or "binary" in err)


def test_huge_file_is_refused(tmp_path, capsys):
    f = tmp_path / "huge.yaml"
    f.write_text("answers: {}\n" + "# padding\n" * 200_000)
    code, _, err = run(capsys, "consult", str(f))
    assert code == 2 and "over the limit" in err


def test_the_command_line_starts_without_its_heavy_libraries():
    """The database, table, spreadsheet and PDF libraries load in the commands that use them, not when the
    command line starts (``triage consult`` and ``triage --help`` never load them)."""
    heavy = ("sqlalchemy", "alembic", "pandas", "fpdf", "xlsxwriter", "python_calamine")
    code = f"import sys, casework.cli; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=CASES.parents[1])
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "[]"


def test_interactive_in_a_real_process():
    answers = "1\n2\n"  # a shortfall; no risk of harm ... then quit
    p = subprocess.run(  # a shortfall, no risk, no distress, the gap not defined
        [sys.executable, "-m", "casework.cli", "consult", "--interactive"],
        input="1\n2\n4\n3\n", capture_output=True, text=True, timeout=60,
    )
    assert p.returncode == 0, p.stderr
    assert "Cannot recommend yet: Define the gap first" in p.stdout
    p = subprocess.run(
        [sys.executable, "-m", "casework.cli", "consult", "-i"],
        input=answers + "why\nquit\n", capture_output=True, text=True, timeout=60,
    )
    assert p.returncode == 0 and "Why:" in p.stdout


@pytest.mark.slow  # more than 5 s on a quiet machine
def test_verify_a_draft_rule_folder(capsys, tmp_path):
    """``triage verify --rules``: a draft folder is checked instead of the shipped rule base (which
    tests/test_verify.py checks through the same function), with exit code 1 for its errors."""
    from test_verify import MINI

    from rules.model import HERE

    folder = tmp_path / "draft"
    folder.mkdir()
    shutil.copy(HERE / "vocabulary.yaml", folder / "vocabulary.yaml")
    (folder / "mini.yaml").write_text(MINI)
    code, out, _ = run(capsys, "verify", "--rules", str(folder), "--format", "json")
    report = json.loads(out)
    assert code == 1 and report["tree"]["exhaustive"] is True
    # the draft's own rules were checked, not the shipped ones: its questions behind unconcluded findings
    assert "never_asked" in {e["check"] for e in report["errors"]}
    assert report["coverage"]["rules"] == MINI.count("- id:")
    code, out, _ = run(capsys, "verify", "--rules", str(folder))
    assert code == 1 and "ERROR   [never_asked] question leavers_new" in out
    code, _, err = run(capsys, "verify", "--rules", str(tmp_path / "nowhere"))
    assert code == 2 and "not a folder of rule files" in err
    code, _, err = run(capsys, "verify", "--rules", str(tmp_path))
    assert code == 2 and "no vocabulary.yaml" in err


def test_rules_export(capsys, rb):
    code, out, _ = run(capsys, "rules", "--format", "csv")
    lines = out.splitlines()
    assert code == 0 and len(lines) == len(rb.rules) + 1
    assert lines[0].startswith("rule,layer,file,") and "targets_conflict" in lines[0]
    code, out, _ = run(capsys, "rules", "--format", "markdown")
    assert code == 0 and out.count("\n") == len(rb.rules) + 2
