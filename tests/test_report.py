"""The justification report (casework.report) in Markdown, HTML, PDF and DOCX."""

from __future__ import annotations

import datetime as dt
import html
import io
import re

import pytest
from docx import Document as Docx
from pypdf import PdfReader

from casework.plan import build_plan
from casework.report import FORMATS, ReportError, build_document, md_escape, pdf_text, render_report
from knowledge.loader import load_knowledge
from knowledge.schema import INTERVENTION_IDS
from rules import summary
from rules.explain import consult_explained
from rules.model import load_rulebase

TODAY = dt.date(2025, 3, 14)


def worked(primary: str):
    for c in load_knowledge().cases:
        if c.expected.status == "complete" and c.expected.primary == primary:
            return c
    raise AssertionError(f"no worked case for {primary}")


def as_case(wc, **extra) -> dict:
    return {
        "title": wc.title,
        "who": "Sam Jones",
        "notes": wc.narrative,
        "answers": dict(wc.answers),
        **extra,
    }


def pdf_words(data: bytes) -> str:
    """The PDF's text, whitespace collapsed (extraction splits and joins lines freely)."""
    text = "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)
    return " ".join(text.split())


def docx_text(data: bytes) -> str:
    d = Docx(io.BytesIO(data))
    parts = [p.text for p in d.paragraphs]
    for t in d.tables:
        for row in t.rows:
            parts += [c.text for c in row.cells]
    return "\n".join(parts)


