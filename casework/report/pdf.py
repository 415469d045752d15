"""The report as PDF: fpdf2 with the bundled DejaVu font (no system binary); characters the font
cannot draw are replaced (:func:`pdf_text`)."""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path
from typing import Any

from casework.report.model import REPLACEMENT, Block, Document, ReportError, clean
from knowledge.loader import HERE as KNOWLEDGE_DIR

FONT_DIR = KNOWLEDGE_DIR / "fonts"
FONT_REGULAR = FONT_DIR / "DejaVuSans.ttf"
FONT_BOLD = FONT_DIR / "DejaVuSans-Bold.ttf"

# --------------------------------------------------------------------------- PDF


@functools.lru_cache(maxsize=1)
def _font_chars() -> frozenset[int]:
    """Code points both bundled fonts can draw."""
    from fontTools.ttLib import TTFont  # deferred: fontTools loads only when a PDF is made

    sets = []
    for path in (FONT_REGULAR, FONT_BOLD):
        with TTFont(str(path), lazy=True) as font:
            sets.append(set(font.getBestCmap()))
    return frozenset(sets[0] & sets[1])


def pdf_text(text: str) -> str:
    """Text the PDF font can draw: any character outside the font becomes U+FFFD (a visible
    replacement mark), so emoji or rare scripts never break the report."""
    chars = _font_chars()
    s = clean(text).replace("\t", "    ")
    fallback = REPLACEMENT if ord(REPLACEMENT) in chars else "?"
    return "".join(ch if ch == "\n" or ord(ch) in chars else fallback for ch in s)


def render_pdf(doc: Document) -> bytes:
    from fpdf import FPDF  # deferred: fpdf2 (heavy) loads only when a PDF is made

    for path in (FONT_REGULAR, FONT_BOLD):
        if not Path(path).is_file():
            raise ReportError(f"the PDF font {path.name} is missing from {FONT_DIR}")

    class _PDF(FPDF):
        def footer(self) -> None:
            self.set_y(-12)
            self.set_font("DejaVu", size=8)
            self.set_text_color(110)
            self.cell(
                0,
                5,
                pdf_text(f"{doc.title} · page {self.page_no()}/{{nb}}"),
                align="C",
            )
            self.set_text_color(0)

    pdf = _PDF(format="A4", unit="mm")
    pdf.set_margins(18, 16, 18)
    pdf.set_auto_page_break(True, margin=16)
    pdf.add_font("DejaVu", "", str(FONT_REGULAR))
    pdf.add_font("DejaVu", "B", str(FONT_BOLD))
    pdf.set_title(pdf_text(doc.title))
    pdf.set_creator("intervention-triage")
    pdf.set_creation_date(dt.datetime.now(dt.timezone.utc))
    pdf.add_page()
    width = pdf.epw

    def para(text: str, size: float = 10, bold: bool = False, h: float = 5.0, indent: float = 0.0) -> None:
        pdf.set_font("DejaVu", "B" if bold else "", size)
        pdf.set_x(pdf.l_margin + indent)
        pdf.multi_cell(width - indent, h, pdf_text(text), align="L", new_x="LMARGIN", new_y="NEXT")

    def lines_height(text: str, size: float, h: float, indent: float = 0.0, bold: bool = False) -> float:
        pdf.set_font("DejaVu", "B" if bold else "", size)
        n = len(pdf.multi_cell(width - indent, h, pdf_text(text), dry_run=True, output="LINES"))
        return n * h

    def first_height(nb: Block | None) -> float:
        """The height of the first unit of a block (what a heading must be kept with)."""
        if nb is None:
            return 0.0
        if nb.kind == "bullets" and nb.items:
            return lines_height(nb.items[0], 10, 5, 5) + 0.6
        if nb.kind == "kv" and nb.rows:
            return lines_height(nb.rows[0][0], 10, 5, bold=True) + lines_height(nb.rows[0][1], 10, 5, 5)
        if nb.kind in ("p", "lead", "alert", "small"):
            return min(lines_height(nb.text, 10, 5), 15.0)
        if nb.kind == "table":
            return 22.0  # the header row and the first row
        return 8.0

    def keep(h: float) -> None:
        """Start a new page unless ``h`` millimetres fit on this one."""
        if pdf.get_y() + h > pdf.page_break_trigger and pdf.get_y() > pdf.t_margin + 1:
            pdf.add_page()

    blocks = doc.blocks
    for n, b in enumerate(blocks):
        nxt = blocks[n + 1] if n + 1 < len(blocks) else None
        if b.kind in ("h1", "h2", "h3"):  # a heading never ends a page: kept with what follows
            keep({"h1": 9, "h2": 12.5, "h3": 7}[b.kind] + first_height(nxt))
        if b.kind == "h1":
            para(b.text, 16, True, 8)
            pdf.ln(1)
        elif b.kind == "h2":
            pdf.ln(3)
            para(b.text, 13, True, 7)
            pdf.set_draw_color(180)
            pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + width, pdf.get_y())
            pdf.ln(1.5)
        elif b.kind == "h3":
            pdf.ln(1)
            para(b.text, 11, True, 6)
        elif b.kind == "p":
            h = lines_height(b.text, 10, 5)
            if h <= 20:  # a short paragraph is not split
                keep(h)
            para(b.text)
            pdf.ln(1)
        elif b.kind == "lead":
            pdf.ln(2)
            para(b.text, 12, True, 6.5)
            pdf.ln(1)
        elif b.kind == "pagebreak":
            # never a blank or nearly blank page: a page less than 40 % full goes on
            if pdf.get_y() > pdf.t_margin + 0.4 * pdf.eph:
                pdf.add_page()
        elif b.kind == "small":
            pdf.set_text_color(90)
            keep(lines_height(b.text, 8.5, 4.5))
            para(b.text, 8.5, h=4.5)
            pdf.set_text_color(0)
        elif b.kind == "alert":
            pdf.set_text_color(160, 0, 30)
            para(b.text, 10.5, True, 5.5)
            pdf.set_text_color(0)
            pdf.ln(1)
        elif b.kind == "bullets":
            heights = [lines_height(item, 10, 5, 5) + 0.6 for item in b.items]
            for i, item in enumerate(b.items):
                # an item is never split across pages, and the last item never goes alone to a new page
                need = heights[i] + (heights[i + 1] if i == len(b.items) - 2 else 0.0)
                keep(need if need < pdf.eph else heights[i])
                y = pdf.get_y()
                pdf.set_font("DejaVu", "", 10)
                pdf.set_xy(pdf.l_margin, y)
                pdf.cell(5, 5, "•")
                pdf.set_xy(pdf.l_margin + 5, y)
                pdf.multi_cell(width - 5, 5, pdf_text(item), align="L", new_x="LMARGIN", new_y="NEXT")
                pdf.ln(0.6)
        elif b.kind == "kv":
            inline = all(len(k) <= 16 for k, _v in b.rows)  # short labels: label and value on one line
            for k, v in b.rows:
                if inline:
                    h = lines_height(v, 10, 5, 30)
                    keep(h if h < 40 else 15)
                    y = pdf.get_y()
                    pdf.set_font("DejaVu", "B", 10)
                    pdf.set_xy(pdf.l_margin, y)
                    pdf.cell(30, 5, pdf_text(k))
                    pdf.set_font("DejaVu", "", 10)
                    pdf.set_xy(pdf.l_margin + 30, y)
                    pdf.multi_cell(width - 30, 5, pdf_text(v), align="L", new_x="LMARGIN", new_y="NEXT")
                    pdf.ln(0.6)
                    continue
                h = lines_height(k, 10, 5, bold=True) + lines_height(v, 10, 5, 5)
                keep(h if h < 40 else 15)
                para(k, 10, True)
                para(v, indent=5)
                pdf.ln(0.6)
        elif b.kind == "table":
            _pdf_table(pdf, b, width)
            pdf.ln(1)
    return bytes(pdf.output())


