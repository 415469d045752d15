"""The Batch page (app_pages/batch.py) driven through Streamlit's AppTest: upload, results, summary,
grouping, filters, downloads, and a clear message for a file that cannot be used."""

from __future__ import annotations

import io
import json

import pytest
from openpyxl import load_workbook
from page_util import page_app

from casework import batch
from knowledge.loader import load_knowledge

AppTest = pytest.importorskip("streamlit.testing.v1").AppTest


def fresh() -> AppTest:
    at = page_app("batch", timeout=90)
    at.run()
    assert not at.exception
    return at


def chart_values(at) -> list[dict]:
    """The rows of data behind the page's one Altair chart (Streamlit sends them as Arrow)."""
    import pyarrow as pa

    (chart,) = at.get("vega_lite_chart")
    return pa.ipc.open_stream(chart.proto.data.data).read_all().to_pylist()


def test_page_offers_templates_and_an_uploader():
    at = fresh()
    assert at.title[0].value == "Batch triage"
    assert len(at.file_uploader) == 1
    labels = [b.label for b in at.download_button]
    assert labels[:1] == ["CSV template"] and labels[1].startswith("Excel template")
    assert not at.error


def test_upload_triage_summary_grouping_and_downloads():
    rows = batch.sample_rows(120, seed=21)
    rows[5]["gap_defined"] = "sometimes"
    at = fresh()
    at.file_uploader[0].upload("team-review.csv", batch.rows_to_csv(rows), "text/csv")
    at.run()
    assert not at.exception
    expect = batch.summarise(batch.triage_rows(rows))
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Rows"] == "120"
    assert metrics["Recommendation"] == str(expect["by_status"]["complete"])
    assert metrics["Rows with problems"] == "1"
    assert at.header[0].value == "Results for team-review.csv"
    # chart and summary table: one bar per outcome present, counts as summarised
    values = chart_values(at)
    assert sum(v["rows"] for v in values) == 120
    summary_df, results_df = at.dataframe[0].value, at.dataframe[1].value
    assert summary_df["rows"].iloc[-1] == 120 and summary_df["outcome"].iloc[-1] == "Total"
    assert len(results_df) == 120
    assert set(results_df.columns) >= {"case_id", "team", *batch.OUTPUT_COLUMNS}
    n = 1 + len(batch.OUTPUT_COLUMNS)
    assert list(at.dataframe[1].proto.column_order)[:n] == ["case_id", *batch.OUTPUT_COLUMNS]  # results first
    # for people: labels beside ids, confidence as %, empty cells empty
    assert all(results_df["primary_label"].eq("") == results_df["primary"].eq(""))
    assert all(c == "" or c.endswith("%") for c in results_df["confidence"])
    assert not results_df[list(batch.OUTPUT_COLUMNS)].isna().any().any()
    # the chart: bars sorted largest first, whole-number axis, labels never cut
    spec = json.loads(at.get("vega_lite_chart")[0].proto.spec)
    counts = [v["rows"] for v in values]
    assert counts == sorted(counts, reverse=True)
    assert spec["encoding"]["y"]["sort"] == [v["outcome"] for v in values]
    assert spec["encoding"]["x"]["axis"]["tickMinStep"] == 1 and spec["encoding"]["x"]["axis"]["format"] == "d"
    assert spec["encoding"]["y"]["axis"]["labelLimit"] == 0
    assert any("row 7, column gap_defined: 'sometimes' is not one of" in m.value for m in at.markdown)
    assert [b.label for b in at.download_button][-2:] == ["Download results (CSV)", "Download results (Excel)"]

    # group by team: a column per team in the summary table, groups in the chart
    at.selectbox(key="batch_group_by").set_value("team").run()
    summary_df = at.dataframe[0].value
    teams = sorted({r["team"] for r in rows})
    assert list(summary_df.columns) == ["outcome", "rows", *teams]
    assert {v["group"] for v in chart_values(at)} == set(teams)

    # only the rows with problems
    at.radio(key="batch_show").set_value("rows with problems").run()
    bad = at.dataframe[1].value
    assert len(bad) == 1 and bad["errors"].iloc[0].startswith("row 7")


def test_excel_upload_and_safety_alert():
    rows = [
        {"case_id": "r1", "gap_defined": "yes", "worth_closing": "yes", "aim": "current_gap", "risk_of_harm": "yes"},
        {"case_id": "r2", "gap_defined": "no"},
    ]
    read, columns, _ = batch.read_table(batch.rows_to_csv(rows), "x.csv")
    data = batch.table_bytes(read, columns, "xlsx")
    assert load_workbook(io.BytesIO(data))  # a real workbook goes in
    at = fresh()
    at.file_uploader[0].upload("cases.xlsx", data, "application/octet-stream")
    at.run()
    assert not at.exception
    assert any("possible risk of harm" in e.value for e in at.error)
    assert len(at.dataframe[1].value) == 2


@pytest.mark.parametrize(
    "name, data, message",
    [
        ("empty.csv", b"", "the file is empty"),
        ("photo.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file"),
        ("people.csv", b"name,team\nann,ops\n", "no column is a question id"),
    ],
)
def test_unusable_upload_gets_a_message_not_a_traceback(name, data, message):
    at = fresh()
    at.file_uploader[0].upload(name, data, "text/csv")
    at.run()
    assert not at.exception
    assert len(at.error) == 1 and message in at.error[0].value
    assert not at.dataframe


def test_worked_cases_button_triages_the_worked_cases():
    if not load_knowledge().cases:
        pytest.skip("no worked cases yet")
    at = fresh()
    at.button[0].click().run()
    assert not at.exception
    n = len(load_knowledge().cases)
    assert {m.label: m.value for m in at.metric}["Rows"] == str(n)
    df = at.dataframe[1].value
    by_id = {c.id: c for c in load_knowledge().cases}
    for _, row in df.iterrows():
        assert row["status"] == by_id[row["case_id"]].expected.status
        assert (row["primary"] or None) == by_id[row["case_id"]].expected.primary
