"""``triage questions``: the diagnostic questions, as text or JSON."""

from __future__ import annotations

import argparse

from casework.cli.common import EXIT_OK, add_format, emit


def cmd_questions(args: argparse.Namespace) -> int:
    from knowledge.loader import load_knowledge  # deferred: heavy (pydantic, YAML)

    kb = load_knowledge()
    items = [
        {
            "id": q.id,
            "stage": q.stage,
            "text": q.text,
            "help": q.help.strip(),
            "why": q.why.strip(),
            "options": [{"value": o.value, "label": o.label} for o in q.options],
            "ask_when": q.ask_when.model_dump(exclude_defaults=True),
        }
        for q in kb.questions
    ]
    if args.format == "json":
        emit(items, "json")
        return EXIT_OK
    lines = []
    for i, q in enumerate(items, 1):
        lines.append(f"{i:2d}. [{q['id']}] {q['text']}")
        lines.append("      " + " | ".join(f"{o['value']} = {o['label']}" for o in q["options"]))
    emit("\n".join(lines), "text")
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "questions",
        help="list the diagnostic questions",
        description="The diagnostic questions in the order they are asked, with their options "
        "(--format json: also the help, why it is asked and when).",
    )
    add_format(p)
    p.set_defaults(func=cmd_questions)
