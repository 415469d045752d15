"""The report's document model: the formats, the error, text hygiene (:func:`clean`) and the blocks
every format renders (:class:`Block`, :class:`Document`)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

FORMATS = ("md", "html", "pdf", "docx")
MEDIA_TYPES = {
    "md": "text/markdown",
    "html": "text/html",
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
MAX_FIELD = 20_000
REPLACEMENT = "\ufffd"


class ReportError(ValueError):
    """The case cannot be reported; the message names the problem."""


# --------------------------------------------------------------------------- text hygiene

# Characters XML 1.0 cannot hold (and so neither DOCX nor well-formed HTML): C0 controls except tab and
# newline, lone surrogates, and the non-characters U+FFFE/U+FFFF.
_BAD_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def clean(text: Any, limit: int = MAX_FIELD) -> str:
    """User or data text made safe to put in any document: a string, newlines normalised,
    characters no document format can hold replaced, and cut to ``limit`` characters."""
    s = "" if text is None else str(text)
    s = s.replace("\r\n", "\n").replace("\r", "\n")
    s = _BAD_XML.sub(lambda m: "" if m.group() < "\ud800" else REPLACEMENT, s)
    if len(s) > limit:
        s = s[: limit - 1] + "…"
    return s


# --------------------------------------------------------------------------- the document model


@dataclass
class Block:
    kind: str  # h1 h2 h3 p lead alert bullets kv table small pagebreak
    text: str = ""
    items: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    header: list[str] = field(default_factory=list)


@dataclass
class Document:
    title: str
    blocks: list[Block]
    generated: str
    rulebase_version: str
