"""The case store (casework.store).

``StoreContract`` is the store test-suite; it runs here against SQLite and, in
``test_store_postgres.py``, against a real PostgreSQL server (each backend class supplies the ``store``
and ``fresh_url`` fixtures). SQLite-only behaviour (WAL, foreign keys, locking, file permissions,
secure deletion) is tested below the contract.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import stat
import threading

import pytest
import sqlalchemy as sa

from casework import store as store_mod
from casework.plan import build_plan
from casework.store import (
    SCHEMA_HEAD,
    TABLES,
    CaseDataError,
    CaseNotFound,
    Store,
    StoreError,
    make_engine,
    migrate,
    resolve_url,
)
from knowledge.loader import load_knowledge
from knowledge.schema import INTERVENTION_IDS


def worked_case(primary: str):
    """The first worked case whose expected primary is ``primary``."""
    for c in load_knowledge().cases:
        if c.expected.status == "complete" and c.expected.primary == primary:
            return c
    raise AssertionError(f"no worked case with primary {primary}")


def case_by_id(cid: str):
    return next(c for c in load_knowledge().cases if c.id == cid)


def save_worked(store: Store, primary: str) -> int:
    c = worked_case(primary)
    return store.create_case({"title": c.title, "who": "Sam", "notes": c.narrative}, c.answers)


def coaching_plan(case_answers: dict) -> dict:
    plan = build_plan(case_answers)
    plan["measures"] = [
        {"measure": "Quotes in the new method", "target": "at least 8 a day", "date": "2020-02-01"},
        {"measure": "Errors per week", "target": "at most 2", "date": "2999-01-01"},
    ]
    plan["sections"][0]["fields"][0]["value"] = "Slow with the new quoting method — «naïve» 😀"
    return plan


class StoreContract:
    """Behaviour every backend must show. Subclasses provide ``store`` and ``fresh_url``."""

    # ------------------------------------------------------------------ migrations

    def test_migrations_from_empty(self, fresh_url):
        s = Store(fresh_url)
        try:
            assert s.list_cases() == []
            with s.engine.connect() as conn:
                names = set(sa.inspect(conn).get_table_names())
                version = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
            assert set(TABLES) <= names
            assert version == SCHEMA_HEAD
        finally:
            s.close()

    def test_upgrade_from_older_schema_keeps_data(self, fresh_url):
        engine = make_engine(fresh_url)
        try:
            assert migrate(engine, "0001") == "0001"
            now = dt.datetime.now(dt.timezone.utc)
            with engine.begin() as conn:
                conn.execute(
                    sa.text(
                        "INSERT INTO cases (id, title, who, notes, status, created_at, updated_at) "
                        "VALUES (7, 'Old case', 'Kim', '', 'open', :now, :now)"
                    ),
                    {"now": now},
                )
                conn.execute(
                    sa.text(
                        "INSERT INTO consultations (case_id, created_at, answers, result, rulebase_version, status, "
                        "primary_intervention, confidence) VALUES (7, :now, '{}', '{\"status\": \"complete\"}', 'old', "
                        "'complete', 'mentoring', 0.8)"
                    ),
                    {"now": now},
                )
        finally:
            engine.dispose()
        s = Store(fresh_url)
        try:
            rows = s.list_cases()
            assert [(r["id"], r["title"], r["primary"], r["result_status"]) for r in rows] == [
                (7, "Old case", "mentoring", "complete")
            ]
            assert s.get_case(7)["consultations"][0]["rulebase_version"] == "old"
            assert s.list_cases(intervention="mentoring")[0]["confidence"] == pytest.approx(0.8)
        finally:
            s.close()

    def test_models_match_migrations(self, store):
        from alembic.autogenerate import compare_metadata
        from alembic.runtime.migration import MigrationContext

        store.ensure_ready()
        with store.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), store_mod.Base.metadata)
        assert diff == []

    # ------------------------------------------------------------------ cases

    def test_create_get_and_list(self, store):
        a = save_worked(store, "coaching")
        b = save_worked(store, "work_system")
        case = store.get_case(a)
        wc = worked_case("coaching")
        assert case["title"] == wc.title and case["who"] == "Sam" and case["status"] == "open"
        assert case["primary"] == "coaching" and case["result_status"] == "complete"
        assert case["result"]["primary"]["intervention"] == "coaching"
        assert len(case["consultations"]) == 1
        assert case["consultations"][0]["rulebase_version"] == case["result"]["rulebase_version"]
        for q, v in case["result"]["answers"].items():
            assert case["answers"][q] == v
        ids = [r["id"] for r in store.list_cases()]
        assert sorted(ids) == sorted([a, b])
        assert [r["id"] for r in store.list_cases(intervention="work_system")] == [b]
        assert [r["id"] for r in store.list_cases({"text": wc.title.split()[0].lower()})] == [a]
        assert store.list_cases(text="no such words here") == []
        assert store.list_cases(text="100%_") == []  # LIKE wildcards are taken literally
        store.update_case(b, {"status": "closed"})
        assert [r["id"] for r in store.list_cases(status="closed")] == [b]
        assert [r["id"] for r in store.list_cases(status="open")] == [a]

    def test_unknown_case_and_bad_input_give_clear_errors(self, store):
        with pytest.raises(CaseNotFound, match="no case with id 999"):
            store.get_case(999)
        with pytest.raises(CaseNotFound, match="whole numbers"):
            store.get_case("abc")
        before = store.counts()
        with pytest.raises(CaseDataError, match="not_a_question"):
            store.create_case({"title": "x"}, {"not_a_question": "yes"})
        with pytest.raises(CaseDataError, match="status"):
            store.create_case({"title": "x", "status": "lost"}, {})
        with pytest.raises(CaseDataError, match="unknown filters"):
            store.list_cases(colour="red")
        assert store.counts() == before

    def test_awkward_text_is_stored_cleanly(self, store):
        cid = store.create_case(
            {"title": "Zoë 😀 中文\x00", "who": "O'Brien; DROP TABLE cases", "notes": "a\ud800b"}, {}
        )
        case = store.get_case(cid)
        assert case["title"] == "Zoë 😀 中文"
        assert case["who"] == "O'Brien; DROP TABLE cases"
        assert case["notes"] == "a\ufffdb"
        assert case["result_status"] == "needs_answer"

    def test_rediagnose_keeps_history(self, store):
        cid = save_worked(store, "coaching")
        answers = dict(store.get_case(cid)["answers"])
        answers["peers_perform"] = "few_or_none"
        answers["targets_conflict"] = "conflicting"
        out = store.rediagnose(cid, answers)
        assert out["changed"] and out["primary"] != "coaching"
        case = store.get_case(cid)
        assert [c["primary"] for c in case["consultations"]] == ["coaching", out["primary"]]
        assert case["answers"]["targets_conflict"] == "conflicting"
        assert case["primary"] == out["primary"]
        again = store.rediagnose(cid)  # same answers, current rule base
        assert not again["changed"]
        assert len(store.get_case(cid)["consultations"]) == 3

    def test_rediagnose_sets_aside_answers_the_rule_base_no_longer_knows(self, store):
        cid = save_worked(store, "coaching")
        with store.engine.begin() as conn:  # as if a question had been retired in a later version
            conn.execute(
                sa.text(
                    "INSERT INTO answers (case_id, question_id, value, position) VALUES (:c, 'retired_q', 'yes', 99)"
                ),
                {"c": cid},
            )
            conn.execute(
                sa.text(
                    "UPDATE answers SET value = 'sometimes' WHERE case_id = :c AND question_id = 'gap_defined'"
                ),
                {"c": cid},
            )
        out = store.rediagnose(cid)
        assert out["dropped_answers"] == {"retired_q": "yes", "gap_defined": "sometimes"}
        assert "retired_q" not in store.get_case(cid)["answers"]
        assert out["status"] == "needs_answer"  # the retired answer is set aside, the rest kept

    # ------------------------------------------------------------------ plan and monitoring

    def test_plan_and_monitoring(self, store):
        cid = save_worked(store, "coaching")
        plan = coaching_plan(store.get_case(cid)["answers"])
        store.save_plan(cid, plan)
        saved = store.get_plan(cid)
        assert saved["measures"] == plan["measures"]
        assert saved["sections"][0]["fields"][0]["value"].endswith("😀")
        store.add_monitoring(cid, {"date": "2020-01-10", "measure": "Quotes in the new method", "value": 5})
        store.add_monitoring(cid, {"date": "2020-01-20", "measure": "quotes in the new method", "value": "9"})
        store.add_monitoring(cid, {"date": "2020-01-20", "measure": "Errors per week", "value": 4})
        store.add_monitoring(
            cid, {"date": "2020-01-21", "kind": "session", "events": [1, 2, 3, 4, 5, 6, 7, 8]}
        )
        p = store.progress(cid, today=dt.date(2020, 3, 1))
        quotes, errors = p["measures"]
        assert [v["value"] for v in quotes["values"]] == [5, 9]
        assert quotes["met"] is True and quotes["state"] == "met"
        assert errors["direction"] == "at_most" and errors["met"] is False and errors["state"] == "on_track"
        assert p["sessions"][0]["complete"]
        with pytest.raises(CaseDataError, match="value"):
            store.add_monitoring(cid, {"date": "2020-01-22", "measure": "Errors per week", "value": "lots"})
        with pytest.raises(CaseDataError, match="date"):
            store.add_monitoring(cid, {"date": "22/01/2020", "measure": "Errors per week", "value": 1})
        entries = store.get_case(cid)["monitoring"]
        assert len(entries) == 4
        store.delete_monitoring(cid, entries[0]["id"])
        assert [e["id"] for e in store.get_case(cid)["monitoring"]] == [e["id"] for e in entries[1:]]
        with pytest.raises(CaseNotFound, match="no monitoring entry"):
            store.delete_monitoring(cid, entries[0]["id"])
        store.add_monitoring(cid, {"date": "2020-01-10", "measure": "Quotes in the new method", "value": 5})
        # replacing the plan keeps one plan row
        plan["title"] = "Revised"
        store.save_plan(cid, plan)
        assert store.get_plan(cid)["title"] == "Revised"
        assert store.counts(cid)["plans"] == 1

    # ------------------------------------------------------------------ export, import, delete

    @pytest.mark.parametrize("primary", INTERVENTION_IDS)
    def test_export_import_round_trip(self, store, primary):
        cid = save_worked(store, primary)
        case = store.get_case(cid)
        plan = build_plan(case["answers"])
        if "measures" in plan:
            plan["measures"] = [{"measure": "Output", "target": "10", "date": "2030-01-01"}]
        store.save_plan(cid, plan)
        store.add_monitoring(
            cid, {"date": "2024-05-01", "measure": "Output", "value": 3.5, "note": "first «try»"}
        )
        store.add_monitoring(cid, {"date": "2024-05-02", "kind": "session", "events": [1, 3], "note": ""})
        store.rediagnose(cid)
        exported = store.export_case(cid)
        text = json.dumps(exported, ensure_ascii=False)  # JSON-ready
        new_id = store.import_case(json.loads(text))
        assert new_id != cid
        again = store.export_case(new_id)
        # the case's own words come back; times are the import's; the result is consulted again
        for key in ("title", "who", "notes", "status", "answers", "plan", "monitoring", "owner", "org_unit"):
            assert again[key] == exported[key], key
        assert again["created_at"] >= exported["updated_at"]
        assert len(again["consultations"]) == 1
        assert again["consultations"][0]["result"] == exported["consultations"][-1]["result"]
        assert store.counts(new_id) == {**store.counts(cid), "consultations": 1}

    def test_import_rejects_bad_data_and_saves_nothing(self, store):
        cid = save_worked(store, "mentoring")
        good = store.export_case(cid)
        before = store.counts()
        bad = json.loads(json.dumps(good))
        bad["answers"]["aim"] = "world_domination"
        bad["monitoring"] = [{"date": "yesterday", "measure": "x", "value": 1}]
        bad["status"] = "lost"
        with pytest.raises(CaseDataError) as info:
            store.import_case(bad)
        text = str(info.value)
        assert "aim" in text and "world_domination" in text and "monitoring[0]" in text and "status" in text
        with pytest.raises(CaseDataError, match="not a case export"):
            store.import_case({"answers": {}})
        with pytest.raises(CaseDataError, match="unexpected|Extra inputs"):
            store.import_case({**good, "surprise": 1})
        assert store.counts() == before

    def test_delete_leaves_no_rows(self, store):
        keep = save_worked(store, "training")
        cid = save_worked(store, "coaching")
        store.save_plan(cid, coaching_plan(store.get_case(cid)["answers"]))
        store.add_monitoring(cid, {"date": "2024-01-01", "measure": "Errors per week", "value": 3})
        store.rediagnose(cid)
        assert all(n > 0 for n in store.counts(cid).values())
        kept = store.counts(keep)
        store.delete_case(cid)
        assert store.counts(cid) == dict.fromkeys(TABLES, 0)
        assert store.counts(keep) == kept
        with pytest.raises(CaseNotFound):
            store.delete_case(cid)
        # straight from the tables, not through the store's own count
        with store.engine.connect() as conn:
            for table in TABLES[1:]:
                n = conn.execute(
                    sa.text(f"SELECT count(*) FROM {table} WHERE case_id = :i"), {"i": cid}
                ).scalar()
                assert n == 0, table

    def test_failed_save_rolls_back(self, store, monkeypatch):
        cid = save_worked(store, "coaching")
        before = store.get_case(cid)
        counts = store.counts()
        real = store_mod._consultation_row

        def broken(case_id, c, answers):  # a consultation pointing at a case that does not exist
            row = real(case_id, c, answers)
            row.case_id = 987_654
            return row

        monkeypatch.setattr("casework.store.cases._consultation_row", broken)  # where the store looks it up
        changed = dict(before["answers"], peers_perform="few_or_none", targets_conflict="conflicting")
        with pytest.raises(StoreError, match="nothing was changed"):
            store.rediagnose(cid, changed)
        with pytest.raises(StoreError):
            store.create_case({"title": "never saved"}, {})
        monkeypatch.undo()
        after = store.get_case(cid)
        assert after["answers"] == before["answers"]
        assert after["consultations"] == before["consultations"]
        assert after["updated_at"] == before["updated_at"]
        assert store.counts() == counts

    def test_two_threads_saving_at_once_lose_nothing(self, store):
        shared = save_worked(store, "coaching")
        answers = worked_case("training").answers
        store.get_case(shared)  # schema ready before the race
        n, threads, errors = 12, 2, []
        start = threading.Barrier(threads * 2)

        def create(k: int) -> None:
            try:
                start.wait()
                for i in range(n):
                    store.create_case({"title": f"t{k}-{i}"}, answers)
            except Exception as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(exc)

        def monitor(k: int) -> None:
            try:
                start.wait()
                for i in range(n):
                    store.add_monitoring(shared, {"date": "2024-01-01", "measure": f"m{k}", "value": i})
            except Exception as exc:  # noqa: BLE001
                errors.append(exc)

        workers = [threading.Thread(target=create, args=(k,)) for k in range(threads)]
        workers += [threading.Thread(target=monitor, args=(k,)) for k in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(60)
        assert errors == []
        titles = {r["title"] for r in store.list_cases()}
        assert {f"t{k}-{i}" for k in range(threads) for i in range(n)} <= titles
        assert len(store.list_cases()) == 1 + n * threads
        values = [(e["measure"], e["value"]) for e in store.get_case(shared)["monitoring"]]
        assert sorted(values) == sorted((f"m{k}", float(i)) for k in range(threads) for i in range(n))


# --------------------------------------------------------------------------- SQLite


class TestStoreSQLite(StoreContract):
    @pytest.fixture
    def store(self, tmp_path):
        s = Store(f"sqlite:///{tmp_path / 'cases.sqlite3'}")
        yield s
        s.close()

    @pytest.fixture
    def fresh_url(self, tmp_path):
        return f"sqlite:///{tmp_path / 'fresh' / 'cases.sqlite3'}"


def test_schema_head_matches_migrations_folder():
    from alembic.script import ScriptDirectory

    assert ScriptDirectory.from_config(store_mod._alembic_config()).get_current_head() == SCHEMA_HEAD


def test_default_location_and_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("TRIAGE_DATABASE_URL", raising=False)
    monkeypatch.delenv("TRIAGE_DATA_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    assert resolve_url() == f"sqlite:///{tmp_path / 'data' / 'triage.sqlite3'}"
    monkeypatch.setenv("TRIAGE_DATA_DIR", str(tmp_path / "elsewhere"))
    s = Store()
    s.create_case({"title": "here"}, {})
    s.close()
    path = tmp_path / "elsewhere" / "triage.sqlite3"
    assert path.is_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # personal data: owner only
    monkeypatch.setenv("TRIAGE_DATABASE_URL", f"sqlite:///{tmp_path / 'url.sqlite3'}")
    assert Store().where == str(tmp_path / "url.sqlite3")


def test_sqlite_wal_and_foreign_keys(tmp_path):
    s = Store(f"sqlite:///{tmp_path / 'c.sqlite3'}")
    s.ensure_ready()
    with s.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA secure_delete").scalar() == 1
    s.close()


def test_locked_database_gives_a_clear_message(tmp_path):
    path = tmp_path / "c.sqlite3"
    s = Store(f"sqlite:///{path}", timeout=0.2)
    s.ensure_ready()
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreError, match="busy"):
            s.create_case({"title": "x"}, {})
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert s.create_case({"title": "x"}, {}) > 0
    s.close()


def test_not_a_database_and_foreign_schemas_are_refused(tmp_path):
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="not a case database"):
        Store(f"sqlite:///{junk}").list_cases()
    foreign = tmp_path / "foreign.sqlite3"
    con = sqlite3.connect(foreign)
    con.execute("CREATE TABLE cases (id INTEGER PRIMARY KEY, name TEXT)")
    con.commit()
    con.close()
    with pytest.raises(StoreError, match="not made by intervention-triage"):
        Store(f"sqlite:///{foreign}").list_cases()
    newer = tmp_path / "newer.sqlite3"
    Store(f"sqlite:///{newer}").list_cases()
    con = sqlite3.connect(newer)
    con.execute("UPDATE alembic_version SET version_num = '9999'")
    con.commit()
    con.close()
    with pytest.raises(StoreError, match="newer version"):
        Store(f"sqlite:///{newer}").list_cases()


def test_bad_urls_are_refused_plainly():
    with pytest.raises(StoreError, match="not valid"):
        Store("not a url at all")
    with pytest.raises(StoreError, match="SQLite and PostgreSQL"):
        Store("mysql://u@localhost/db")


def test_deleted_case_leaves_no_trace_in_the_files(tmp_path):
    path = tmp_path / "c.sqlite3"
    s = Store(f"sqlite:///{path}")
    marker = "Quintessa-Marker-7731"
    keep = s.create_case({"title": "keep"}, {})
    cid = s.create_case(
        {"title": marker, "who": marker, "notes": marker * 20}, case_by_id("call-centre").answers
    )
    s.add_monitoring(cid, {"date": "2024-01-01", "measure": marker, "value": 1, "note": marker})
    before = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("c.sqlite3"))
    assert marker.encode() in before  # the check below can see the marker when it is there
    s.delete_case(cid)
    # read the files while the store is still open (closing it would checkpoint the log anyway)
    blob = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("c.sqlite3"))
    assert marker.encode() not in blob
    assert s.get_case(keep)["title"] == "keep"
    s.close()


def test_unusable_folder_gives_a_clear_message(tmp_path):
    blocker = tmp_path / "afile"
    blocker.write_text("a file where the data folder should be")
    with pytest.raises(StoreError, match="cannot create the case database"):
        Store(f"sqlite:///{blocker / 'sub' / 'c.sqlite3'}")
