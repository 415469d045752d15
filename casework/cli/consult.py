"""``triage consult``: the rule base consulted on an answers file, or question by question in the
terminal; and the consultation as text for a person (:func:`format_text`)."""

from __future__ import annotations

import argparse
import sys

from casework.cli.common import EXIT_OK, EXIT_USAGE, UsageError, add_format, reply


def _load_answers(path: str) -> tuple[dict, dict]:
    from casework.answers_io import AnswersFileError, read_answers_file  # deferred: heavy (pydantic, YAML)

    try:
        f = read_answers_file(path)
    except AnswersFileError as exc:
        raise UsageError(str(exc)) from None
    return f.answers, {"title": f.title, "who": f.who, "notes": f.notes}


def _consult(answers: dict, explain: bool):
    from rules.consult import (  # deferred: heavy (the rule base)
        AnswerError,
        consult,
    )
    from rules.explain import consult_explained  # deferred: heavy (the rule base)

    try:
        return consult_explained(answers) if explain else consult(answers)
    except AnswerError as exc:
        raise UsageError("bad answers: " + "; ".join(exc.problems)) from None


def result_name(result: str) -> str:
    """An outcome from ``could_change_result`` in words: an intervention, "check first" or a gate
    (see :func:`rules.consult.outcome_words`)."""
    from rules.consult import outcome_words  # deferred: heavy (the rule base)
    from rules.model import load_rulebase  # deferred: heavy (the rule base)

    return outcome_words(load_rulebase(), result)


def format_text(c, explain: bool) -> str:
    """A consultation for a person to read."""
    from rules.model import load_rulebase  # deferred: heavy (the rule base)

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
        lowered = (d["summary"]["confidence"].get("lowered_by") or {}).get("text")
        if lowered:
            out.append(f"  {lowered[:1].upper()}{lowered[1:]}.")
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
            alts = "; ".join(f'"{q.label_of(a["answer"])}" -> {a["text"]}' for a in o["alternatives"])
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
            out += ["", "Decisive answers (changing one alone changes the result):"]
            for dd in e["decisive"]:
                for a in dd["alternatives"]:
                    out.append(f"  - {dd['question']}: {dd['answer']} -> {a['alternative']}: {a['text']}")
    return "\n".join(out)


def cmd_consult(args: argparse.Namespace) -> int:
    if args.interactive:
        return interactive(args)
    if not args.file:
        raise UsageError("give an answers FILE (YAML or JSON with an 'answers' mapping) or --interactive")
    answers, _header = _load_answers(args.file)
    c = _consult(answers, args.explain)
    return reply(args.format, c.to_dict, lambda: format_text(c, args.explain))


def interactive(args: argparse.Namespace) -> int:
    """Ask the questions one at a time on the terminal."""
    from rules.consult import consult  # deferred: heavy (the rule base)
    from rules.explain import consult_explained  # deferred: heavy (the rule base)

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
    c = consult_explained(c.answers)
    out.write("\n" + format_text(c, explain=args.explain) + "\n")
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "consult",
        help="consult the rule base on an answers file, or interactively",
        description="Consult the rule base on the answers in FILE and print the result, or ask the "
        "questions one at a time in the terminal (--interactive).",
    )
    p.add_argument("file", nargs="?", metavar="FILE",
                   help="YAML or JSON file with an 'answers' mapping (with --interactive: the answers to start from)")
    add_format(p, help="the result as text or JSON (--interactive always prints text)")
    p.add_argument("--explain", action="store_true", help="add how, why not, confidence and decisive answers")
    p.add_argument("--interactive", "-i", action="store_true",
                   help="ask the questions in the terminal (answer with a number, 'why', 'back' or 'quit')")
    p.set_defaults(func=cmd_consult)
