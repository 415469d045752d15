"""Issue 21 on the Cases page (AppTest): a monitoring value typed when the database refuses the save
stays in the form, with a message that nothing was saved; after a good save the form is empty."""

from __future__ import annotations

import sqlalchemy as sa

try:
    from tests.test_cases_page import no_errors, open_case, page, save, store  # noqa: F401 - fixture
except ImportError:  # pragma: no cover - rootdir-less layout
    from test_cases_page import no_errors, open_case, page, save, store  # noqa: F401

from casework.plan import build_plan


def test_a_value_not_saved_stays_in_the_form_with_a_clear_message(store):
    cid = save(store, "presentation-skills")
    plan = build_plan(store.get_case(cid)["answers"])
    plan["measures"] = [{"measure": "Presentations without notes", "target": "at least 3", "date": "2030-01-01"}]
    store.save_plan(cid, plan)
    at = open_case(page().run(), cid, "Monitor")
    with store.engine.begin() as conn:  # the database itself refuses the write
        conn.execute(sa.text("CREATE TRIGGER refuse BEFORE INSERT ON monitoring_entries "
                             "BEGIN SELECT RAISE(ABORT, 'disk failure'); END"))
    at.number_input(key=f"case_mon_value_{cid}").set_value(7)
    at.text_input(key=f"case_mon_note_{cid}").set_value("typed by hand")
    at.button[[b.label for b in at.button].index("Add value")].click().run()
    assert not at.exception
    assert any("Nothing was saved" in e.value and "still in the form" in e.value for e in at.error), \
        [e.value for e in at.error]
    assert at.number_input(key=f"case_mon_value_{cid}").value == 7
    assert at.text_input(key=f"case_mon_note_{cid}").value == "typed by hand"
    assert store.get_case(cid)["monitoring"] == []
    with store.engine.begin() as conn:
        conn.execute(sa.text("DROP TRIGGER refuse"))
    at.button[[b.label for b in at.button].index("Add value")].click().run()
    no_errors(at)
    assert [e["value"] for e in store.get_case(cid)["monitoring"]] == [7]
    assert at.number_input(key=f"case_mon_value_{cid}").value is None  # saved: the form is empty again
