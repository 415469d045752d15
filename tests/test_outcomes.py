"""Outcomes across cases (casework.outcomes), closing cases, the gap in numbers in the store, and
migration 0005 — on SQLite and a real PostgreSQL server, for each role."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa

from casework.access import Actor
from casework.cli import main
from casework.outcomes import (
    OUTCOMES,
    OutcomeError,
    case_frame,
    check_outcome,
    json_rows,
    notable,
    outcomes,
    propose_outcome,
    summarise,
)
from casework.store import CaseDataError, CaseNotFound, Store, migrate
from knowledge.loader import load_knowledge

ALICE = Actor("alice@example.test", "team_leader", "Alice", ("sales",))
BOB = Actor("bob@example.test", "team_leader", "Bob", ("service",))
LENA = Actor("lena@example.test", "ld", "Lena", ("sales",))
ADA = Actor("ada@example.test", "admin", "Ada")
TODAY = dt.date.today()


def answers_for(primary: str) -> dict:
    wc = next(c for c in load_knowledge().cases if c.expected.status == "complete" and c.expected.primary == primary)
    return dict(wc.answers)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    url = f"sqlite:///{tmp_path / 'cases.sqlite3'}" if request.param == "sqlite" else request.getfixturevalue("new_database")()
    s = Store(url, actor=None)
    yield s
    s.close()


@pytest.fixture
def cases(store):
    """Alice (sales): two coaching cases, one closed with the target reached, one open; one training
    case stopped. Bob (service): a work-system case not closed."""
    a1 = store.create_case({"title": "Alice coaching 1"}, answers_for("coaching"), actor=ALICE)
    store.set_gap(a1, {"measure": "Quotes a day", "current": 4, "target": 8, "unit": "quotes"}, actor=ALICE)
    store.add_monitoring(a1, {"date": TODAY.isoformat(), "measure": "quotes a day", "value": 9}, actor=ALICE)
    store.close_case(a1, "closed", TODAY, actor=ALICE)
    a2 = store.create_case({"title": "Alice coaching 2"}, answers_for("coaching"), actor=ALICE)
    a3 = store.create_case({"title": "Alice training"}, answers_for("training"), actor=ALICE)
    store.close_case(a3, "stopped", actor=ALICE)
    b1 = store.create_case({"title": "Bob system"}, answers_for("work_system"), actor=BOB)
    store.close_case(b1, "not closed", actor=BOB)
    return {"a1": a1, "a2": a2, "a3": a3, "b1": b1}


def table(store, actor, by="intervention"):
    return {r[by]: r for r in json_rows(outcomes(store, actor=actor, by=by))}


def test_outcomes_per_intervention_for_an_admin(store, cases):
    t = table(store, ADA)
    assert set(t) == {"coaching", "training", "work_system"}
    assert {k: t["coaching"][k] for k in ("cases", "open", "closed", "partly", "not_closed", "stopped")} == {
        "cases": 2, "open": 1, "closed": 1, "partly": 0, "not_closed": 0, "stopped": 0}
    assert t["coaching"]["median_days_to_close"] == 0
    assert t["coaching"]["reached_target"] == 1 and t["coaching"]["reached_share"] == 1.0
    assert t["training"]["stopped"] == 1 and t["work_system"]["not_closed"] == 1
    # the JSON rows carry the keys the issue names
    row = t["coaching"]
    assert {"intervention", "cases", "open", "closed", "partly", "not_closed", "stopped",
            "median_days_to_close"} <= set(row)


def test_outcomes_respect_access(store, cases):
    """Team leader: own cases; L&D: their units' cases; admin: all."""
    assert sum(r["cases"] for r in table(store, ALICE).values()) == 3
    assert set(table(store, BOB)) == {"work_system"}
    assert sum(r["cases"] for r in table(store, LENA).values()) == 3  # Lena's unit is sales (Alice's cases)
    assert "work_system" not in table(store, LENA)
    assert sum(r["cases"] for r in table(store, ADA).values()) == 4


def test_outcomes_by_route_unit_and_period(store, cases):
    by_unit = table(store, ADA, "unit")
    assert by_unit["sales"]["cases"] == 3 and by_unit["service"]["cases"] == 1
    by_route = table(store, ADA, "route")
    assert sum(r["cases"] for r in by_route.values()) == 4
    q = f"{TODAY.year}-Q{(TODAY.month - 1) // 3 + 1}"
    assert table(store, ADA, "period")[q]["cases"] == 4
    with pytest.raises(OutcomeError, match="cannot group by"):
        outcomes(store, actor=ADA, by="colour")


