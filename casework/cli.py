"""The ``triage`` command line.

Subcommands: ``questions``, ``consult``, ``verify``, ``rules``, plus those registered by other
casework modules (``batch``, ``report``, ``cases``). Bad input ends with exit code 2 and a message
naming the problem, never a traceback. Heavy libraries (pandas, Streamlit, fpdf2 ...) are imported
only by the subcommands that need them.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from typing import Any

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
# Modules that add subcommands: each has register(subparsers) -> None.
PLUGINS = ("casework.cli_batch", "casework.cli_report", "casework.cli_cases", "casework.cli_access",
           "casework.cli_practice", "casework.cli_outcomes")


class UsageError(Exception):
    """Bad input from the user; printed as 'triage: error: ...' with exit code 2."""


def emit(obj: Any, fmt: str) -> None:
    if fmt == "json":
        sys.stdout.write(json.dumps(obj, indent=2, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(str(obj) + ("" if str(obj).endswith("\n") else "\n"))


# --------------------------------------------------------------------------- questions


def cmd_questions(args: argparse.Namespace) -> int:
    from knowledge.loader import load_knowledge

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


# --------------------------------------------------------------------------- consult


def _load_answers(path: str) -> tuple[dict, dict]:
    from casework.answers_io import AnswersFileError, read_answers_file

    try:
        f = read_answers_file(path)
    except AnswersFileError as exc:
        raise UsageError(str(exc)) from None
    return f.answers, {"title": f.title, "who": f.who, "notes": f.notes}


def _consult(answers: dict, explain: bool):
    from rules.consult import AnswerError, consult
    from rules.explain import consult_explained

    try:
        return consult_explained(answers) if explain else consult(answers)
    except AnswerError as exc:
        raise UsageError("bad answers: " + "; ".join(exc.problems)) from None


def result_name(result: str) -> str:
    """An outcome from ``could_change_result`` in words: an intervention, "check first" or a gate."""
    from rules.model import load_rulebase

    rb = load_rulebase()
    ivs = rb.knowledge.interventions
    if result in ivs:
        return ivs[result].name
    gate, _, lean = result.partition(":")
    label = rb.gates[gate].label if gate in rb.gates else gate
    return f"{label} (leaning to {ivs[lean].name})" if lean in ivs else label


def format_text(c, explain: bool) -> str:
    """A consultation for a person to read."""
    from rules.model import load_rulebase

    rb = load_rulebase()
    kb = rb.knowledge
    d = c.to_dict(rb)
    name = lambda iv: kb.interventions[iv].name  # noqa: E731
    out = []
    if d["safety"]:
        mark = "!!" if d["safety_alert"] else "--"
        out.append(f"{mark} {d['safety']['title'].upper()}")
        out += [f"{mark} - {g}" for g in d["safety"]["guidance"]]
        out.append("")
    if d["concern_read_from_old_answers"]:
        note = d["concern_read_from_old_answers"]
        out.append(f"(No 'concern' was given: read as {note['concern']}, because {note['because']}.)")
    out.append(f"Status: {d['status']}")
    sm = d["summary"]
    out.append(sm["headline"])
    out += [f"  - {b}" for b in sm["because"]]
    if sm["next_step"]:
        out.append(f"First step: {sm['next_step']}")
    if sm["decides"]:
        out.append(sm["decides"])
    for x in sm.get("held_back") or []:
        out.append(x["text"])
    out.append("")
    if d["status"] == "needs_answer":
        q = c.next_question
        out.append(f"Next question [{q.id}]: {q.text}")
        out.append("  options: " + ", ".join(f"{o.value} ({o.label})" for o in q.options))
        if d["provisional"]:
            out.append(f"So far the answers point to: {name(d['provisional'])}")
    elif d["status"] == "cannot_recommend":
        cr = d["cannot_recommend"]
        if cr["reason"] == "check_first":  # the summary above gives the label, the lean and the advice
            if cr.get("differential"):
                out.append("Most likely first:")
                out += [f"  {n}. {name(x['intervention'])}: {x['because']}"
                        for n, x in enumerate(cr["differential"], 1)]
            for need in cr["needs"]:
                out.append(f"  Not yet established: {need}")
            out.append("Check first (the first ones could settle it):")
            out += [f"  [ ] {x['what'][:1].upper()}{x['what'][1:]}: {x['how']}"
                    + ("  <- start here" if x.get("start_here") else "") for x in cr["checks"]]
    else:
        p = d["primary"]
        out.append(f"Primary: {name(p['intervention'])} (confidence {d['summary']['confidence']['text']}:"
                   f" how firmly the answers support it, not a probability; certainty {p['certainty']:.2f})")
        for s in d["secondary"]:
            out.append(f"Secondary: {name(s['intervention'])}, {s['role']} (certainty {s['certainty']:.2f})")
    for x in d.get("delivery") or []:
        out.append(f"Before you start ({x['needs']}): {x['step']}")
    for r in d["ruled_out"]:
        out.append(f"Ruled out: {name(r['intervention'])}: {r['reason']}")
    for r in d["cannot_lead"]:
        out.append(f"Cannot lead: {name(r['intervention'])}: {r['reason']}")
    if d["could_change_result"]:
        out.append("Answers that could still change the result:")
        for o in d["could_change_result"]:
            q = kb.question(o["question"])
            alts = "; ".join(f'"{q.label_of(a["answer"])}" -> {result_name(a["result"])}' for a in o["alternatives"])
            out.append(f"  - {o.get('text') or q.text} (now \"{q.label_of(o['answer'])}\"): {alts}")
    if d["ignored_answers"]:
        out.append("Ignored (not on this path): " + ", ".join(d["ignored_answers"]))
    if explain and c.explanation:
        e = c.explanation
        if e["why_question"]:
            out += ["", "Why this question:", "  " + e["why_question"]["why"]]
        out += ["", "How we got here:"]
        for h in e["how"]:
            refs = "; ".join(s["short"] for s in h["sources"])
            used = ", ".join(f"{q}={a['value']}" for q, a in h["answers"].items())
            out.append(f"  - {h['rule']}: {h['conclusion']}. {h['rationale']} ({refs})" + (f" [answers: {used}]" if used else ""))
        out += ["", "Why not the others:"]
        for iv, wn in e["why_not"].items():
            out.append(f"  {name(iv)} ({wn['verdict'].replace('_', ' ')}):")
            out += [f"    - {r}" for r in wn["text"]]
        if e["confidence"]:
            out += ["", "Confidence:", "  " + e["confidence"]["meaning"]]
            out += ["  " + line for line in e["confidence"]["arithmetic"]]
        if e["decisive"]:
            out += ["", "Decisive answers (changing one alone changes the primary):"]
            for dd in e["decisive"]:
                new = name(dd["new_primary"]) if dd["new_primary"] else "no recommendation"
                out.append(f"  - {dd['question']}: {dd['answer']} -> {dd['alternative']} gives {new}")
    return "\n".join(out)


def cmd_consult(args: argparse.Namespace) -> int:
    if args.interactive:
        return interactive(args)
    if not args.file:
        raise UsageError("give an answers FILE (YAML or JSON with an 'answers' mapping) or --interactive")
    answers, _header = _load_answers(args.file)
    c = _consult(answers, args.explain)
    if args.format == "json":
        emit(c.to_dict(), "json")
    else:
        emit(format_text(c, args.explain), "text")
    return EXIT_OK


def interactive(args: argparse.Namespace) -> int:
    """Ask the questions one at a time on the terminal."""
    from rules.consult import consult

    answers: dict[str, str] = {}
    if args.file:
        answers, _ = _load_answers(args.file)
    out = sys.stdout
    while True:
        c = consult(answers)
        if c.status != "needs_answer":
            break
        q = c.next_question
        out.write(f"\n[{len(c.answers) + 1}] {q.text}\n  ({q.help.strip()})\n")
        for i, o in enumerate(q.options, 1):
            out.write(f"  {i}. {o.label}\n")
        while True:
            out.write("Answer (number, 'why', 'back' or 'quit'): ")
            out.flush()
            line = sys.stdin.readline()
            if not line:
                out.write("\n")
                return EXIT_USAGE
            reply = line.strip().lower()
            if reply == "quit":
                return EXIT_OK
            if reply == "why":
                out.write(f"  Why: {q.why.strip()}\n")
                continue
            if reply == "back":
                if c.answers:
                    answers.pop(list(c.answers)[-1], None)
                break
            if reply.isdigit() and 1 <= int(reply) <= len(q.options):
                answers[q.id] = q.options[int(reply) - 1].value
                break
            if reply in q.option_values():
                answers[q.id] = reply
                break
            out.write(f"  Please type a number from 1 to {len(q.options)}.\n")
        if c.status == "needs_answer" and "risk_of_harm" in c.findings:
            break
    from rules.explain import consult_explained

    c = consult_explained(c.answers)
    out.write("\n" + format_text(c, explain=args.explain) + "\n")
    return EXIT_OK


# --------------------------------------------------------------------------- verify and rules


def cmd_verify(args: argparse.Namespace) -> int:
    from rules.verify import format_report, verify

    report = verify()
    emit(report if args.format == "json" else format_report(report), args.format)
    return EXIT_OK if not report["errors"] else EXIT_FAIL


def cmd_rules(args: argparse.Namespace) -> int:
    from rules.table import decision_table_csv, decision_table_markdown

    text = decision_table_csv() if args.format == "csv" else decision_table_markdown()
    if args.output:
        with open(args.output, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)
    return EXIT_OK


# --------------------------------------------------------------------------- main


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="triage",
        description="Which intervention fits a workplace performance gap, and why.",
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    q = sub.add_parser("questions", help="list the diagnostic questions")
    q.add_argument("--format", choices=["json", "text"], default="text")
    q.set_defaults(func=cmd_questions)

    c = sub.add_parser("consult", help="consult the rule base on an answers file, or interactively")
    c.add_argument("file", nargs="?", help="YAML or JSON file with an 'answers' mapping")
    c.add_argument("--format", choices=["json", "text"], default="text")
    c.add_argument("--explain", action="store_true", help="add how, why not, confidence and decisive answers")
    c.add_argument("--interactive", "-i", action="store_true", help="ask the questions in the terminal")
    c.set_defaults(func=cmd_consult)

    v = sub.add_parser("verify", help="check the rule base for defects, gaps, conflicts and coverage")
    v.add_argument("--format", choices=["json", "text"], default="text")
    v.set_defaults(func=cmd_verify)

    r = sub.add_parser("rules", help="export the decision table (one row a rule, one column a condition)")
    r.add_argument("--format", choices=["csv", "markdown"], default="markdown")
    r.add_argument("-o", "--output", help="write to this file instead of standard output")
    r.set_defaults(func=cmd_rules)

    for mod in PLUGINS:
        try:
            module = importlib.import_module(mod)
        except ModuleNotFoundError as exc:
            if exc.name == mod:
                continue
            raise
        module.register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse already printed the message
        return int(exc.code or 0)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(args.func(args) or 0)
    except UsageError as exc:
        sys.stderr.write(f"triage: error: {exc}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        sys.stderr.write("\ntriage: interrupted\n")
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except (OSError, ValueError) as exc:  # unreadable files, malformed data: name the problem
        sys.stderr.write(f"triage: error: {exc}\n")
        return EXIT_USAGE
    except Exception as exc:  # noqa: BLE001 - last resort: a message, not a traceback
        import logging

        logging.getLogger("triage").debug("internal error", exc_info=True)
        sys.stderr.write(f"triage: internal error: {type(exc).__name__}: {exc}\n")
        return EXIT_FAIL


if __name__ == "__main__":
    # Run the imported module's main(), not this __main__ copy: the plug-ins raise
    # casework.cli.UsageError, which must be the class main() catches.
    from casework.cli import main as _main

    sys.exit(_main())
