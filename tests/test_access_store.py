"""Access in the case store (casework.access, casework.store, casework.audit), on SQLite and on a
real PostgreSQL server: roles and ownership in the store's own queries, refusals worded as a missing
case, the append-only audit log without case content, retention, erasure, the migration of older
stores, the access configuration and the command line as the local operator.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import sys

import pytest
import sqlalchemy as sa

from casework.access import (
    LOCAL_OPERATOR,
    AccessConfigError,
    Actor,
    load_config,
    parse_config,
    resolve_user,
    retention_months,
)
from casework.audit import to_csv
from casework.cli import main
from casework.store import CaseDataError, CaseNotFound, Store, StoreError, migrate, retention_cutoff
from knowledge.loader import load_knowledge

ALICE = Actor("alice@example.test", "team_leader", "Alice", ("sales",))
BOB = Actor("bob@example.test", "team_leader", "Bob", ("service",))
LENA = Actor("lena@example.test", "ld", "Lena", ("sales",))
ADA = Actor("ada@example.test", "admin", "Ada")
SECRET_WORDS = ("Quarterly slump", "Jordan Example", "panic attacks at work")


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


@pytest.fixture
def cases(store):
    """One case each for Alice (sales), Bob (service), and one without an owner; Alice's has a
    plan and a monitoring entry. Returns their ids."""
    a = store.create_case({"title": SECRET_WORDS[0], "who": SECRET_WORDS[1], "notes": SECRET_WORDS[2]},
                          answers(), actor=ALICE)
    b = store.create_case({"title": "Bob's case", "who": "Casey"}, answers(), actor=BOB)
    u = store.create_case({"title": "From the command line", "who": "Dee"}, answers(), actor=LOCAL_OPERATOR)
    store.add_monitoring(a, {"date": "2026-01-05", "kind": "session", "events": [1, 2], "note": "first"}, actor=ALICE)
    return {"alice": a, "bob": b, "unowned": u}


def test_a_store_without_an_actor_refuses_every_call(store):
    with pytest.raises(StoreError, match="without saying who acts"):
        store.list_cases()
    with pytest.raises(StoreError, match="without saying who acts"):
        store.create_case({"title": "x"}, {})


def test_each_role_lists_exactly_the_cases_it_may_see(store, cases):
    def ids(actor):
        return {r["id"] for r in store.list_cases(actor=actor)}

    assert ids(ALICE) == {cases["alice"]}
    assert ids(BOB) == {cases["bob"]}
    assert ids(LENA) == {cases["alice"]}  # her unit (sales); not Bob's (service), not the unowned one
    assert ids(ADA) == set(cases.values())  # the admin-only bucket too
    owner = {r["id"]: (r["owner"], r["org_unit"]) for r in store.list_cases(actor=ADA)}
    assert owner[cases["alice"]] == ("alice@example.test", "sales")
    assert owner[cases["unowned"]] == (None, None)


@pytest.mark.parametrize(
    "call",
    [
        lambda s, n, a: s.get_case(n, actor=a),
        lambda s, n, a: s.export_case(n, actor=a),
        lambda s, n, a: s.update_case(n, {"title": "taken over"}, actor=a),
        lambda s, n, a: s.rediagnose(n, actor=a),
        lambda s, n, a: s.rediagnose(n, answers(), actor=a),
        lambda s, n, a: s.delete_case(n, actor=a),
        lambda s, n, a: s.get_plan(n, actor=a),
        lambda s, n, a: s.save_plan(n, {"intervention": "coaching", "sections": []}, actor=a),
        lambda s, n, a: s.add_monitoring(n, {"date": "2026-01-01", "measure": "m", "value": 1}, actor=a),
        lambda s, n, a: s.delete_monitoring(n, 1, actor=a),
        lambda s, n, a: s.progress(n, actor=a),
        lambda s, n, a: s.case_history(n, actor=a),
        lambda s, n, a: s.record_export(n, "pdf", actor=a),
    ],
    ids=["get", "export", "update", "rediagnose", "rediagnose-answers", "delete", "get_plan", "save_plan",
         "add_monitoring", "delete_monitoring", "progress", "history", "record_export"],
)
def test_someone_elses_case_is_refused_like_a_missing_one(store, cases, call):
    missing = max(cases.values()) + 1000
    with pytest.raises(CaseNotFound) as gone:
        call(store, missing, BOB)
    with pytest.raises(CaseNotFound) as refused:
        call(store, cases["alice"], BOB)
    assert str(refused.value) == str(gone.value).replace(str(missing), str(cases["alice"]))
    with pytest.raises(CaseNotFound):
        call(store, cases["unowned"], LENA)  # the admin-only bucket
    # nothing changed: Alice's case is whole
    case = store.get_case(cases["alice"], actor=ALICE)
    assert case["title"] == SECRET_WORDS[0] and len(case["monitoring"]) == 1 and len(case["consultations"]) == 1
    # the attempt is in the audit log, as a refusal by Bob
    refusals = [e for e in store.audit_entries(actor=ADA) if e["action"] == "refused"]
    assert {(e["actor"], e["case_id"]) for e in refusals} >= {("bob@example.test", cases["alice"])}


def test_counts_of_someone_elses_case_look_like_a_missing_case(store, cases):
    zeros = store.counts(max(cases.values()) + 1000, actor=BOB)
    assert set(zeros.values()) == {0}
    assert store.counts(cases["alice"], actor=BOB) == zeros
    assert store.counts(cases["alice"], actor=ALICE)["cases"] == 1


def test_ld_staff_work_on_their_units_cases(store, cases):
    store.update_case(cases["alice"], {"status": "closed"}, actor=LENA)
    assert store.get_case(cases["alice"], actor=LENA)["status"] == "closed"
    with pytest.raises(CaseNotFound):
        store.get_case(cases["bob"], actor=LENA)


def test_import_of_someone_elses_export_is_refused_and_own_import_is_owned(store, cases):
    exported = store.export_case(cases["alice"], actor=ALICE)
    assert exported["owner"] == "alice@example.test" and exported["org_unit"] == "sales"
    with pytest.raises(CaseNotFound) as refused:
        store.import_case(json.loads(json.dumps(exported)), actor=BOB)
    assert str(refused.value) == f"no case with id {cases['alice']}"
    before = {r["id"] for r in store.list_cases(actor=ADA)}
    assert {r["id"] for r in store.list_cases(actor=ADA)} == before  # nothing was stored
    mine = store.import_case(exported, actor=ALICE)
    assert store.get_case(mine, actor=ALICE)["owner"] == "alice@example.test"
    anon = {k: v for k, v in exported.items() if k not in ("owner", "org_unit")}
    theirs = store.import_case(anon, actor=BOB)  # an export without an owner becomes the importer's
    assert store.get_case(theirs, actor=BOB)["owner"] == "bob@example.test"
    with pytest.raises(CaseNotFound):
        store.get_case(theirs, actor=ALICE)


def test_only_admins_assign_read_the_audit_log_purge_and_erase(store, cases):
    for call in (
        lambda a: store.assign_case(cases["unowned"], "bob@example.test", "service", actor=a),
        lambda a: store.audit_entries(actor=a),
        lambda a: store.purge_candidates(24, actor=a),
        lambda a: store.purge(24, actor=a),
        lambda a: store.erasure_candidates("Dee", actor=a),
        lambda a: store.counts(actor=a),
        lambda a: store.create_case({"title": "t"}, answers(), actor=a, owner="someone@example.test"),
    ):
        with pytest.raises(StoreError, match="only an administrator"):
            call(LENA)
    store.assign_case(cases["unowned"], "Bob@Example.test", "service", actor=ADA)
    assert {r["id"] for r in store.list_cases(actor=BOB)} == {cases["bob"], cases["unowned"]}


def test_audit_log_records_every_kind_of_access_without_case_content(store, cases):
    a = cases["alice"]
    store.get_case(a, actor=ALICE)
    store.update_case(a, {"notes": "more notes about " + SECRET_WORDS[1]}, actor=ALICE)
    store.rediagnose(a, actor=ALICE)
    store.export_case(a, actor=ALICE)
    store.record_export(a, "pdf", actor=LENA)
    store.save_plan(a, {"intervention": "work_system", "sections": []}, actor=ALICE)
    store.import_case(store.export_case(a, actor=ALICE), actor=ALICE)
    store.record_event("sign_in", actor=ALICE)
    store.delete_case(a, actor=ALICE)
    entries = store.audit_entries(actor=ADA)
    kinds = {(e["actor"], e["action"]) for e in entries if e["case_id"] == a}
    assert {
        ("alice@example.test", k)
        for k in ("create", "view", "change", "rediagnose", "export", "plan", "monitoring", "delete")
    } <= kinds
    assert ("lena@example.test", "export") in kinds
    assert {e["role"] for e in entries if e["actor"] == "alice@example.test"} == {"team_leader"}
    assert any(e["action"] == "import" for e in entries) and any(e["action"] == "sign_in" for e in entries)
    # views are coalesced: the get_case calls above made one view entry, not one per call
    assert sum(1 for e in entries if e["case_id"] == a and e["action"] == "view" and e["actor"] == ALICE.id) == 1
    # no case content anywhere in the log or its CSV export
    blob = json.dumps(entries) + to_csv(entries)
    for word in (*SECRET_WORDS, "Bob's case", "Casey", "work_system", "call", "targets_conflict"):
        assert word not in blob
    # the deleted case's own history is gone with it (only admins still read its entries)
    with pytest.raises(CaseNotFound):
        store.case_history(a, actor=ALICE)
    assert store.case_history(cases["bob"], actor=BOB)[0]["action"] == "create"


def test_audit_log_is_append_only_in_the_database(store, cases):
    with store.engine.connect() as conn:
        for sql in ("UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log"):
            with pytest.raises(sa.exc.DBAPIError, match="append-only"):
                with conn.begin():
                    conn.exec_driver_sql(sql)
        assert conn.exec_driver_sql("SELECT count(*) FROM audit_log").scalar() >= 4


def _rows(store, case_ids) -> dict[str, int]:
    """Rows left in every table for these case ids, counted in the database itself."""
    ids = ",".join(str(int(i)) for i in case_ids)
    out = {}
    with store.engine.connect() as conn:
        out["cases"] = conn.exec_driver_sql(f"SELECT count(*) FROM cases WHERE id IN ({ids})").scalar()
        for t in ("answers", "consultations", "plans", "monitoring_entries"):
            out[t] = conn.exec_driver_sql(f"SELECT count(*) FROM {t} WHERE case_id IN ({ids})").scalar()
    return out


def test_purge_deletes_what_is_past_retention_for_real(store, cases):
    store.save_plan(cases["alice"], {"intervention": "work_system", "sections": []}, actor=ALICE)
    old = dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)
    with store.engine.begin() as conn:  # Alice's and the unowned case were last changed in 2020
        conn.execute(sa.text("UPDATE cases SET updated_at = :t WHERE id IN (:a, :u)"),
                     {"t": old, "a": cases["alice"], "u": cases["unowned"]})
    before = _rows(store, [cases["alice"]])
    assert before["cases"] == before["consultations"] == before["plans"] == before["monitoring_entries"] == 1
    assert before["answers"] > 5
    due = store.purge_candidates(24, actor=ADA)
    assert [c["id"] for c in due] == sorted([cases["alice"], cases["unowned"]])
    # only the listed (confirmed) ids go, each checked again: Bob's recent case is not past retention
    gone = store.purge(24, [cases["alice"], cases["bob"]], actor=ADA)
    assert gone == [cases["alice"]]
    assert _rows(store, [cases["alice"]]) == dict.fromkeys(
        ("cases", "answers", "consultations", "plans", "monitoring_entries"), 0)
    assert _rows(store, [cases["bob"]])["cases"] == 1
    assert store.purge(24, actor=ADA) == [cases["unowned"]]
    entries = [e for e in store.audit_entries(actor=ADA) if e["action"] == "purge"]
    assert [(e["case_id"], e["detail"]) for e in entries] == [(cases["alice"], "retention 24 months"),
                                                              (cases["unowned"], "retention 24 months")]
    assert SECRET_WORDS[0] not in json.dumps(entries)


def test_erasure_of_one_persons_cases(store, cases):
    other = store.create_case({"title": "Second case", "who": "  jordan EXAMPLE "}, answers(), actor=BOB)
    listed = store.erasure_candidates("Jordan Example", actor=ADA)
    assert {c["id"] for c in listed} == {cases["alice"], other}
    assert store.erase("Jordan Example", [cases["alice"], cases["bob"], other], actor=ADA) == sorted(
        [cases["alice"], other])
    assert _rows(store, [cases["alice"], other]) == dict.fromkeys(
        ("cases", "answers", "consultations", "plans", "monitoring_entries"), 0)
    assert _rows(store, [cases["bob"]])["cases"] == 1
    erased = [e for e in store.audit_entries(actor=ADA) if e["action"] == "erase"]
    assert sorted(e["case_id"] for e in erased) == sorted([cases["alice"], other])
    assert "jordan" not in json.dumps(erased).lower()
    with pytest.raises(CaseDataError):
        store.erasure_candidates("   ", actor=ADA)


def test_migration_puts_existing_cases_in_the_admin_only_bucket(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    old = Store(url)
    migrate(old.engine, "0002")
    now = dt.datetime.now(dt.timezone.utc)
    with old.engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO cases (title, who, notes, status, created_at, updated_at) "
                             "VALUES ('before sign-in', 'Pat', '', 'open', :n, :n)"), {"n": now})
    old.close()
    s = Store(url, actor=None)
    rows = s.list_cases(actor=ADA)
    assert [(r["title"], r["owner"]) for r in rows] == [("before sign-in", None)]
    assert s.list_cases(actor=LENA) == [] and s.list_cases(actor=ALICE) == []
    s.close()


def test_retention_cutoff_is_calendar_months():
    now = dt.datetime(2026, 3, 31, 12, tzinfo=dt.timezone.utc)
    assert retention_cutoff(24, now) == dt.datetime(2024, 3, 31, 12, tzinfo=dt.timezone.utc)
    assert retention_cutoff(1, now) == dt.datetime(2026, 2, 28, 12, tzinfo=dt.timezone.utc)
    assert retention_cutoff(3, now) == dt.datetime(2025, 12, 31, 12, tzinfo=dt.timezone.utc)


# --------------------------------------------------------------------------- the configuration


CONFIG = """
groups_claim = "roles"
retention_months = 18
[users]
"Bob@Example.test" = { role = "team_leader", unit = "service" }
[groups]
"team-leaders" = { role = "team_leader", unit = "sales" }
"ld-sales" = { role = "ld", units = ["sales"] }
"ld-service" = { role = "ld", units = ["service"] }
"triage-admins" = { role = "admin" }
"""


def test_access_config_maps_emails_and_groups_to_roles(tmp_path, monkeypatch):
    p = tmp_path / "access.toml"
    p.write_text(CONFIG, encoding="utf-8")
    monkeypatch.setenv("TRIAGE_ACCESS", str(p))
    monkeypatch.delenv("TRIAGE_RETENTION_MONTHS", raising=False)
    cfg = load_config()
    assert retention_months(cfg) == 18
    monkeypatch.setenv("TRIAGE_RETENTION_MONTHS", "6")
    assert retention_months(cfg) == 6
    bob = resolve_user({"email": "BOB@example.test", "name": "Bob", "roles": ["triage-admins"]}, cfg)
    assert (bob.id, bob.role, bob.units) == ("bob@example.test", "team_leader", ("service",))  # email wins
    lena = resolve_user({"email": "l@x.test", "roles": ["ld-sales", "ld-service", "team-leaders"]}, cfg)
    assert (lena.role, lena.units) == ("ld", ("sales", "service"))
    assert resolve_user({"email": "a@x.test", "roles": ["triage-admins"]}, cfg).is_admin
    assert resolve_user({"email": "s@x.test", "roles": ["visitors"]}, cfg) is None
    assert resolve_user({"email": "s@x.test"}, cfg) is None
    assert resolve_user({"email": "s@x.test", "groups": ["triage-admins"]}, cfg) is None  # not the claim named


@pytest.mark.parametrize(
    "text, problem",
    [
        ('[users]\n"a@x" = { role = "boss" }', "role 'boss' is not one of"),
        ('[groups]\n"g" = { role = "ld" }', "needs the units"),
        ('[users]\n"a@x" = { role = "admin", colour = "red" }', "unknown keys ['colour']"),
        ("retention_months = 0", "retention_months"),
        ("colour = 1", "unknown settings ['colour']"),
        ("[users\n", "not valid TOML"),
    ],
)
def test_a_bad_access_config_names_the_problem(tmp_path, text, problem):
    p = tmp_path / "access.toml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(AccessConfigError, match=problem.replace("[", r"\[").replace("(", r"\(")):
        load_config(p)


def test_the_empty_config_knows_no_one():
    assert resolve_user({"email": "a@x.test", "groups": ["admins"]}, parse_config({})) is None


# --------------------------------------------------------------------------- the command line


def test_cli_acts_as_the_local_operator_and_purges_and_erases(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("TRIAGE_DATABASE_URL", raising=False)
    monkeypatch.delenv("TRIAGE_RETENTION_MONTHS", raising=False)
    monkeypatch.delenv("TRIAGE_ACCESS", raising=False)
    db = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    s = Store(db)
    kept = s.create_case({"title": "recent", "who": "Ren"}, answers())
    old = s.create_case({"title": "old", "who": "Olu"}, answers(), owner="alice@example.test", org_unit="sales")
    about = s.create_case({"title": "about Pat", "who": "Pat"}, answers())
    with s.engine.begin() as conn:
        conn.execute(sa.text("UPDATE cases SET updated_at = :t WHERE id = :i"),
                     {"t": dt.datetime(2021, 5, 1, tzinfo=dt.timezone.utc), "i": old})

    def run(*argv, stdin=None):
        if stdin is not None:
            monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = main(["cases", "--database", db, *argv])
        return (code, *capsys.readouterr())

    code, out, err = run("purge", stdin="n\n")
    assert code == 1 and f"case {old:>5}" in err and "Nothing deleted" in err
    code, out, err = run("purge", "--yes", "--format", "json")
    assert code == 0 and json.loads(out) == {"deleted": [old]}
    code, out, err = run("erase", "--who", "pat", "--dry-run")
    assert code == 0 and f"case {about:>5}" in err
    code, out, err = run("erase", "--who", "pat", stdin="yes\n")
    assert code == 0 and f"Deleted 1 case(s): {about}" in out
    assert [r["id"] for r in s.list_cases()] == [kept]
    code, out, err = run("assign", str(kept), "--owner", "bob@example.test", "--unit", "service")
    assert code == 0
    assert s.get_case(kept, actor=BOB)["title"] == "recent"
    code, out, err = run("history", str(kept), "--format", "json")
    assert [e["action"] for e in json.loads(out)][:1] == ["create"]
    entries = s.audit_entries()
    assert {e["actor"] for e in entries} == {"local operator", "bob@example.test"}
    assert {e["action"] for e in entries if e["actor"] == "local operator"} >= {"create", "purge", "erase", "assign"}
    code = main(["audit", "--database", db, "export", "-o", str(tmp_path / "audit.csv")])
    text = (tmp_path / "audit.csv").read_text(encoding="utf-8-sig")
    assert code == 0 and text.startswith("id,at,actor,role,action,case_id,detail")
    assert "local operator,admin,purge" in text and "Pat" not in text and "Olu" not in text
    s.close()


def test_audit_csv_is_safe_to_open_in_a_spreadsheet(store):
    evil = Actor("=HYPERLINK(\"http://x\")@example.test", "team_leader", units=("sales",))
    store.create_case({"title": "t"}, answers(), actor=evil)
    text = to_csv(store.audit_entries(actor=ADA))
    assert "'=HYPERLINK" in text and ",=HYPERLINK" not in text


def test_migration_0003_goes_down_and_up_again(store, cases):
    from alembic import command

    from casework.store import _alembic_config

    cfg = _alembic_config()
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0002")
    with store.engine.connect() as conn:
        assert not sa.inspect(conn).has_table("audit_log")
        assert "owner" not in {c["name"] for c in sa.inspect(conn).get_columns("cases")}
    migrate(store.engine)
    assert [r["owner"] for r in store.list_cases(actor=ADA)] == [None, None, None]  # back in the bucket
