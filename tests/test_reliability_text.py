"""Reliability: what users type is shown as text, never interpreted, and exports are safe to open.

User text — a case title, who it is about, notes, a file name, a value in a file or in the page address,
a worked-case narrative — holding HTML, Markdown, ``<script>`` tags and control characters: in the app
(AppTest; every element that renders Markdown is checked), in the justification report (HTML escaped,
Markdown neutralised, PDF text extracted with pypdf) and in the spreadsheets the batch writes (no cell
a spreadsheet would run as a formula). The PDF is also fed arbitrary Unicode (hypothesis).
"""

from __future__ import annotations

import csv
import html.parser
import io
import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from page_util import go_to, page_app
from pypdf import PdfReader
from streamlit.testing.v1 import AppTest

from app_pages.logic import md_plain
from casework import batch
from casework.answers_io import clean_text, dump_answers
from casework.cli import main as cli_main
from casework.plan import build_plan
from casework.report import Block, Document, clean, pdf_text, render_pdf, render_report
from casework.store import Store
from knowledge.loader import load_knowledge

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
KB = load_knowledge()
CASES = {c.id: c for c in KB.cases}

# Each piece would do something if it were interpreted: run, load, link, format, colour, typeset.
HOSTILE = (
    '<script>alert("x")</script> <img src=x onerror=alert(1)> **bold** _it_ [click](http://evil.example) '
    "![img](http://evil.example/p.png) `code` $x^2$ :red[red] &amp; ~~gone~~ <b>b</b>\x07\x1b[31m"
)
HOSTILE_NOTES = "# Not a heading\n- not a list\n1. not numbered\n    not code\n> not a quote\n---\n" + HOSTILE
# what each piece looks like when it has NOT been neutralised for Markdown
RAW_TOKENS = ("<script", "<img", "<b>", "**bold**", "_it_", "[click]", "![img]", "`code`", "$x^2$", ":red[",
              "&amp;", "~~gone~~", "\x07", "\x1b")


def markdown_texts(at: AppTest) -> list[tuple[str, str]]:
    """Every piece of text the page sends to be rendered as Markdown: body text, headings, captions,
    alerts, expander, tab and widget labels, help texts."""
    out: list[tuple[str, str]] = []
    for kind in ("markdown", "caption", "title", "header", "subheader", "error", "warning", "info", "success"):
        out += [(kind, str(e.value)) for e in getattr(at, kind)]
    for kind in ("expander", "tabs"):
        out += [(kind, str(e.label)) for e in getattr(at, kind)]
    for kind in ("text_input", "text_area", "selectbox", "radio", "checkbox", "button", "download_button"):
        for e in at.get(kind):
            out.append((kind, str(e.proto.label)))
            if getattr(e.proto, "help", ""):
                out.append((kind + ".help", str(e.proto.help)))
    return out


def unescaped(token: str, text: str) -> bool:
    """Does ``token`` occur in ``text`` without a backslash in front (so Markdown would act on it)?"""
    return re.search(r"(?<!\\)" + re.escape(token), text) is not None


