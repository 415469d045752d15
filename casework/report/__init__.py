"""The justification report: why this intervention, for a manager or budget holder.

``render_report(case, fmt)`` consults the rule base on the case's answers (with the explanations) and
renders one document in Markdown, HTML, PDF (fpdf2 with the bundled DejaVu font, no system binary) or
DOCX (python-docx, so L&D staff can edit it before sending): the case, the answers, the result with
confidence, how it was reached, why not each other intervention, the decisive answers, the action plan,
progress (when monitoring entries are given), the full references, the rule-base version and the date.

The content is built once as a list of blocks (:func:`build_document`); each format only renders the
blocks. User text is never trusted: HTML escapes it, Markdown neutralises Markdown and HTML in it, the
PDF replaces characters the font cannot draw, and characters XML cannot hold are dropped everywhere.

The package: :mod:`~casework.report.model` (formats, blocks, text hygiene),
:mod:`~casework.report.document` (the content), :mod:`~casework.report.text` (Markdown and HTML),
:mod:`~casework.report.pdf` and :mod:`~casework.report.word` (DOCX); :func:`render_report` here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from casework.report.document import build_document
from casework.report.model import (
    FORMATS,
    MAX_FIELD,
    MEDIA_TYPES,
    REPLACEMENT,
    Block,
    Document,
    ReportError,
    clean,
)
from casework.report.pdf import FONT_BOLD, FONT_DIR, FONT_REGULAR, pdf_text, render_pdf
from casework.report.text import md_escape, render_html, render_markdown
from casework.report.word import render_docx

__all__ = [
    "FONT_BOLD",
    "FONT_DIR",
    "FONT_REGULAR",
    "FORMATS",
    "MAX_FIELD",
    "MEDIA_TYPES",
    "REPLACEMENT",
    "Block",
    "Document",
    "ReportError",
    "build_document",
    "clean",
    "md_escape",
    "pdf_text",
    "render_docx",
    "render_html",
    "render_markdown",
    "render_pdf",
    "render_report",
]

# --------------------------------------------------------------------------- entry point


def render_report(case: Mapping[str, Any], fmt: str, today: dt.date | None = None) -> bytes:
    """The justification report for ``case`` in ``fmt`` ("md", "html", "pdf" or "docx"), as bytes.

    ``case`` = {"title", "who", "notes", "answers", optional "plan" (an edited action plan; built from
    the result when absent), optional "monitoring" (a list of monitoring entries)}.
    Raises :class:`ReportError` for an unknown format or unusable case data.
    """
    fmt = (fmt or "").lower().lstrip(".")
    if fmt == "markdown":
        fmt = "md"
    if fmt not in FORMATS:
        raise ReportError(f"unknown report format '{fmt}': use one of {', '.join(FORMATS)}")
    doc = build_document(case, today=today)
    if fmt == "md":
        return render_markdown(doc).encode("utf-8")
    if fmt == "html":
        return render_html(doc).encode("utf-8")
    if fmt == "pdf":
        return render_pdf(doc)
    return render_docx(doc)
