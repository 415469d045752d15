"""Issue 21, the store's part: the attacks of a hostile colleague on a shared deployment, each run on
SQLite and on a real PostgreSQL server, each holding.

1. an import believes nothing the file says (owner, times, results, ids);
2. a deleted case's id is never given again, and a case's history is its own;
4. erasure finds the person however the name is spaced, cased or shortened, in who, title and
   notes, and leaves no erased word readable in the live database files (data files and the
   write-ahead log of either backend).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from casework.access import LOCAL_OPERATOR, Actor
from casework.erasure import matching_fields
from casework.store import CaseDataError, CaseNotFound, Store, migrate
from knowledge.loader import load_knowledge
from rules.model import load_rulebase

ALICE = Actor("alice@example.test", "team_leader", "Alice", ("sales",))
BOB = Actor("bob@example.test", "team_leader", "Bob", ("service",))
ADA = Actor("ada@example.test", "admin", "Ada")


def answers():
    return next(c for c in load_knowledge().cases if c.id == "call-centre").answers


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'cases.sqlite3'}"
    else:
        url = request.getfixturevalue("new_database")()
    s = Store(url, actor=None)
    yield s
    s.close()


# --------------------------------------------------------------------------- 1. imports trust nothing


def _bobs_export(store) -> dict:
    cid = store.create_case({"title": "Bob's case", "who": "Casey"}, answers(), actor=BOB)
    return json.loads(json.dumps(store.export_case(cid, actor=BOB)))


@pytest.mark.parametrize("owner", ["removed", "null", "changed"])
def test_import_with_the_owner_removed_null_or_changed_is_the_importers_own(store, owner):
    data = _bobs_export(store)
    if owner == "removed":
        data.pop("owner"), data.pop("org_unit")
    elif owner == "null":
        data["owner"] = data["org_unit"] = None
    else:
        data["owner"], data["org_unit"] = ALICE.id, "sales"
    mine = store.import_case(data, actor=ALICE)
    case = store.get_case(mine, actor=ALICE)
    assert (case["owner"], case["org_unit"]) == (ALICE.id, "sales")
    with pytest.raises(CaseNotFound):
        store.get_case(mine, actor=BOB)
    # an admin's import is the admin's unless they assign it
    data["owner"] = data["org_unit"] = None
    assert store.get_case(store.import_case(data, actor=ADA), actor=ADA)["owner"] == ADA.id
    assigned = store.import_case(data, actor=ADA, owner="Bob@example.test", org_unit="service")
    assert store.get_case(assigned, actor=BOB)["owner"] == BOB.id
    with pytest.raises(Exception, match="only an administrator"):
        store.import_case(data, actor=ALICE, owner=BOB.id)


@pytest.mark.parametrize("when", ["2999-01-01T00:00:00+00:00", "1990-01-01T00:00:00+00:00"])
def test_imported_times_are_the_imports(store, when):
    """A future updated_at escaped retention forever; a past one was purged at once."""
    data = _bobs_export(store)
    data.pop("owner"), data.pop("org_unit")
    data["created_at"] = data["updated_at"] = when
    for x in data["consultations"]:
        x["created_at"] = when
    before = dt.datetime.now(dt.timezone.utc)
    cid = store.import_case(data, actor=ALICE)
    case = store.get_case(cid, actor=ALICE)
    for t in (case["created_at"], case["updated_at"], case["consultations"][0]["created_at"]):
        assert before <= dt.datetime.fromisoformat(t) <= dt.datetime.now(dt.timezone.utc)
    assert cid not in {c["id"] for c in store.purge_candidates(1, actor=ADA)}  # not due at once
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=62)
    assert cid in {c["id"] for c in store.purge_candidates(1, actor=ADA, now=later)}  # and due in time


def test_imported_results_are_never_believed_they_are_consulted_again(store):
    data = _bobs_export(store)
    data.pop("owner"), data.pop("org_unit")
    res = data["consultations"][-1]["result"]
    res["secondary"] = [{"intervention": "coaching", "role": "![x](http://203.0.113.9/p.png)"}]
    res["ruled_out"] = [{"intervention": "training", "reason": "[Sign in again](http://203.0.113.9/login)"}]
    res["primary"]["intervention"] = "mentoring"
    data["consultations"][-1]["rulebase_version"] = "forged <b>version</b> with a long tail of words"
    cid = store.import_case(data, actor=ALICE)
    case = store.get_case(cid, actor=ALICE)
    stored = json.dumps(case["consultations"])
    assert "203.0.113.9" not in stored and "Sign in again" not in stored
    assert len(case["consultations"]) == 1
    rb = load_rulebase()
    assert case["consultations"][0]["rulebase_version"] == rb.version
    assert case["primary"] == "work_system"  # what today's rule base says about these answers
    entry = [e for e in store.audit_entries(actor=ADA) if e["action"] == "import" and e["case_id"] == cid]
    assert [e["detail"] for e in entry] == [f"from case {data['id']}, rule base forgedbversionbwithalong"]
    assert "Casey" not in json.dumps(entry)


def test_an_unknown_id_in_a_file_is_refused_by_name_and_nothing_is_saved(store):
    data = _bobs_export(store)
    data.pop("owner"), data.pop("org_unit")
    before = store.counts(actor=ADA)
    bad = json.loads(json.dumps(data))
    bad["consultations"][-1]["result"]["ruled_out"] = [{"intervention": "hypnosis", "reason": "x"}]
    with pytest.raises(CaseDataError, match="unknown intervention ids \\['hypnosis'\\]"):
        store.import_case(bad, actor=ALICE)
    bad = json.loads(json.dumps(data))
    bad["answers"]["no_such_question"] = "yes"
    with pytest.raises(CaseDataError, match="no_such_question"):
        store.import_case(bad, actor=ALICE)
    bad = json.loads(json.dumps(data))
    bad["plan"] = {"intervention": "hypnosis", "sections": []}
    with pytest.raises(CaseDataError, match="hypnosis"):
        store.import_case(bad, actor=ALICE)
    assert store.counts(actor=ADA) == before


# --------------------------------------------------------------------------- 2. ids never reused


def test_a_deleted_cases_id_is_never_given_again_and_history_is_the_cases_own(store):
    first = store.create_case({"title": "first"}, answers(), actor=ALICE)
    last = store.create_case({"title": "to delete"}, answers(), actor=ALICE)
    store.get_case(last, actor=ALICE)
    store.delete_case(last, actor=ALICE)
    new = store.create_case({"title": "new"}, answers(), actor=BOB)
    assert new > last > first
    history = store.case_history(new, actor=BOB)
    assert {e["actor"] for e in history} == {BOB.id}
    assert [e["action"] for e in history] == ["create"]


def test_migration_0004_moves_the_counter_above_every_audited_id(store):
    """A database made before 0004 (here: at 0003) whose newest case was deleted: after the upgrade
    the next case gets a new id, not the deleted one's; the table rebuild loses no child rows."""
    engine = store.engine
    migrate(engine, "0003")
    now = dt.datetime.now(dt.timezone.utc)
    with engine.begin() as conn:
        for i, title in ((1, "kept"), (2, "deleted")):
            conn.execute(sa.text("INSERT INTO cases (id, title, who, notes, status, created_at, updated_at) "
                                 "VALUES (:i, :t, '', '', 'open', :n, :n)"), {"i": i, "t": title, "n": now})
            conn.execute(sa.text("INSERT INTO answers (case_id, question_id, value, position) "
                                 "VALUES (:i, 'concern', 'current_job', 0)"), {"i": i})
            conn.execute(sa.text("INSERT INTO audit_log (at, actor, role, action, case_id, detail) "
                                 "VALUES (:n, 'bob@example.test', 'team_leader', 'create', :i, '')"), {"i": i, "n": now})
        conn.execute(sa.text("DELETE FROM answers WHERE case_id = 2"))
        conn.execute(sa.text("DELETE FROM cases WHERE id = 2"))
    migrate(engine)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM answers WHERE case_id = 1")).scalar() == 1
    fresh = store.create_case({"title": "after the upgrade"}, answers(), actor=ALICE)
    assert fresh == 3
    assert [e["actor"] for e in store.case_history(fresh, actor=ALICE)] == [ALICE.id]


