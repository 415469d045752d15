"""The report as DOCX (python-docx), so L&D staff can edit it before sending."""

from __future__ import annotations

import io

from casework.report.model import Document, clean

# --------------------------------------------------------------------------- DOCX


def render_docx(doc: Document) -> bytes:
    # deferred: python-docx (heavy, lxml) loads only when a DOCX is made
    from docx import Document as Docx
    from docx.shared import Pt, RGBColor

    d = Docx()
    d.core_properties.title = clean(doc.title, 255)
    d.core_properties.author = "intervention-triage"
    style = d.styles["Normal"]
    style.font.size = Pt(10.5)
    for b in doc.blocks:
        if b.kind in ("h1", "h2", "h3"):
            d.add_heading(clean(b.text), level={"h1": 0, "h2": 1, "h3": 2}[b.kind])
        elif b.kind == "p":
            d.add_paragraph(clean(b.text))
        elif b.kind == "lead":
            run = d.add_paragraph().add_run(clean(b.text))
            run.bold = True
            run.font.size = Pt(13)
        elif b.kind == "pagebreak":
            d.add_page_break()
        elif b.kind == "small":
            run = d.add_paragraph().add_run(clean(b.text))
            run.font.size = Pt(8.5)
            run.font.color.rgb = RGBColor(0x55, 0x55, 0x55)
        elif b.kind == "alert":
            run = d.add_paragraph().add_run(clean(b.text))
            run.bold = True
            run.font.color.rgb = RGBColor(0xA0, 0x00, 0x1E)
        elif b.kind == "bullets":
            for item in b.items:
                d.add_paragraph(clean(item), style="List Bullet")
        elif b.kind == "kv":
            for k, v in b.rows:
                p = d.add_paragraph()
                p.add_run(clean(k) + ": ").bold = True
                p.add_run(clean(v))
        elif b.kind == "table":
            t = d.add_table(rows=1, cols=len(b.header))
            t.style = "Table Grid"
            for cell, h in zip(t.rows[0].cells, b.header, strict=False):
                cell.text = ""
                cell.paragraphs[0].add_run(clean(h)).bold = True
            for row in b.rows:
                cells = t.add_row().cells
                for cell, c in zip(cells, row, strict=False):
                    cell.text = clean(c)
            d.add_paragraph()
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()
