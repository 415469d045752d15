"""``triage cases`` and ``triage report`` on the command line."""

from __future__ import annotations

import io
import json
import socket
import sys
from pathlib import Path

import pytest
from docx import Document as Docx
from pypdf import PdfReader

from casework.cli import main

ROOT = Path(__file__).resolve().parents[1]
CASES = ROOT / "knowledge" / "cases"


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("TRIAGE_DATABASE_URL", raising=False)
    monkeypatch.setenv("TRIAGE_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def run(capsys, *argv: str, stdin: str | None = None, monkeypatch=None) -> tuple[int, str, str]:
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def save(capsys, name: str) -> int:
    code, out, err = run(capsys, "cases", "save", str(CASES / f"{name}.yaml"))
    assert code == 0, err
    return int(out.strip().splitlines()[-1])


def test_save_list_show(capsys, data_dir):
    a = save(capsys, "call-centre")
    b = save(capsys, "risk-of-harm")
    assert (a, b) == (1, 2)
    assert (data_dir / "triage.sqlite3").is_file()
    code, out, _ = run(capsys, "cases", "list", "--format", "json")
    rows = json.loads(out)
    assert code == 0 and [r["id"] for r in rows] == [2, 1]
    assert all({"id", "title"} <= set(r) for r in rows)
    assert rows[1]["title"].startswith("Call centre")
    code, out, _ = run(capsys, "cases", "list", "--intervention", "work_system")
    assert code == 0 and "Call centre" in out and "harm" not in out
    code, out, _ = run(capsys, "cases", "show", str(a))
    assert code == 0 and "Work-system fix" in out and "Consultations (1)" in out
    code, out, _ = run(capsys, "cases", "show", str(a), "--format", "json")
    shown = json.loads(out)
    assert shown["id"] == a and shown["primary"] == "work_system" and "progress" in shown
    code, out, _ = run(capsys, "cases", "save", str(CASES / "call-centre.yaml"), "--format", "json")
    assert code == 0 and json.loads(out)["id"] == 3


def test_export_import_round_trip(capsys, tmp_path):
    cid = save(capsys, "presentation-skills")
    code, out, _ = run(capsys, "cases", "export", str(cid))
    exported = json.loads(out)
    assert code == 0 and exported["id"] == cid and exported["format"] == "intervention-triage-case"
    target = tmp_path / "case.json"
    code, _, err = run(capsys, "cases", "export", str(cid), "-o", str(target))
    assert code == 0 and target.is_file() and "exported" in err
    assert oct(target.stat().st_mode & 0o777) == "0o600"
    code, out, _ = run(capsys, "cases", "import", str(target))
    new_id = int(out.strip().splitlines()[-1])
    assert code == 0 and new_id == cid + 1
    code, out, _ = run(capsys, "cases", "export", str(new_id))
    again = json.loads(out)
    # the case's own words come back; its times are the import's; its result is consulted again
    for key in ("title", "who", "notes", "status", "answers", "plan", "monitoring", "owner", "org_unit"):
        assert again[key] == exported[key], key
    assert [x["result"] for x in again["consultations"]] == [exported["consultations"][-1]["result"]]


def test_delete_asks_first(capsys, monkeypatch):
    cid = save(capsys, "call-centre")
    code, out, err = run(capsys, "cases", "delete", str(cid), stdin="n\n", monkeypatch=monkeypatch)
    assert code == 1 and "Not deleted" in err and "cannot be undone" in err
    code, out, _ = run(capsys, "cases", "list", "--format", "json")
    assert len(json.loads(out)) == 1
    code, out, err = run(capsys, "cases", "delete", str(cid), stdin="", monkeypatch=monkeypatch)
    assert code == 1  # no answer is no
    code, out, _ = run(capsys, "cases", "delete", str(cid), stdin="yes\n", monkeypatch=monkeypatch)
    assert code == 0 and f"Deleted case {cid}" in out
    cid = save(capsys, "call-centre")
    code, out, _ = run(capsys, "cases", "delete", str(cid), "--yes")
    assert code == 0
    code, out, _ = run(capsys, "cases", "list", "--format", "json")
    assert json.loads(out) == []


def test_bad_input_gives_messages_not_tracebacks(capsys, tmp_path):
    code, _, err = run(capsys, "cases", "show", "42")
    assert code == 2 and "no case with id 42" in err
    code, _, err = run(capsys, "cases", "show", "forty-two")
    assert code == 2 and "not a case id" in err
    bad = tmp_path / "bad.yaml"
    bad.write_text("answers: {gap_defined: sideways}\n")
    code, _, err = run(capsys, "cases", "save", str(bad))
    assert code == 2 and "gap_defined" in err and "sideways" in err
    code, _, err = run(capsys, "cases", "save", str(tmp_path / "missing.yaml"))
    assert code == 2 and "cannot read" in err
    code, _, err = run(capsys, "cases", "import", str(CASES / "call-centre.yaml"))
    assert code == 2 and "triage cases save" in err
    notcase = tmp_path / "x.json"
    notcase.write_text('{"answers": {}}')
    code, _, err = run(capsys, "cases", "import", str(notcase))
    assert code == 2 and "not a case export" in err
    for _, _, e in [run(capsys, "cases", "show", "42")]:
        assert "Traceback" not in e


def test_database_unavailable(capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code, out, err = run(
        capsys, "cases", "--database", f"postgresql+psycopg://u:pw@127.0.0.1:{port}/x", "list"
    )
    assert code == 1 and "cannot use the case database" in err and "pw@" not in err and "Traceback" not in err


def test_report_command_writes_every_format(capsys, tmp_path):
    src = CASES / "call-centre.yaml"
    for suffix in ("md", "html", "pdf", "docx"):
        target = tmp_path / f"report.{suffix}"
        code, _, err = run(capsys, "report", str(src), "-o", str(target))
        assert code == 0, err
        data = target.read_bytes()
        if suffix == "pdf":
            text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
        elif suffix == "docx":
            text = "\n".join(p.text for p in Docx(io.BytesIO(data)).paragraphs)
        else:
            text = data.decode()
        assert "Work-system fix" in text and "System fixes" in text
    code, out, _ = run(capsys, "report", str(src))
    assert code == 0 and out.startswith("# Justification report")
    code, _, err = run(capsys, "report", str(src), "-o", str(tmp_path / "r.txt"))
    assert code == 2 and ".pdf" in err
    code, _, err = run(capsys, "report", str(src), "--format", "pdf")
    assert code == 2 and "needs an output file" in err


def test_report_from_an_exported_case_uses_its_plan(capsys, tmp_path):
    from casework.plan import build_plan
    from casework.store import Store

    cid = save(capsys, "presentation-skills")
    store = Store()
    plan = build_plan(store.get_case(cid)["answers"])
    plan["sections"][0]["fields"][0]["value"] = "Freezes when questioned by the board"
    store.save_plan(cid, plan)
    store.close()
    exported = tmp_path / "case.json"
    assert run(capsys, "cases", "export", str(cid), "-o", str(exported))[0] == 0
    code, out, _ = run(capsys, "report", str(exported), "--format", "md")
    assert code == 0 and "Freezes when questioned by the board" in out