def assert_shown_as_text(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    for kind, text in markdown_texts(at):
        for token in RAW_TOKENS:
            assert not unescaped(token, text), f"{kind} renders {token!r} as Markdown: {text[:300]!r}"


# --------------------------------------------------------------------------- md_plain


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_md_plain_keeps_the_visible_text_and_leaves_nothing_to_interpret(text):
    out = md_plain(text)
    assert not re.search(r"(?<!\\)[*`<>\[\]|~$#]", out.replace("\\\\", ""))  # every special character escaped
    assert not any(line.strip() and line.startswith((" ", "\t")) for line in out.split("\n"))  # no code block
    visible = re.sub(r"\\(.)", r"\1", out).replace("  \n", "\n").replace("\u2060", "")  # word joiners: no links
    lines = clean_text(text).replace("\r\n", "\n").replace("\r", "\n").split("\n")
    assert visible == "\n".join(line.strip() for line in lines)


# --------------------------------------------------------------------------- the app


def test_diagnose_shows_hostile_case_details_and_file_names_as_text(monkeypatch, tmp_path):
    monkeypatch.setenv("TRIAGE_DATA_DIR", str(tmp_path))
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    raw = json.dumps({"title": HOSTILE, "who": HOSTILE, "notes": HOSTILE_NOTES,
                      "answers": {**CASES["bad-attitude"].answers, "<img src=x>": "yes", "aim": "**x** [a](b)"}})
    at.file_uploader(key="upload").set_value((f"{HOSTILE[:40]}.json", raw.encode(), "application/json"))
    at.run()
    assert_shown_as_text(at)
    labels = [e.label for e in at.expander]
    assert any(label.startswith("Case details: \\<script\\>") for label in labels), labels
    assert at.text_input(key="case_title").value == clean(HOSTILE)  # the input holds exactly what was typed
    warn = " ".join(w.value for w in at.warning)
    assert "unknown question id '\\<img src=x\\>'" in warn and "'\\*\\*x\\*\\* \\[a\\](b)'" in warn
    assert any("Cannot recommend yet" in w.value for w in at.warning)  # the valid answers were used
    at.button(key="save_case").click().run()  # the saved case keeps the text as typed
    assert_shown_as_text(at)
    saved = Store().get_case(at.session_state["case_id"])
    assert saved["title"] == clean(HOSTILE).strip() and saved["notes"] == clean(HOSTILE_NOTES)


def test_hostile_values_in_the_page_address_are_shown_as_text():
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update({"gap_defined": "[click](http://evil.example)", "<script>": "1", "aim": "**x**"})
    at.run()
    assert_shown_as_text(at)
    assert any("\\[click\\](http\u2060://evil.example)" in w.value for w in at.warning)


def test_cases_page_shows_a_hostile_case_and_plan_as_text(monkeypatch, tmp_path):
    monkeypatch.setenv("TRIAGE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("TRIAGE_DATABASE_URL", raising=False)
    wc = CASES["presentation-skills"]
    store = Store()
    cid = store.create_case({"title": HOSTILE, "who": HOSTILE, "notes": HOSTILE_NOTES}, wc.answers)
    plan = build_plan(wc.answers)
    plan["title"], plan["summary"] = HOSTILE, HOSTILE_NOTES
    plan["sections"][0]["title"] = HOSTILE
    plan["sections"][0]["fields"][0].update(label=HOSTILE, prompt=HOSTILE, value=HOSTILE_NOTES)
    plan["measures"] = [{"measure": HOSTILE, "target": "at least 8 " + HOSTILE, "date": "2020-01-01"}]
    store.save_plan(cid, plan)
    store.add_monitoring(cid, {"date": "2020-01-02", "measure": HOSTILE, "value": 3, "note": HOSTILE})
    store.close()
    at = page_app("cases", timeout=60)
    at.session_state["answers"] = dict(wc.answers)
    at.session_state["case"] = {"title": HOSTILE, "who": HOSTILE, "notes": HOSTILE_NOTES}
    at.run()
    at.selectbox(key="cases_pick").select(cid).run()
    assert any(s.value.startswith(f"#{cid} \\<script\\>") for s in at.header)
    escaped = []
    for tab in ("Overview", "Re-diagnose", "Plan", "Monitor", "Export", "Delete"):  # only the open tab runs
        at.session_state[f"case_tab_{cid}"] = tab
        at.run()
        assert_shown_as_text(at)
        escaped += [m.value for m in at.markdown if "\\*\\*bold\\*\\*" in m.value]
    assert escaped  # the plan and measures, escaped


def test_batch_page_shows_a_hostile_file_as_text():
    rows = [{"case_id": HOSTILE, "team": HOSTILE, "gap_defined": "**maybe** <b>x</b>"},
            {"case_id": "ok", "team": "t", "gap_defined": "no"}]
    data = batch.rows_to_csv(rows, ["case_id", "team", "gap_defined", "gap_defind"])
    at = page_app("batch", timeout=60)
    at.run()
    at.file_uploader(key="batch_upload").set_value(("**cases** <i>.csv", data, "text/csv"))
    at.run()
    assert_shown_as_text(at)
    assert at.header[0].value == "Results for \\*\\*cases\\*\\* \\<i\\>.csv"
    problems = " ".join(m.value for m in at.markdown)
    assert "'\\*\\*maybe\\*\\* \\<b\\>x\\</b\\>' is not one of" in problems


def test_worked_case_narratives_are_shown_as_written():
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    go_to(at, "worked_cases").run()
    assert_shown_as_text(at)
    case = CASES[at.selectbox(key="wc_case").value]
    assert md_plain(case.narrative.strip()) in [m.value for m in at.markdown]


# --------------------------------------------------------------------------- the report


class Tags(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.attrs: set[str] = set()
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.attrs.update(name for name, _ in attrs)

    def handle_data(self, data):
        self.text.append(data)


REPORT_TAGS = {"html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "p", "ul", "li", "dl", "dt",
               "dd", "hr", "table", "thead", "tbody", "tr", "th", "td"}
user_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=60) | st.sampled_from(
    [HOSTILE, HOSTILE_NOTES, "=HYPERLINK(\"http://x\")", "\u202eevil\u202c", "a\u0000b", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 👩‍👩‍👧 漢字 ﷽"])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(user_text, user_text, user_text)
def test_html_and_markdown_reports_never_interpret_user_text(title, who, notes):
    case = {"title": title, "who": who, "notes": notes, "answers": {"gap_defined": "no"}}
    page = render_report(case, "html").decode("utf-8")
    parsed = Tags()
    parsed.feed(page)
    assert parsed.tags <= REPORT_TAGS and parsed.attrs <= {"lang", "charset", "http-equiv", "content", "name",
                                                          "class", "role"}
    shown = "".join(parsed.text)
    for part in (title, who, notes):
        assert clean(part).strip() in shown  # the text itself, exactly, as text
    md = render_report(case, "md").decode("utf-8")
    for part in (title, who, notes):
        for token in RAW_TOKENS:
            if token in part:
                assert not unescaped(token, md)


def pdf_visible(data: bytes) -> str:
    return "".join("".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages).split())


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=80), st.text(st.characters(codec="utf-8"), max_size=120))
def test_pdf_draws_any_unicode_or_a_visible_replacement(title, notes):
    doc = Document(title=title, generated="2025-01-01", rulebase_version="t", blocks=[
        Block("h1", title), Block("p", notes), Block("kv", rows=[["About", notes]]),
        Block("bullets", items=[title, notes]), Block("table", header=["Q", "A"], rows=[[title, notes]]),
        Block("alert", notes), Block("small", title)])
    data = render_pdf(doc)
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) >= 1
    visible = pdf_visible(data)
    drawable = "".join(ch for ch in pdf_text(title) if ch.isascii() and ch.isalnum())
    assert drawable in re.sub(r"[^0-9A-Za-z]", "", visible)


