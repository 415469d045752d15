"""Reliability: privacy and exposure. Case data is personal data.

- No network at run time: every socket connection and name lookup is refused and recorded around a
  full consultation with explanation, a report in all four formats, a batch run, a SQLite store round
  trip, the command line and a session of the app; none is attempted.
- The app's settings (``.streamlit/config.toml``): no usage statistics, the server listens on 127.0.0.1
  only, XSRF protection on, no error details shown to users, an upload size limit (and a smaller one on
  each uploader that needs less).
- Nothing personal in the logs: with every logger at DEBUG, a consultation, saves (one that works, one
  that fails), reports, a batch and the command line write none of the case details or answers.
"""

from __future__ import annotations

import io
import json
import logging
import socket
from pathlib import Path

import pytest
import yaml
from page_util import page_app
from streamlit.testing.v1 import AppTest

from casework import batch
from casework.answers_io import MAX_ANSWERS_FILE_BYTES
from casework.cli import main as cli_main
from casework.cli.cases import MAX_IMPORT_BYTES
from casework.report import FORMATS, render_report
from casework.store import Store, StoreError
from knowledge.loader import load_knowledge
from rules.explain import consult_explained

tomllib = pytest.importorskip("tomllib")  # Python 3.11+
ROOT = Path(__file__).resolve().parents[1]
CASES = {c.id: c for c in load_knowledge().cases}
QIDS = [q.id for q in load_knowledge().questions]


# --------------------------------------------------------------------------- no network


@pytest.fixture
def no_network(monkeypatch):
    """Refuse (and record) every network connection and name lookup; local unix sockets stay allowed."""
    attempts: list[str] = []
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def guard(real):
        def connect(self, address, *a, **kw):
            if self.family == socket.AF_UNIX:
                return real(self, address, *a, **kw)
            attempts.append(f"connect {address!r}")
            raise OSError("network access is blocked in this test")
        return connect

    def refuse(what):
        def call(*args, **kw):
            attempts.append(f"{what} {args[:2]!r}")
            raise OSError("network access is blocked in this test")
        return call

    monkeypatch.setattr(socket.socket, "connect", guard(real_connect))
    monkeypatch.setattr(socket.socket, "connect_ex", guard(real_connect_ex))
    monkeypatch.setattr(socket, "create_connection", refuse("create_connection"))
    monkeypatch.setattr(socket, "getaddrinfo", refuse("getaddrinfo"))
    monkeypatch.setattr(socket, "gethostbyname", refuse("gethostbyname"))
    return attempts


def test_the_network_guard_works(no_network):
    with pytest.raises(OSError), socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.connect(("127.0.0.1", 9))
    with pytest.raises(OSError):
        socket.getaddrinfo("example.org", 443)
    assert len(no_network) == 2
    no_network.clear()


def test_everything_runs_without_the_network(no_network, tmp_path, monkeypatch, capsys):
    case = CASES["call-centre"]
    c = consult_explained(case.answers)
    assert c.primary == "work_system" and c.explanation["how"]
    for fmt in FORMATS:
        assert render_report({"title": "t", "who": "w", "notes": "n", "answers": case.answers}, fmt)
    rows = batch.worked_case_rows()
    read, columns, _ = batch.read_table(batch.rows_to_csv(rows), "cases.csv")
    results = batch.triage_rows(read)
    for fmt in ("csv", "xlsx"):
        assert batch.table_bytes(results, batch.output_columns(columns), fmt, summary=batch.summarise(results))
    with Store(f"sqlite:///{tmp_path / 'c.sqlite3'}") as store:
        cid = store.create_case({"title": "t"}, case.answers)
        copy = store.import_case(store.export_case(cid))
        assert store.get_case(copy)["answers"] == store.get_case(cid)["answers"]
        store.delete_case(cid)
    answers = tmp_path / "a.yaml"
    answers.write_text(yaml.safe_dump({"answers": case.answers}))
    assert cli_main(["consult", str(answers), "--explain", "--format", "json"]) == 0
    assert cli_main(["report", str(answers), "-o", str(tmp_path / "r.pdf")]) == 0
    capsys.readouterr()
    monkeypatch.setenv("TRIAGE_DATABASE_URL", f"sqlite:///{tmp_path / 'app.sqlite3'}")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params.update(case.answers)  # a whole case, opened from a link, to its result
    at.run()
    at.button(key="save_case").click().run()
    assert not at.exception and "case_id" in at.session_state
    assert no_network == []