# --------------------------------------------------------------------------- 4. erasure that erases


@pytest.mark.parametrize(
    "text, found",
    [
        ("Ursula Old", True), ("ursula  OLD", True), ("U. Old", True), ("U Old", True), ("Old, Ursula", True),
        ("Ursula\nOld", True), ("Ｕｒｓｕｌａ Old", True), ("Ursula Oldham", False), ("Ursula", False),
        ("Uma Older", False), ("", False),
    ],
)
def test_a_person_is_found_however_the_name_is_written(text, found):
    assert bool(matching_fields("Ursula Old", {"notes": text})) is found
    assert bool(matching_fields("u.  old", {"who": text})) is found


def test_erasure_lists_the_person_across_who_title_and_notes_before_deleting(store):
    ids = {
        "who": store.create_case({"title": "t", "who": "Ursula  old"}, answers(), actor=ALICE),
        "title": store.create_case({"title": "Review of U. Old", "who": "team"}, answers(), actor=BOB),
        "notes": store.create_case({"title": "t", "who": "x", "notes": "spoke to OLD, Ursula"}, answers(), actor=ALICE),
        "none": store.create_case({"title": "Oldham depot", "who": "Ursa"}, answers(), actor=ALICE),
    }
    listed = {c["id"]: c["found_in"] for c in store.erasure_candidates("Ursula Old", actor=ADA)}
    assert listed == {ids["who"]: ["who"], ids["title"]: ["title"], ids["notes"]: ["notes"]}
    assert store.counts(ids["who"], actor=ADA)["cases"] == 1  # listing deletes nothing
    # only what was listed and confirmed goes
    assert store.erase("Ursula Old", [ids["who"], ids["none"]], actor=ADA) == [ids["who"]]
    assert store.counts(ids["none"], actor=ADA)["cases"] == 1


