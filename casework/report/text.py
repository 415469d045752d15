"""The report as text: Markdown (user text neutralised, :func:`md_escape`) and HTML (escaped)."""

from __future__ import annotations

import html
import re

from casework.report.model import Document, clean

# --------------------------------------------------------------------------- Markdown

_MD_INLINE = re.compile(r"([\\`*_\[\]|~$])|<(?=[A-Za-z/!?])|&(?=#?[A-Za-z0-9]+;)")
_MD_LINE_START = re.compile(r"^([#>+=-]|\d+(?=[.)]))")


def md_escape(text: str) -> str:
    """Neutralise Markdown in text, escaping only what Markdown would act on: inline punctuation
    (emphasis, code, links, tables, strike-through, maths) is backslash-escaped, so is a ``<`` that
    could open an HTML tag and an ``&`` that would start a character reference; a line start that
    would make a heading, quote, list or rule is escaped, and leading indentation (a code block) is
    dropped. Everything else (``&``, ``'``, ``"``, ``->``) stays as it is."""
    lines = []
    for line in clean(text).split("\n"):
        line = _MD_INLINE.sub(lambda m: "\\" + m.group(0), line.strip())
        m = _MD_LINE_START.match(line)
        if m:
            g = m.group(1)
            line = (g + "\\" + line[len(g) :]) if g[0].isdigit() else "\\" + line
        lines.append(line)
    return "  \n".join(lines)


def _md_cell(text: str) -> str:
    return md_escape(" ".join(clean(text).split()))


def render_markdown(doc: Document) -> str:
    out: list[str] = []
    for b in doc.blocks:
        if b.kind in ("h1", "h2", "h3"):
            out.append("#" * int(b.kind[1]) + " " + _md_cell(b.text))
        elif b.kind == "p":
            out.append(md_escape(b.text))
        elif b.kind == "lead":
            out.append("**" + _md_cell(b.text) + "**")
        elif b.kind == "small":
            out.append("*" + _md_cell(b.text) + "*")
        elif b.kind == "alert":
            out.append("> **" + _md_cell(b.text) + "**")
        elif b.kind == "bullets":
            out.append("\n".join("- " + _md_cell(i) for i in b.items))
        elif b.kind == "kv":
            out.append("\n".join(f"- **{_md_cell(k)}:** {_md_cell(v)}" for k, v in b.rows))
        elif b.kind == "table":
            lines = ["| " + " | ".join(_md_cell(h) for h in b.header) + " |", "|" + "---|" * len(b.header)]
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in b.rows]
            out.append("\n".join(lines))
    return "\n\n".join(out) + "\n"


# --------------------------------------------------------------------------- HTML

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;max-width:52rem;margin:2rem auto;
padding:0 1rem;line-height:1.45;color:#1b1b1b}
h1{font-size:1.6rem}h2{font-size:1.25rem;border-bottom:1px solid #ccc;padding-bottom:.2rem;margin-top:2rem}
h3{font-size:1.05rem;margin-bottom:.3rem}table{border-collapse:collapse;width:100%}
td,th{border:1px solid #ccc;padding:.3rem .5rem;vertical-align:top;text-align:left}th{background:#f3f3f3}
.alert{border:2px solid #b00020;background:#fdecee;padding:.6rem .8rem;font-weight:bold}
.small{color:#555;font-size:.85rem}dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}
dt{font-weight:bold}dd{margin:0;white-space:pre-wrap}p{white-space:pre-wrap}
.lead{font-size:1.15rem;font-weight:bold}hr.pagebreak{border:0;margin:0}
@media print{hr.pagebreak{break-before:page}}
"""


def render_html(doc: Document) -> str:
    esc = lambda t: html.escape(clean(t), quote=True)  # noqa: E731
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(doc.title)}</title><style>{_CSS}</style></head><body>",
    ]
    for b in doc.blocks:
        if b.kind in ("h1", "h2", "h3"):
            out.append(f"<{b.kind}>{esc(b.text)}</{b.kind}>")
        elif b.kind == "p":
            out.append(f"<p>{esc(b.text)}</p>")
        elif b.kind == "lead":
            out.append(f'<p class="lead">{esc(b.text)}</p>')
        elif b.kind == "pagebreak":
            out.append('<hr class="pagebreak">')
        elif b.kind == "small":
            out.append(f'<p class="small">{esc(b.text)}</p>')
        elif b.kind == "alert":
            out.append(f'<p class="alert" role="alert">{esc(b.text)}</p>')
        elif b.kind == "bullets":
            out.append("<ul>" + "".join(f"<li>{esc(i)}</li>" for i in b.items) + "</ul>")
        elif b.kind == "kv":
            out.append("<dl>" + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in b.rows) + "</dl>")
        elif b.kind == "table":
            head = "".join(f"<th>{esc(h)}</th>" for h in b.header)
            body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in b.rows)
            out.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"