def _pdf_table(pdf: Any, b: Block, width: float) -> None:
    """A bordered table; falls back to paragraphs when a cell is too long for one page."""
    if any(len(c) > 1500 for row in b.rows for c in row):
        for row in b.rows:
            for h, c in zip(b.header, row, strict=False):
                pdf.set_font("DejaVu", "B", 10)
                pdf.multi_cell(width, 5, pdf_text(h), align="L", new_x="LMARGIN", new_y="NEXT")
                pdf.set_font("DejaVu", "", 10)
                pdf.multi_cell(width, 5, pdf_text(c), align="L", new_x="LMARGIN", new_y="NEXT")
            pdf.ln(1)
        return
    n = len(b.header)
    widths = {2: (62, 38), 5: (13, 31, 20, 18, 18), 6: (13, 17, 18, 17, 17, 18)}.get(n, tuple([100 / n] * n))
    pdf.set_font("DejaVu", "", 9.5 if n < 5 else 7.5)
    pdf.set_draw_color(190)
    with pdf.table(
        col_widths=widths,
        text_align="LEFT",
        line_height=4.8 if n < 5 else 3.4,
        padding=(0.6, 1) if n >= 5 else None,
        headings_style=_headings_style(),
        width=width,
    ) as table:
        row = table.row()
        for h in b.header:
            row.cell(pdf_text(h))
        for cells in b.rows:
            row = table.row()
            for c in cells:
                row.cell(pdf_text(c))


def _headings_style() -> Any:
    from fpdf.fonts import FontFace  # deferred: as FPDF in render_pdf

    return FontFace(emphasis="BOLD", fill_color=(238, 238, 238))