def _db_files(store) -> list[Path]:
    """The live files of the store's database: the SQLite file and its -wal; the PostgreSQL
    database's folder and the write-ahead log."""
    if store.backend == "sqlite":
        db = Path(store.engine.url.database)
        return [p for p in (db, Path(f"{db}-wal"), Path(f"{db}-journal")) if p.exists()]
    with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("CHECKPOINT")  # what is in shared memory goes to the files, to be read
        data = Path(conn.exec_driver_sql("SHOW data_directory").scalar())
        oid = conn.exec_driver_sql("SELECT oid FROM pg_database WHERE datname = current_database()").scalar()
    return [p for d in (data / "base" / str(oid), data / "pg_wal") for p in d.rglob("*") if p.is_file()]


def _readable(store, words: list[bytes]) -> set[bytes]:
    found = set()
    for p in _db_files(store):
        try:
            blob = p.read_bytes()
        except OSError:  # a file removed while we read (a retired WAL segment)
            continue
        found |= {w for w in words if w in blob}
    return found


@pytest.mark.parametrize("how", ["erase", "purge", "delete"])
def test_no_erased_word_is_left_in_the_live_database_files(store, how):
    tag = uuid.uuid4().hex[:10]
    secret = {"who": f"Quinn{tag} Zed", "title": f"Slump{tag} review", "notes": f"panic{tag} attacks at work"}
    other = store.create_case({"title": f"Keep{tag}", "who": "Someone Else"}, answers(), actor=BOB)
    cid = store.create_case(secret, answers(), actor=ALICE)
    store.update_case(cid, {"notes": secret["notes"] + f" and more{tag}"}, actor=ALICE)
    store.add_monitoring(cid, {"date": "2026-01-05", "measure": "m", "value": 1, "note": f"note{tag}"}, actor=ALICE)
    words = [f"{k}{tag}".encode() for k in ("Quinn", "Slump", "panic", "more", "note")]
    assert _readable(store, words) == set(words)  # the control: the words are in the files before
    if how == "erase":
        assert store.erase(f"quinn{tag}  zed", [cid], actor=ADA) == [cid]
    elif how == "purge":
        with store.engine.begin() as conn:
            conn.execute(sa.text("UPDATE cases SET updated_at = :t WHERE id = :i"),
                         {"t": dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc), "i": cid})
        assert store.purge(1, [cid], actor=ADA) == [cid]
    else:
        store.delete_case(cid, actor=ALICE)
    assert _readable(store, words) == set()
    assert _readable(store, [f"Keep{tag}".encode()]) == {f"Keep{tag}".encode()}  # the others are still there
    assert store.get_case(other, actor=BOB)["title"] == f"Keep{tag}"