def squash(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("primary", INTERVENTION_IDS)
def test_report_for_each_worked_case_in_every_format(primary):
    wc = worked(primary)
    rb = load_rulebase()
    kb = rb.knowledge
    c = consult_explained(wc.answers, rb)
    plan = build_plan(c)
    out = {fmt: render_report(as_case(wc), fmt, today=TODAY) for fmt in FORMATS}
    pdf = pdf_words(out["pdf"])
    texts = {
        "md": html.unescape(out["md"].decode("utf-8").replace("\\", "")),
        "html": html.unescape(re.sub(r"<[^>]+>", " ", out["html"].decode("utf-8"))),
        "pdf": pdf,
        "docx": docx_text(out["docx"]),
    }
    assert out["pdf"].startswith(b"%PDF")
    name = kb.interventions[primary].name
    must = [
        "Justification report",
        name,
        f"Confidence: {summary.confidence_text(rb, c.confidence, bool(c.overturns), c.settled.one_support)}",
        "Chosen or not, and why",
        "The options compared",
        "Decision asked",
        "Appendix B: how the result was reached",
        "Why not the other interventions, in full",
        "Decisive answers",
        "Action plan",
        plan["title"],
        "References",
        rb.version,
        TODAY.isoformat(),
        "Sam Jones",
    ]
    # every other intervention has its why-not heading
    must += [kb.interventions[iv].name for iv in INTERVENTION_IDS if iv != primary]
    # the answers, as question text and answer label (first words: PDF cells wrap)
    for q, v in list(c.answers.items())[:3]:
        must += [" ".join(kb.question(q).text.split()[:4]), kb.question(q).label_of(v)]
    # the rules that fired, and the full references of what they cite
    must += [h["rule"] for h in c.explanation["how"]]
    keys = {s["key"] for h in c.explanation["how"] for s in h["sources"]}
    must += [" ".join(kb.sources[k].full.split()[:5]) for k in keys]
    for fmt, text in texts.items():
        flat = squash(text)
        missing = [m for m in must if squash(m) not in flat]
        assert not missing, (fmt, missing)


def test_report_for_a_case_that_cannot_be_recommended_yet():
    wc = next(c for c in load_knowledge().cases if c.expected.status == "cannot_recommend")
    text = render_report(as_case(wc), "md", today=TODAY).decode()
    assert "Cannot recommend yet" in text
    assert "Action plan" in text and build_plan(wc.answers)["title"] in text


def test_unfinished_diagnosis_still_reports_without_a_plan():
    text = render_report({"title": "Early", "answers": {"gap_defined": "yes"}}, "md").decode()
    assert "The diagnosis is not finished" in text
    assert "No action plan until the diagnosis is finished" in text


def test_edited_plan_and_monitoring_appear():
    wc = worked("coaching")
    plan = build_plan(wc.answers)
    plan["sections"][0]["fields"][0]["value"] = "Slow to quote in the new method"
    plan["measures"] = [{"measure": "Quotes a day", "target": "8", "date": "2025-03-01"}]
    monitoring = [
        {"date": "2025-02-01", "measure": "Quotes a day", "value": 5},
        {"date": "2025-02-02", "kind": "session", "events": [1, 2, 3]},
    ]
    pdf = pdf_words(render_report(as_case(wc, plan=plan, monitoring=monitoring), "pdf", today=TODAY))
    assert "Slow to quote in the new method" in pdf
    assert "Quotes a day" in pdf and "Progress" in pdf
    assert (
        squash(load_knowledge().processes["events_of_instruction"].steps[3].title) in pdf
    )  # a missing event
    assert "review date has passed" in pdf  # further coaching is due


def test_html_escapes_user_text():
    wc = worked("training")
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    page = render_report(
        as_case(wc, title=f'"><b>{evil}', who=evil, notes=f"{evil}\n<a href='javascript:alert(1)'>click</a>"),
        "html",
    ).decode()
    assert "<script>" not in page and "<img" not in page and "<a " not in page and "<b>" not in page
    assert "&lt;script&gt;" in page
    assert "Content-Security-Policy" in page  # scripts could not run even if one slipped through


def test_markdown_neutralises_user_text():
    wc = worked("mentoring")
    notes = "# Not a heading\n<img src=x onerror=alert(1)>\n[click](javascript:alert(1)) **bold** `code`\n    indented\n1. list\n- item\n| a | b |"
    md = render_report(as_case(wc, title="*Title* _x_", notes=notes), "md").decode()
    lines = md.splitlines()
    assert "# Not a heading" not in lines and not any(line.startswith("# Not") for line in lines)
    assert not re.search(r"(?<!\\)<img", md) and "\\<img" in md
    assert "[click](javascript" not in md and "\\[click\\]" in md
    assert "**bold**" not in md and "\\*\\*bold\\*\\*" in md
    assert "`code`" not in md
    assert not any(line.startswith("    ") for line in lines)  # no code blocks
    assert not any(line.startswith("1. list") or line.startswith("- item") for line in lines)
    assert "# Justification report: \\*Title\\* \\_x\\_" in md


def test_md_escape_round_trips_the_visible_text():
    text = "Price: $5 *now* [50% off] a_b <b>"
    escaped = md_escape(text)
    assert re.sub(r"\\(.)", r"\1", escaped) == text


AWKWARD = (
    "Zoë Ünal — “quotes” ½ € 😀🚀 𝔘𝔫𝔦 中文 עברית ﷺ \x00\x07 tab\there \ud800 lone \ufffe end " + "W" * 400
)


@pytest.mark.parametrize("fmt", FORMATS)
def test_any_unicode_renders_or_is_replaced_never_crashes(fmt):
    wc = worked("consultancy")
    data = render_report(as_case(wc, title=AWKWARD[:200], who=AWKWARD, notes=AWKWARD * 3), fmt)
    assert data
    if fmt == "pdf":
        text = pdf_words(data)
        assert "Zoë Ünal" in text and "€" in text
        assert "�" in text  # characters the font lacks are visibly replaced
    elif fmt == "docx":
        text = docx_text(data)
        assert "😀🚀" in text and "中文" in text and "\x00" not in text
    else:
        text = data.decode("utf-8")
        assert "😀🚀" in text and "\x00" not in text and "\x07" not in text


def test_pdf_text_replaces_what_the_font_cannot_draw():
    assert pdf_text("abc") == "abc"
    assert pdf_text("中") == "\ufffd"
    assert pdf_text("a\x00b") == "ab"


def test_long_text_spans_pages_in_pdf():
    wc = worked("work_system")
    long_notes = "\n".join(f"Observation {i}: " + "the shift pattern changed again " * 8 for i in range(120))
    data = render_report(as_case(wc, notes=long_notes[:5000]), "pdf")
    assert len(PdfReader(io.BytesIO(data)).pages) >= 5


def test_bad_input_gives_a_clear_error():
    with pytest.raises(ReportError, match="unknown report format 'rtf'"):
        render_report({"answers": {}}, "rtf")
    with pytest.raises(ReportError, match="no 'answers'"):
        render_report({"title": "x"}, "md")
    with pytest.raises(ReportError, match="bad answers: .*gap_defined"):
        render_report({"answers": {"gap_defined": "sideways"}}, "md")
    with pytest.raises(ReportError, match="must be a mapping"):
        render_report(["answers"], "md")
    with pytest.raises(ReportError, match="'plan' must be a mapping"):
        render_report({"answers": {}, "plan": "later"}, "md")


def test_references_list_every_source_cited_once():
    wc = worked("work_system")
    doc = build_document(as_case(wc), today=TODAY)
    heads = [i for i, b in enumerate(doc.blocks) if b.kind == "h2" and b.text == "References"]
    refs = doc.blocks[heads[0] + 1].items
    assert len(refs) == len(set(refs)) and len(refs) >= 3
    kb = load_knowledge()
    c = consult_explained(wc.answers)
    cited = {s["key"] for h in c.explanation["how"] for s in h["sources"]}
    for key in cited:
        assert " ".join(kb.sources[key].full.split()) in refs


def test_malformed_plan_or_monitoring_does_not_break_the_report():
    wc = worked("coaching")
    plan = {
        "title": 7,
        "sections": [
            1,
            {
                "title": None,
                "fields": [1, {"label": None, "value": ["x"]}],
                "checklist": ["x"],
                "items": [None, {"title": "Fix", "owner": 3}],
                "measures": True,
            },
        ],
        "measures": [None, {"measure": 5, "target": None}],
        "secondary": "none",
    }
    monitoring = [1, {"date": "not a date"}, {"date": "2025-01-01", "measure": "5", "value": 2}]
    for fmt in FORMATS:
        assert render_report(as_case(wc, plan=plan, monitoring=monitoring), fmt, today=TODAY)


def pdf_pages(data: bytes) -> list[str]:
    return [" ".join((page.extract_text() or "").split()) for page in PdfReader(io.BytesIO(data)).pages]


@pytest.mark.parametrize("primary", INTERVENTION_IDS)
def test_pdf_page_one_is_for_the_budget_holder(primary):
    """Page 1: who and what, the gap in numbers, the recommendation with its confidence in words, the
    reasons, the first step, the options compared with why each is or is not chosen, and the decision
    asked; no rule-base version, no question ids, no appendix."""
    wc = worked(primary)
    rb = load_rulebase()
    kb = rb.knowledge
    d = consult_explained(wc.answers, rb).to_dict(rb)
    sm = d["summary"]
    gap = {"measure": "Quotes a day", "current": 4, "target": 9, "unit": "quotes", "by": "2025-06-30"}
    page1 = squash(pdf_pages(render_report(as_case(wc, gap=gap), "pdf", today=TODAY))[0])
    assert "Sam Jones" in page1
    assert "Quotes a day: 4 quotes now, target 9 quotes by 2025-06-30 (5 quotes to gain)" in page1
    assert f"Recommended: {kb.interventions[primary].name}" in page1
    assert squash(sm["confidence"]["text"]) in page1
    for b in sm["because"]:
        assert squash(b)[:60] in page1
    assert squash(sm["next_step"])[:60] in page1
    assert "Chosen or not, and why" in page1
    for iv in INTERVENTION_IDS:
        assert kb.interventions[iv].name in page1
    assert f"Decision asked Approve {kb.interventions[primary].name}" in page1
    assert "Appendix" not in page1 and rb.version not in page1
    assert not any(q in page1 for q in d["answers"] if "_" in q)  # no question ids


def test_page_one_says_what_is_still_unknown_and_how_to_check_it():
    """A "don't know" that could change the result is named on page 1 with what it could change to."""
    rb = load_rulebase()
    for wc in load_knowledge().cases:
        d = consult_explained(wc.answers, rb).to_dict(rb)
        if d["status"] == "complete" and d["could_change_result"]:
            break
    else:
        pytest.skip("no worked case with an answer that could change the result")
    doc = build_document(as_case(wc), today=TODAY)
    i = next(n for n, b in enumerate(doc.blocks) if b.text == "Still unknown, and how to check it")
    items = " ".join(doc.blocks[i + 1].items)
    for o in d["could_change_result"]:
        assert rb.knowledge.question(o["question"]).text in items
    assert "another answer: " in items and "check_first" not in items  # in words, never ids


def test_options_table_compares_every_intervention_with_sources():
    wc = worked("work_system")
    kb = load_knowledge()
    doc = build_document(as_case(wc), today=TODAY, profile=None)
    table = next(b for b in doc.blocks if b.kind == "table" and "Who delivers" in b.header)
    assert table.header == ["Option", "Chosen or not, and why", "Who delivers", "Time to effect", "Effort and cost"]
    rows = {r[0]: r for r in table.rows}
    for iv in INTERVENTION_IDS:
        o = kb.interventions[iv].option
        assert squash(rows[kb.interventions[iv].name][2]) in squash(o.delivered_by)
        assert rows[kb.interventions[iv].name][4].startswith("Effort: ")
    assert rows["Work-system fix"][1] == "Recommended"
    assert rows["Coaching"][1].split(":")[0] in ("Ruled out", "May support, must not lead", "Less support",
                                                 "Not supported by the answers") or rows["Coaching"][1].startswith("Also")
    # not five identical lines: each row that is not chosen gives its own reason
    reasons = [r[1] for r in table.rows if r[1] != "Recommended"]
    assert len(set(reasons)) == len(reasons)
    refs = next(b for b in reversed(doc.blocks) if b.kind == "bullets")
    for iv in INTERVENTION_IDS:
        for k in kb.interventions[iv].option.sources:
            assert " ".join(kb.sources[k].full.split()) in refs.items


def test_study_unit_is_cited_as_a_proper_reference():
    """Regression: the key source was cited as "Author unknown (n.d.)"."""
    md = render_report(as_case(worked("coaching")), "md", today=TODAY).decode()
    assert "Author unknown" not in md
    assert "Develop effective mentoring and coaching processes to ensure that individuals and teams" in md


def test_plan_carries_the_gap_statement_from_the_case_notes():
    """Regression: the plan's "what should happen" was empty though the notes described the gap."""
    wc = worked("work_system")
    doc = build_document(as_case(wc, notes="Calls should close within 5 minutes; they take 9."), today=TODAY)
    kv = [row for b in doc.blocks if b.kind == "kv" for row in b.rows]
    assert ["What should happen and what happens", "Calls should close within 5 minutes; they take 9."] in kv


def test_markdown_shows_data_text_without_html_entities():
    """Regression: the Markdown report showed &amp;, &#x27;, &quot; and -&gt;."""
    md = render_report(as_case(worked("work_system"), notes="Targets -> rushed calls; it's \"quick\" & cheap"),
                       "md", today=TODAY).decode()
    for entity in ("&amp;", "&#x27;", "&quot;", "&gt;", "&lt;"):
        assert entity not in md
    assert "Mager & Pipe" in md and "Targets -> rushed calls; it's \"quick\" & cheap" in md


def test_markdown_renders_user_text_as_text_in_a_commonmark_parser():
    """The Markdown report parsed by markdown-it (CommonMark, HTML allowed): user text comes back as
    the same visible text, and no tag, link, image or emphasis comes from it."""
    from markdown_it import MarkdownIt

    evil = ('<script>alert(1)</script> <b>b</b> **bold** _it_ [click](javascript:x) ![i](x.png) `c` '
            "&amp; &#60; ~~s~~ 1. a")
    notes = "# heading\n> quote\n- item\n    code\n" + evil
    md = render_report(as_case(worked("coaching"), title=evil, notes=notes), "md", today=TODAY).decode()
    page = MarkdownIt("commonmark").render(md)
    assert "<script" not in page and "<b>" not in page and "<a " not in page and "<img" not in page
    assert "<em>it</em>" not in page and "<strong>bold</strong>" not in page and "<code>c</code>" not in page
    visible = html.unescape(re.sub(r"<[^>]+>", " ", page))
    assert squash(evil) in squash(visible)
    for line in ("# heading", "> quote", "- item", "code"):
        assert line in visible


def _pagination_cases():
    """A case of each kind whose report runs over several pages: one per intervention, "check
    first", a safety case, and long notes with an edited plan."""
    kb = load_knowledge()
    out = [as_case(worked(iv)) for iv in INTERVENTION_IDS]
    rb = load_rulebase()
    for wc in kb.cases:
        d = consult_explained(wc.answers, rb).to_dict(rb)
        if d["status"] == "cannot_recommend" and (d["cannot_recommend"] or {}).get("reason") == "check_first":
            out.append(as_case(wc))
            break
    for wc in kb.cases:
        if wc.answers.get("risk_of_harm") == "yes":
            out.append(as_case(wc))
            break
    long_notes = "\n".join(f"Observation {i}: the quote took longer than the standard." for i in range(60))
    out.append(as_case(worked("training"), notes=long_notes,
                       gap={"measure": "Quotes a day", "current": 4, "target": 9}))
    return out


@pytest.mark.parametrize("case", _pagination_cases(), ids=lambda c: c["title"][:30])
def test_pdf_pagination_keeps_headings_and_list_items_with_their_text(case):
    """No page is blank or holds only a heading or a single list item; a heading never ends a page;
    a list item is never split across a page break. Tested on the PDF's text."""
    doc = build_document(case, today=TODAY)
    data = render_report(case, "pdf", today=TODAY)
    pages = [[ln.strip() for ln in (p.extract_text() or "").splitlines() if ln.strip()]
             for p in PdfReader(io.BytesIO(data)).pages]
    headings = {squash(b.text) for b in doc.blocks if b.kind in ("h1", "h2", "h3")}
    items = [squash(i) for b in doc.blocks if b.kind == "bullets" for i in b.items]
    assert len(pages) >= 3
    bodies = []
    for n, lines in enumerate(pages, 1):
        assert lines and lines[-1].endswith(f"page {n}/{len(pages)}"), lines[-1:]
        body = lines[:-1]  # the footer is the last line
        bodies.append(squash(" ".join(body)))
        assert body, f"page {n} is blank"
        assert squash(body[-1]) not in headings, f"page {n} ends with the heading {body[-1]!r}"
        text = squash(" ".join(body))
        assert text not in headings, f"page {n} holds only a heading"
        assert text.lstrip("• ") not in items, f"page {n} holds only a list item"
        assert len(text) > 200, f"page {n} is nearly empty: {text!r}"
    for item in items:
        probe = item[:120]
        if len(probe) > 40:
            assert any(probe in b.replace("• ", "") for b in bodies), f"list item split across pages: {probe!r}"