def test_full_pdf_report_with_hostile_and_international_text():
    text = "Ünïcödé — Ελληνικά, Кириллица, עברית, 漢字, emoji 👩‍🔧 " + HOSTILE
    data = render_report({"title": text, "who": text, "notes": HOSTILE_NOTES,
                          "answers": CASES["call-centre"].answers}, "pdf")
    visible = pdf_visible(data)
    for word in ("Ünïcödé", "Ελληνικά", "Кириллица", "<script>alert(\"x\")</script>", "**bold**", "[click]"):
        assert word in visible  # drawn as the characters typed, nothing interpreted
    assert "\ufffd" in visible  # the characters the font lacks (CJK, emoji) show as a visible mark


# --------------------------------------------------------------------------- spreadsheets and other exports

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
cell_chars = st.characters(blacklist_categories=("Cs", "Cc"))  # control characters make it a binary file
formula_text = st.tuples(st.sampled_from(FORMULA_START + ("", " ", "'")), st.text(cell_chars, max_size=15)).map("".join)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(formula_text, formula_text, st.sampled_from(["yes", "no", "=1+1", "-1", "@x"])),
                min_size=1, max_size=6), formula_text)
def test_batch_exports_never_hold_a_formula(rows, extra_column):
    extra = extra_column if extra_column.strip() and extra_column not in ("case_id", "team", "gap_defined") else "x"
    data = [{"case_id": f"{cid}#{i}", "team": team, "gap_defined": gap, extra: team}
            for i, (cid, team, gap) in enumerate(rows)]
    columns = ["case_id", "team", "gap_defined", extra]
    read, cols, _ = batch.read_table(batch.rows_to_csv(data, columns), "f.csv")
    results = batch.triage_rows(read)
    out_cols = batch.output_columns(cols)
    text = batch.table_bytes(results, out_cols, "csv").decode("utf-8-sig")
    for row in csv.reader(io.StringIO(text, newline="")):
        for value in row:
            assert not value.startswith(FORMULA_START), value
    wb = load_workbook(io.BytesIO(batch.table_bytes(results, out_cols, "xlsx",
                                                    summary=batch.summarise(results, "team"))))
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                assert c.data_type != "f"
                assert not (isinstance(c.value, str) and c.value.startswith(FORMULA_START)), c.value


def test_decision_table_csv_and_answers_downloads_hold_no_formula(capsys):
    # the decision table is rule data only (no user text): signed certainty factors are numbers
    assert cli_main(["rules", "--format", "csv"]) == 0
    for row in csv.reader(io.StringIO(capsys.readouterr().out, newline="")):
        for v in row:
            assert not v.startswith(("=", "@", "\t", "\r"))
            if v.startswith(("+", "-")):
                float(v)
    # the answers download is YAML/JSON text, read back exactly (no spreadsheet involved)
    text = dump_answers({"gap_defined": "no"}, title="=cmd|' /C calc'!A0", notes=HOSTILE_NOTES, fmt="json")
    assert json.loads(text)["title"] == "=cmd|' /C calc'!A0"


@pytest.mark.parametrize("fmt", ["md", "html", "docx", "pdf"])
def test_reports_take_control_characters_and_lone_surrogates(fmt):
    nasty = "A\x00B\x0bC\ud800D\ufffe\x1b[2J"
    assert render_report({"title": nasty, "who": nasty, "notes": nasty, "answers": {"gap_defined": "no"}}, fmt)