def test_the_local_operator_erases_too(tmp_path):
    s = Store(f"sqlite:///{tmp_path / 'c.sqlite3'}")
    cid = s.create_case({"who": "Pat Lee"}, answers())
    assert s.erase("P. Lee", [cid], actor=LOCAL_OPERATOR) == [cid]
    s.close()


# --------------------------------------------------------------------------- 3. server-side sessions


def _claims(who="bob", iat=None, exp=None, nonce=None):
    now = int(dt.datetime.now(dt.timezone.utc).timestamp())
    return {"iss": "http://127.0.0.1:1", "sub": who, "email": f"{who}@example.test", "iat": iat or now,
            "exp": exp or (now + 3600), "nonce": nonce or uuid.uuid4().hex}


def test_a_sign_out_ends_every_copy_of_the_cookie_and_every_older_one(store):
    from casework.sessions import SessionEnded, check, end_all

    idle = dt.timedelta(hours=8)
    now = dt.datetime.now(dt.timezone.utc)
    tab = _claims(iat=int(now.timestamp()) - 10)
    copied_earlier_never_used = _claims(iat=int(now.timestamp()) - 5)
    assert check(store, tab, idle, actor=BOB) is True  # a sign-in: recorded once
    assert check(store, dict(tab), idle, actor=BOB) is False  # another tab, the same cookie
    end_all(store, "bob@example.test")
    for claims in (tab, copied_earlier_never_used):
        with pytest.raises(SessionEnded) as ended:
            check(store, claims, idle, actor=BOB)
        assert ended.value.why == "signed_out"
    later = _claims(iat=int(now.timestamp()) + 2)  # signing in again works
    assert check(store, later, idle, actor=BOB) is True
    signs = [e for e in store.audit_entries(actor=ADA) if e["action"] == "sign_in"]
    assert len(signs) == 2


def test_the_id_tokens_expiry_and_the_idle_timeout_end_a_session(store):
    from casework.sessions import SessionEnded, check

    idle = dt.timedelta(minutes=30)
    now = dt.datetime.now(dt.timezone.utc)
    expiring = _claims(exp=int(now.timestamp()) + 60)
    assert check(store, expiring, idle, now=now, actor=BOB)
    with pytest.raises(SessionEnded, match="expired"):
        check(store, expiring, idle, now=now + dt.timedelta(seconds=61), actor=BOB)
    with pytest.raises(SessionEnded, match="expired"):  # and stays ended
        check(store, expiring, idle, now=now, actor=BOB)
    with pytest.raises(SessionEnded, match="expired"):  # a token past its expiry never starts one
        check(store, _claims(exp=int(now.timestamp()) - 1), idle, now=now, actor=BOB)
    idle_one = _claims(exp=int(now.timestamp()) + 10 * 3600)
    check(store, idle_one, idle, now=now, actor=BOB)
    check(store, idle_one, idle, now=now + dt.timedelta(minutes=29), actor=BOB)  # used: last seen moves on
    check(store, idle_one, idle, now=now + dt.timedelta(minutes=58), actor=BOB)
    with pytest.raises(SessionEnded, match="idle"):
        check(store, idle_one, idle, now=now + dt.timedelta(minutes=89), actor=BOB)


# --------------------------------------------------------------------------- 5. one place for settings