def test_closing_a_case_records_outcome_and_date_and_can_be_reopened(store, cases):
    c = store.get_case(cases["a3"], actor=ALICE)
    assert (c["status"], c["outcome"], c["closed_on"]) == ("closed", "stopped", TODAY.isoformat())
    store.close_case(cases["a3"], "partly", actor=ALICE)  # a correction
    assert store.get_case(cases["a3"], actor=ALICE)["outcome"] == "partly"
    store.reopen_case(cases["a3"], actor=ALICE)
    c = store.get_case(cases["a3"], actor=ALICE)
    assert (c["status"], c["outcome"], c["closed_on"]) == ("open", None, None)
    with pytest.raises(CaseDataError, match="not one of closed, partly, not_closed, stopped"):
        store.close_case(cases["a2"], "done", actor=ALICE)
    with pytest.raises(CaseDataError, match="in the future"):
        store.close_case(cases["a2"], "closed", TODAY + dt.timedelta(days=3), actor=ALICE)
    with pytest.raises(CaseDataError, match="before the case was opened"):
        store.close_case(cases["a2"], "closed", "2001-01-01", actor=ALICE)
    with pytest.raises(CaseNotFound):  # Bob may not close Alice's case
        store.close_case(cases["a2"], "closed", actor=BOB)
    audit = [e for e in store.audit_entries(actor=ADA, case_id=cases["a3"]) if e["action"] == "change"]
    assert [e["detail"] for e in audit][-3:] == ["closed: stopped", "closed: partly", "reopened"]


def test_gap_is_stored_validated_exported_and_imported(store, cases):
    g = store.get_case(cases["a1"], actor=ALICE)["gap"]
    assert g == {"measure": "Quotes a day", "current": 4.0, "target": 8.0, "unit": "quotes", "by": None}
    with pytest.raises(CaseDataError, match="gap.target"):
        store.set_gap(cases["a2"], {"measure": "x", "target": "lots"}, actor=ALICE)
    with pytest.raises(CaseDataError, match="say what is measured"):
        store.set_gap(cases["a2"], {"current": 3}, actor=ALICE)
    assert store.get_case(cases["a2"], actor=ALICE)["gap"] is None  # nothing half-saved
    ex = store.export_case(cases["a1"], actor=ALICE)
    assert ex["gap"]["measure"] == "Quotes a day" and ex["outcome"] == "closed"
    new = store.import_case(ex, actor=ALICE)
    back = store.get_case(new, actor=ALICE)
    assert back["gap"] == g and back["outcome"] == "closed" and back["closed_on"] == TODAY.isoformat()
    assert store.set_gap(cases["a1"], {"measure": "", "current": None}, actor=ALICE) is None  # cleared
    assert store.get_case(cases["a1"], actor=ALICE)["gap"] is None


def test_notable_cases_and_proposal(store, cases):
    frame = case_frame(store.outcome_rows(actor=ADA))
    best, worst = notable(frame)
    assert list(best["id"]) == [cases["a1"]]
    assert set(worst["id"]) == {cases["a3"], cases["b1"]}
    # an open case whose monitored measure reached the gap's target: closing is proposed
    a2 = cases["a2"]
    store.set_gap(a2, {"measure": "Errors a week", "current": 6, "target": 2}, actor=ALICE)
    store.add_monitoring(a2, {"date": TODAY.isoformat(), "measure": "Errors a week", "value": 3}, actor=ALICE)
    assert propose_outcome(store.get_case(a2, actor=ALICE)) is None  # 3 is not at most 2
    store.add_monitoring(a2, {"date": TODAY.isoformat(), "measure": "Errors a week", "value": 2}, actor=ALICE)
    assert propose_outcome(store.get_case(a2, actor=ALICE)) == "closed"


def test_migration_0005_goes_down_and_up_again(store, cases):
    from alembic import command

    from casework.store import _alembic_config

    cfg = _alembic_config()
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0003")
    with store.engine.connect() as conn:
        cols = {c["name"] for c in sa.inspect(conn).get_columns("cases")}
    assert not {"gap", "outcome", "closed_on"} & cols
    migrate(store.engine)
    rows = store.list_cases(actor=ADA)
    assert len(rows) == 4 and all(r["outcome"] is None for r in rows)  # cases kept, outcomes not recorded
    t = table(store, ADA)
    assert sum(r["not_closed"] + r["closed"] + r["stopped"] for r in t.values()) == 0


