"""Reading and writing answers files: YAML or JSON with an ``answers`` mapping.

A worked-case file (``knowledge/cases/*.yaml``) is an answers file too; so is a case exported from
the store. Optional fields ``title``, ``who`` and ``notes`` describe the case. Files are read with a
size limit and a safe YAML loader (no aliases, ``yes``/``no`` stay text, nesting and size bounded,
linear time); every problem is reported as an :class:`AnswersFileError` naming the file and what is
wrong.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from knowledge.loader import FastSafeLoader

MAX_ANSWERS_FILE_BYTES = 1_000_000
HEADER_FIELDS = ("title", "who", "notes")
MAX_HEADER_CHARS = 5_000
MAX_YAML_DEPTH = 50  # levels of nesting a YAML answers file may have (it needs two or three)
MAX_YAML_NODES = 50_000  # entries: an answers file has a few dozen, an exported case a few thousand
_YAML_EVENTS = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser when installed
# Characters no page, document or database should receive from a file: C0 controls other than tab,
# newline and carriage return, DEL, and lone surrogates (JSON "\ud800" escapes; they cannot be encoded).
_BAD_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


class AnswersFileError(ValueError):
    """An answers file cannot be used; the message names the file and the problem."""


@dataclass
class AnswersFile:
    answers: dict[str, Any]
    title: str = ""
    who: str = ""
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def parse_answers_text(text: str, name: str = "answers file") -> AnswersFile:
    """Parse the text of an answers file (JSON or YAML)."""
    if not text.strip():
        raise AnswersFileError(f"{name}: the file is empty")
    data: Any
    try:
        data = json.loads(text)
    except ValueError:
        try:
            data = _load_yaml(text, name)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" (line {mark.line + 1})" if mark is not None else ""
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            if "nesting depth" in problem:  # libyaml's own limit, met while scanning ahead
                raise AnswersFileError(f"{name}: nested too deeply") from None
            raise AnswersFileError(f"{name}: not valid YAML or JSON{where}: {problem}") from None
        except RecursionError:
            raise AnswersFileError(f"{name}: nested too deeply") from None
        except AnswersFileError:
            raise
        except (ValueError, OverflowError) as exc:  # a value YAML cannot build, e.g. the date 2020-13-45
            problem = str(exc).split(";")[0]  # not Python's advice on its own settings
            raise AnswersFileError(f"{name}: not valid YAML or JSON: {problem}") from None
    except RecursionError:
        raise AnswersFileError(f"{name}: nested too deeply") from None
    if not isinstance(data, dict):
        raise AnswersFileError(f"{name}: expected a mapping with an 'answers' key, found {type(data).__name__}")
    answers = data.get("answers")
    if answers is None:
        raise AnswersFileError(f"{name}: no 'answers' mapping (question id -> answer) in the file")
    if not isinstance(answers, dict):
        raise AnswersFileError(f"{name}: 'answers' must be a mapping of question id to answer, not {type(answers).__name__}")
    header = {}
    for key in HEADER_FIELDS:
        value = data.get(key, "")
        if value is None:
            value = ""
        if not isinstance(value, (str, int, float)):
            raise AnswersFileError(f"{name}: '{key}' must be text")
        value = clean_text(str(value))
        if len(value) > MAX_HEADER_CHARS:
            raise AnswersFileError(f"{name}: '{key}' is longer than {MAX_HEADER_CHARS} characters")
        header[key] = value
    extra = {k: v for k, v in data.items() if k not in ("answers", *HEADER_FIELDS)}
    return AnswersFile(answers=answers, extra=extra, **header)


def _load_yaml(text: str, name: str) -> Any:
    """Parse YAML safely in linear time: the structure is checked on the parser's events first (no
    aliases, so no "billion laughs"; bounded nesting and size), then built by the safe loader with the
    project's booleans rule. (PyYAML's pure-Python parser slows down with the nesting depth: a 1 MB
    file of nested lists took 24 s.)"""
    depth = nodes = 0
    for event in yaml.parse(text, Loader=_YAML_EVENTS):
        if isinstance(event, yaml.AliasEvent):
            raise yaml.constructor.ConstructorError(
                None, None, "aliases (*name) are not allowed in these files", event.start_mark
            )
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_YAML_DEPTH:
                raise RecursionError
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1
            continue
        elif not isinstance(event, yaml.ScalarEvent):
            continue
        nodes += 1
        if nodes > MAX_YAML_NODES:
            raise AnswersFileError(
                f"{name}: more than {MAX_YAML_NODES:,} entries; an answers file holds a few dozen answers"
            )
    return yaml.load(text, Loader=FastSafeLoader)  # noqa: S506 - a safe loader


def clean_text(text: str) -> str:
    """Text from a file made safe to show and store: control characters dropped (tab and line
    breaks kept), lone surrogates replaced by U+FFFD."""
    return _BAD_TEXT.sub(lambda m: "\ufffd" if m.group() >= "\ud800" else "", text)


def read_answers_bytes(raw: bytes, name: str = "answers file") -> AnswersFile:
    """Parse an uploaded answers file from bytes (size-limited, UTF-8)."""
    if len(raw) > MAX_ANSWERS_FILE_BYTES:
        raise AnswersFileError(f"{name}: {len(raw)} bytes is over the limit of {MAX_ANSWERS_FILE_BYTES}")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise AnswersFileError(f"{name}: not UTF-8 text (byte {exc.start})") from None
    if "\x00" in text:
        raise AnswersFileError(f"{name}: looks like a binary file, not YAML or JSON")
    return parse_answers_text(text, name)


def read_answers_file(path: str | Path) -> AnswersFile:
    """Read an answers file from disk."""
    p = Path(path)
    try:
        size = p.stat().st_size
    except OSError as exc:
        raise AnswersFileError(f"{p}: cannot read ({exc.strerror})") from None
    if p.is_dir():
        raise AnswersFileError(f"{p}: is a folder, not a file")
    if size > MAX_ANSWERS_FILE_BYTES:
        raise AnswersFileError(f"{p}: {size} bytes is over the limit of {MAX_ANSWERS_FILE_BYTES}")
    return read_answers_bytes(p.read_bytes(), str(p))


def dump_answers(answers: dict[str, str], title: str = "", who: str = "", notes: str = "", fmt: str = "yaml") -> str:
    """Write an answers file that :func:`parse_answers_text` reads back."""
    data: dict[str, Any] = {}
    for key, value in (("title", title), ("who", who), ("notes", notes)):
        if value:
            data[key] = value
    data["answers"] = dict(answers)
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