def test_the_command_line_purges_with_the_retention_the_admin_page_reads(tmp_path, monkeypatch, capsys):
    """The attack: `triage cases purge` ignored `[access] retention_months` in secrets.toml, so a
    daily timer kept data 24 months instead of 1."""
    from casework import settings
    from casework.cli import main

    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "secrets.toml").write_text("[access]\nretention_months = 1\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TRIAGE_RETENTION_MONTHS", raising=False)
    monkeypatch.delenv("TRIAGE_ACCESS", raising=False)
    monkeypatch.delenv("TRIAGE_SECRETS", raising=False)
    url = f"sqlite:///{tmp_path / 'c.sqlite3'}"
    s = Store(url)
    old, new = s.create_case({"title": "old"}, answers()), s.create_case({"title": "new"}, answers())
    with s.engine.begin() as conn:
        conn.execute(sa.text("UPDATE cases SET updated_at = :t WHERE id = :i"),
                     {"t": dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=62), "i": old})
    # the app's Access page reads the secrets Streamlit loaded: the same rule, the same answer
    assert settings.retention_months({"access": {"retention_months": 1}}) == 1
    assert settings.retention_months() == 1
    assert main(["cases", "--database", url, "purge", "--yes"]) == 0
    assert [c["id"] for c in s.list_cases()] == [new]
    capsys.readouterr()
    assert main(["settings", "--format", "json"]) == 0
    shown = {r["setting"]: r for r in json.loads(capsys.readouterr().out)}
    assert shown["retention"] == {"setting": "retention", "value": "1 months", "from": "secrets [access]"}
    monkeypatch.setenv("TRIAGE_RETENTION_MONTHS", "6")  # the environment wins, everywhere
    assert settings.retention_months() == 6 == settings.retention_months({"access": {"retention_months": 1}})
    s.close()


def test_the_settings_table_in_the_docs_is_the_modules():
    from casework.settings import markdown_table

    page = (Path(__file__).resolve().parents[1] / "docs" / "administrator.md").read_text(encoding="utf-8")
    assert markdown_table() in page


def test_a_role_removed_ends_every_session_of_that_person(store):
    from casework.sessions import SessionEnded, check

    idle = dt.timedelta(hours=8)
    tab, laptop = _claims(), _claims()
    check(store, tab, idle, actor=BOB)
    check(store, laptop, idle, actor=BOB)
    with pytest.raises(SessionEnded, match="removed"):
        check(store, tab, idle, actor=None)  # the access file no longer knows Bob
    with pytest.raises(SessionEnded, match="removed"):  # his other browser too, even with the role back
        check(store, laptop, idle, actor=BOB)
    stranger = _claims("stranger")  # someone never given a role is not "removed": they see "no access yet"
    assert check(store, stranger, idle, actor=None) is True
    assert check(store, stranger, idle, actor=None) is False
    assert [e["actor"] for e in store.audit_entries(actor=ADA) if e["action"] == "unknown_user"] == [
        "stranger@example.test"]


def test_the_access_re_read_interval_is_a_setting(monkeypatch, capsys, tmp_path):
    """How soon a changed access file applies: 30 s, or ``TRIAGE_ACCESS_RELOAD_SECONDS``; a bad value is
    refused with a message that names the variable (the OpenID tests run with 3 s)."""
    from casework import settings
    from casework.cli import main

    monkeypatch.delenv("TRIAGE_ACCESS_RELOAD_SECONDS", raising=False)
    monkeypatch.delenv("TRIAGE_SECRETS", raising=False)
    monkeypatch.delenv("TRIAGE_ACCESS", raising=False)
    monkeypatch.chdir(tmp_path)  # no secrets file here
    assert settings.access_reload_seconds() == 30
    monkeypatch.setenv("TRIAGE_ACCESS_RELOAD_SECONDS", "5")
    assert settings.access_reload_seconds() == 5
    assert main(["settings", "--format", "json"]) == 0
    shown = {r["setting"]: r for r in json.loads(capsys.readouterr().out)}
    assert shown["access re-read"] == {"setting": "access re-read", "value": "every 5 seconds",
                                       "from": "environment TRIAGE_ACCESS_RELOAD_SECONDS"}
    for bad in ("0", "soon"):
        monkeypatch.setenv("TRIAGE_ACCESS_RELOAD_SECONDS", bad)
        with pytest.raises(settings.SettingsError, match="TRIAGE_ACCESS_RELOAD_SECONDS"):
            settings.access_reload_seconds()