def test_check_outcome_accepts_labels_and_names_bad_dates():
    assert check_outcome("Not closed", "2026-01-02", today=dt.date(2026, 2, 1)) == ("not_closed", dt.date(2026, 1, 2))
    assert check_outcome("partly closed")[0] == "partly"
    assert set(OUTCOMES) == {"closed", "partly", "not_closed", "stopped"}
    with pytest.raises(OutcomeError, match="'yesterday' is not a date"):
        check_outcome("closed", "yesterday")


def test_summarise_an_empty_store_gives_an_empty_table():
    t = summarise(case_frame([]))
    assert t.empty and "median_days_to_close" in t.columns


def test_cli_close_and_outcomes(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("TRIAGE_DATABASE_URL", raising=False)
    monkeypatch.setenv("TRIAGE_DATA_DIR", str(tmp_path / "data"))
    f = tmp_path / "case.yaml"
    f.write_text(json.dumps({"title": "Quotes", "answers": answers_for("coaching"),
                             "gap": {"measure": "Quotes a day", "current": 4, "target": 8, "by": "2030-01-01"}}))
    assert main(["cases", "save", str(f)]) == 0
    cid = capsys.readouterr().out.strip().splitlines()[-1]
    assert main(["cases", "show", cid]) == 0
    assert "gap: Quotes a day: 4 now, target 8 by 2030-01-01" in capsys.readouterr().out
    assert main(["cases", "close", cid, "--outcome", "partly", "--on", TODAY.isoformat()]) == 0
    assert "partly closed" in capsys.readouterr().out.lower()
    assert main(["outcomes", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["intervention"] == "coaching" and rows[0]["partly"] == 1 and rows[0]["open"] == 0
    assert main(["outcomes", "--format", "csv", "--by", "route"]) == 0
    assert capsys.readouterr().out.splitlines()[0].startswith("route,cases,open,closed,partly,not_closed,stopped")
    assert main(["outcomes", "--cases"]) == 0
    assert "Most successful" in capsys.readouterr().out
    assert main(["cases", "close", cid, "--outcome", "finished"]) == 2
    assert "not one of closed, partly, not_closed, stopped" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text(json.dumps({"answers": answers_for("coaching"), "gap": {"measure": "x", "current": "many"}}))
    assert main(["cases", "save", str(bad)]) == 2
    assert "gap.current" in capsys.readouterr().err


def test_the_plan_measure_reaching_its_target_counts_as_reached(store):
    """Read through the store's JSON path to the plan's measures, on both databases."""
    from casework.plan import build_plan

    wc = answers_for("coaching")
    cid = store.create_case({"title": "Plan measure"}, wc, actor=ADA)
    plan = build_plan(wc, profile=None)
    plan["measures"] = [{"measure": "Quotes a day", "target": "at least 8", "date": "2030-01-01"}]
    store.save_plan(cid, plan, actor=ADA)
    store.add_monitoring(cid, {"date": TODAY.isoformat(), "measure": "Quotes a day", "value": 7}, actor=ADA)
    assert case_frame(store.outcome_rows(actor=ADA))["reached_target"].tolist() == [False]
    store.add_monitoring(cid, {"date": TODAY.isoformat(), "measure": "Quotes a day", "value": 8}, actor=ADA)
    assert case_frame(store.outcome_rows(actor=ADA))["reached_target"].tolist() == [True]


def test_follow_ups_fit_the_intervention_and_are_counted(store):
    """A referral's follow-up is a dated note (a note is required); the outcomes count the cases
    followed up."""
    from casework.plan import build_plan, follow_up_for

    wc = answers_for("counselling_referral")
    cid = store.create_case({"title": "Referral"}, wc, actor=ADA)
    plan = build_plan(wc, profile=None)
    assert follow_up_for(plan)["label"] == "Record a follow-up of the referral"
    assert follow_up_for(build_plan(answers_for("coaching"), profile=None)) is None  # coaching: sessions
    store.save_plan(cid, plan, actor=ADA)
    with pytest.raises(CaseDataError, match="note: say what happened"):
        store.add_monitoring(cid, {"date": TODAY.isoformat(), "kind": "follow_up", "note": " "}, actor=ADA)
    assert json_rows(outcomes(store, actor=ADA))[0]["followed_up"] == 0
    store.add_monitoring(cid, {"date": TODAY.isoformat(), "kind": "follow_up", "note": "Took up the EAP."}, actor=ADA)
    row = json_rows(outcomes(store, actor=ADA))[0]
    assert row["intervention"] == "counselling_referral" and row["followed_up"] == 1
    assert store.progress(cid, actor=ADA)["follow_ups"] == [{"date": TODAY.isoformat(), "note": "Took up the EAP."}]
