"""``triage practice``: the Practice page in the terminal, for a class without the app.

Each case of the practice set is shown as a team leader would tell it; the student answers with a
number (one answer per case), may name the check that would settle a thin case, and sees the same
feedback as in the app: the tool's result with its reasons, the deciding fact, the distinction from the
source text with its references. At the end: the score, the pairs confused most, and a drill round on
them. ``triage practice --list`` prints the practice cases' ids, one a line.
"""

from __future__ import annotations

import argparse
import sys
import textwrap

from casework.cli.common import EXIT_OK, UsageError, paragraphs

WIDTH = 96


def _wrap(text: str, indent: str = "") -> str:
    return textwrap.fill(" ".join(text.split()), WIDTH, initial_indent=indent, subsequent_indent=" " * len(indent))


def _ask(prompt: str) -> str | None:
    """One line from standard input (None at end of input)."""
    sys.stdout.write(prompt)
    sys.stdout.flush()
    line = sys.stdin.readline()
    if not line:
        sys.stdout.write("\n")
        return None
    return line.strip()


def _play_round(sess, practice, rb, answers: dict[str, str]) -> bool:
    """Ask every case of the current round; False when the student quit or input ended."""
    from casework.practice import (  # deferred: heavy (the rule base)
        ANSWERS,
        answer_label,
        check_options,
        feedback,
        settling_checks,
    )
    from rules.consult import consult  # deferred: heavy (the rule base)

    kb = rb.knowledge
    out = sys.stdout
    r = sess.round
    while (cid := r.current) is not None:
        case = practice.case(cid)
        out.write(f"\n=== Case {r.order.index(cid) + 1} of {len(r.order)} ===\n{_wrap(case.narrative)}\n\n")
        for i, a in enumerate(ANSWERS, 1):
            out.write(f"  {i:2d}. {answer_label(kb, rb, a)}\n")
        while True:
            reply = _ask(f"What fits this case? (1-{len(ANSWERS)}, or 'quit'): ")
            if reply is None or reply.lower() == "quit":
                return False
            if reply.isdigit() and 1 <= int(reply) <= len(ANSWERS):
                pick = ANSWERS[int(reply) - 1]
                break
            if reply in ANSWERS:
                pick = reply
                break
            out.write(f"  Please type a number from 1 to {len(ANSWERS)}.\n")
        check = None
        if pick == "check_first":
            options = check_options(case, kb)
            out.write("Which check would settle it? (optional)\n")
            for i, q in enumerate(options, 1):
                out.write(f"  {i:2d}. {kb.question(q).check.what}\n")
            reply = _ask("Check (number, or Enter for none): ")
            if reply and reply.isdigit() and 1 <= int(reply) <= len(options):
                check = options[int(reply) - 1]
        settling = settling_checks(consult(case.answers, rb), rb)
        sess.answer(case, pick, answers[cid], check=check, settling=settling)
        out.write("\n" + format_feedback(feedback(case, pick, practice, rb, check=check), kb, rb) + "\n")
        right, answered = r.score
        out.write(f"[score this round: {right} of {answered}]\n")
    return True


def format_feedback(fb: dict, kb, rb) -> str:
    """The feedback after one answer, as plain text."""
    from casework.practice import answer_label  # deferred: heavy (the rule base)

    def name(a: str) -> str:
        return answer_label(kb, rb, a)

    lines = [f"RIGHT: {name(fb['right_answer'])}." if fb["right"]
             else f"NOT THIS TIME: you chose {name(fb['pick'])}; the tool says {name(fb['right_answer'])}."]
    if fb["safety"]:
        lines.append(_wrap(f"{fb['safety']['title']}: {fb['safety']['guidance'][0]}"))
    lines.append(_wrap(f"The deciding fact: {fb['deciding_fact']}"))
    lines.append(f"The tool's result: {fb['headline']}")
    lines += [_wrap(b, "  - ") for b in fb["because"]]
    if fb["why_not_pick"]:
        lines.append(f"Why not {name(fb['pick'])}:")
        lines += [_wrap(w, "  - ") for w in fb["why_not_pick"]]
    if fb["checks"]:
        lines.append("What would settle it (check first):")
        lines += [_wrap(f"{c['what']}: {c['how']}", "  - ") for c in fb["checks"][:4]]
    if fb["check_right"] is not None:
        lines.append("Your check would settle it." if fb["check_right"]
                     else "Your check is already known in this case or would not settle it.")
    d = fb["distinction"]
    lines.append(_wrap(f"The distinction: {d['title']}. {d['text']}"))
    lines.append(_wrap("References: " + "; ".join(d["references"])))
    return "\n".join(lines)


def _summary(sess, kb, rb) -> str:
    from casework.practice import answer_label  # deferred: heavy (the rule base)

    right, answered = sess.score()
    lines = [f"\nScore: {right} of {answered} right."]
    pairs = sess.confused_pairs()
    if pairs:
        lines.append("The pairs you confuse most:")
        lines += [f"  - {answer_label(kb, rb, a)} and {answer_label(kb, rb, b)}: {n}" for (a, b), n in pairs[:5]]
    return "\n".join(lines) + "\n"


def cmd_practice(args: argparse.Namespace) -> int:
    from casework.practice import PracticeSession, right_answers  # deferred: heavy (the rule base)
    from knowledge.practice_set import load_practice  # deferred: heavy (pydantic, YAML)
    from rules.model import load_rulebase  # deferred: heavy (the rule base)

    practice = load_practice()
    if args.list:
        sys.stdout.write("".join(f"{c.id}\n" for c in practice.cases))
        return EXIT_OK
    if args.cases:
        wanted = [x.strip() for x in args.cases.split(",") if x.strip()]
        known = {c.id for c in practice.cases}
        unknown = [x for x in wanted if x not in known]
        if unknown:
            raise UsageError(f"unknown practice case(s): {', '.join(unknown)} (see: triage practice --list)")
    rb = load_rulebase()
    kb = rb.knowledge
    sess = PracticeSession.start(practice, seed=args.seed)
    if args.cases:
        sess.round.order = wanted
    if args.count:
        sess.round.order = sess.round.order[: args.count]
    answers = right_answers(practice, rb)
    sys.stdout.write(f"Practice: {len(sess.round.order)} cases you have not seen. One answer per case.\n")
    while _play_round(sess, practice, rb, answers):
        sys.stdout.write(_summary(sess, kb, rb))
        if not sess.confused_pairs():
            return EXIT_OK
        reply = _ask("Drill the pairs you confuse most? [y/N]: ")
        if not reply or reply.lower() not in ("y", "yes"):
            return EXIT_OK
        sess.start_drill(practice, answers)
        sys.stdout.write(f"\nDrill round: {len(sess.round.order)} cases.\n")
    sys.stdout.write(_summary(sess, kb, rb))
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "practice",
        help="practise on unseen cases in the terminal (score, feedback, drill); --list prints their ids",
        description=paragraphs(__doc__, 1, 2),
    )
    p.add_argument("--list", action="store_true", help="print the practice cases' ids, one a line, and stop")
    p.add_argument("--cases", metavar="IDS", help="comma-separated practice case ids to play, in this order")
    p.add_argument("--count", type=int, metavar="N", help="play only the first N cases of the round")
    p.add_argument("--seed", type=int, metavar="N", help="shuffle the cases with this seed (the same order every time)")
    p.set_defaults(func=cmd_practice)
