"""MkDocs hooks (mkdocs.yml ``hooks:``): the command-line reference is the real help text.

``docs/cli.md`` holds markers such as ``<!-- triage cases save --help -->``; each is replaced by the help
that command prints. The hook then warns (and ``mkdocs build --strict`` fails) when a command of
``triage``, or an action of a command that has actions (``triage cases``, ``triage audit``), has no
marker on that page, so the reference cannot fall behind the program.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import sys
from pathlib import Path

log = logging.getLogger("mkdocs.hooks.triage_cli")

MARKER = re.compile(r"<!-- (triage(?: [a-z][\w-]*)*) --help -->")
CLI_PAGE = "cli.md"


def on_config(config, **kwargs):
    root = str(Path(config.config_file_path).resolve().parent)
    if root not in sys.path:  # the project's own packages, whether installed or not
        sys.path.insert(0, root)
    return config


def help_text(words: list[str]) -> str:
    """What ``triage WORDS --help`` prints, at a fixed width so the page does not follow the terminal."""
    from casework.cli import main  # deferred: importable once on_config has put the project on sys.path

    out = io.StringIO()
    columns = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "100"
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            code = main([*words, "--help"])
    finally:
        if columns is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = columns
    if code != 0:
        log.warning("%s: 'triage %s --help' ended with exit code %s", CLI_PAGE, " ".join(words), code)
    return out.getvalue().rstrip()


def listed(text: str) -> list[str]:
    """The subcommands argparse lists under "positional arguments" (one indented name a line)."""
    names, inside = [], False
    for line in text.splitlines():
        if line.endswith(":") and not line.startswith(" "):
            inside = line == "positional arguments:"
            continue
        m = re.match(r"^ {4}([a-z][\w-]*)(?: |$)", line)
        if inside and m:
            names.append(m.group(1))
    return names


def on_page_markdown(markdown: str, page, **kwargs) -> str:
    if page.file.src_uri != CLI_PAGE:
        return markdown
    shown = set()

    def block(m: re.Match) -> str:
        words = m.group(1).split()[1:]
        shown.add(tuple(words))
        return "```text\n" + help_text(words) + "\n```"

    markdown = MARKER.sub(block, markdown)
    for command in listed(help_text([])):
        if (command,) not in shown:
            log.warning("%s: the command 'triage %s' has no <!-- triage %s --help --> marker",
                        CLI_PAGE, command, command)
        usage = help_text([command])
        if re.search(r"\bACTION\b", usage.split("\n\n", 1)[0]):
            for action in listed(usage):
                if (command, action) not in shown:
                    log.warning("%s: the action 'triage %s %s' has no marker", CLI_PAGE, command, action)
    return markdown