# --------------------------------------------------------------------------- the app's settings


def app_config() -> dict:
    with open(ROOT / ".streamlit" / "config.toml", "rb") as fh:
        return tomllib.load(fh)


def test_no_usage_statistics_local_only_xsrf_on_no_error_details():
    cfg = app_config()
    assert cfg["browser"]["gatherUsageStats"] is False
    assert cfg["server"]["address"] == "127.0.0.1"  # `--server.address` on the command line overrides it
    assert cfg["server"]["enableXsrfProtection"] is True
    assert cfg["server"].get("enableCORS", True) is True  # no cross-origin requests
    assert cfg["client"]["showErrorDetails"] == "none"  # no traceback on a user's screen
    assert cfg["global"].get("developmentMode", False) is False


def test_an_upload_size_limit_fits_every_uploader():
    limit_mb = app_config()["server"]["maxUploadSize"]
    assert isinstance(limit_mb, int) and 0 < limit_mb <= 50
    assert limit_mb * 1024 * 1024 >= batch.MAX_BYTES  # the largest file a page accepts (a batch)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    assert at.file_uploader(key="upload").proto.max_upload_size_mb * 1024 * 1024 >= MAX_ANSWERS_FILE_BYTES
    assert at.file_uploader(key="upload").proto.max_upload_size_mb <= 1
    at = page_app("batch", timeout=60)
    at.run()
    assert at.file_uploader(key="batch_upload").proto.max_upload_size_mb * 1024 * 1024 >= batch.MAX_BYTES
    at = page_app("cases", timeout=60)
    at.run()
    size = at.file_uploader(key="cases_import_file").proto.max_upload_size_mb
    assert 0 < size <= 5 and size * 1024 * 1024 >= MAX_IMPORT_BYTES


# --------------------------------------------------------------------------- nothing personal in the logs

TITLE, WHO, NOTES, TEAM = "Xanthippe-Quill-9031", "Ottoline-Marsh-2207", "Notes-Vireo-5514", "Team-Galloway-8830"


def test_nothing_personal_is_written_to_the_logs(caplog, tmp_path, capsys):
    caplog.set_level(logging.DEBUG)
    case = CASES["call-centre"]
    header = {"title": TITLE, "who": WHO, "notes": NOTES}
    consult_explained(case.answers)
    with Store(f"sqlite:///{tmp_path / 'c.sqlite3'}") as store:
        cid = store.create_case(header, case.answers)
        store.update_case(cid, {"notes": NOTES + " more"})
        store.import_case(store.export_case(cid))
    with pytest.raises(StoreError):  # a save that fails: the error is logged, the case data is not
        Store(f"sqlite:///file:{tmp_path / 'c.sqlite3'}?mode=ro&uri=true").create_case(header, case.answers)
    for fmt in FORMATS:
        render_report({**header, "answers": case.answers}, fmt)
    rows = [{**r, "team": TEAM, "case_id": TITLE} for r in batch.worked_case_rows()[:5]]
    read, columns, _ = batch.read_table(batch.rows_to_csv(rows), f"{WHO}.csv")
    batch.table_bytes(batch.triage_rows(read), batch.output_columns(columns), "xlsx")
    answers = tmp_path / "a.json"
    answers.write_text(json.dumps({**header, "answers": case.answers}))
    assert cli_main(["cases", "--database", f"sqlite:///{tmp_path / 'c.sqlite3'}", "save", str(answers)]) == 0
    assert cli_main(["consult", str(answers), "--explain"]) == 0
    capsys.readouterr()

    assert caplog.records, "the test must see the log records it checks"
    buf = io.StringIO()
    handler = logging.StreamHandler(buf)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    for record in caplog.records:
        buf.write(handler.format(record) + "\n")  # the message with its arguments and any traceback
    text = buf.getvalue()
    for secret in (TITLE, WHO, NOTES, TEAM):
        assert secret not in text
    for qid in QIDS:  # no answer (question id and value) appears either
        assert qid not in text, qid
