"""Practice: a student decides unseen cases, one answer per case, and gets feedback that explains.

Plain Python, used by the Practice page and by ``triage practice``:

- :class:`PracticeSession` holds the rounds of one student's session (a first round over the whole
  practice set, then drill rounds over the pairs of answers they confuse most), one answer per case
  and round, the score and the progress; it is plain data (``to_dict``/``from_dict``) so a page keeps
  it in its session state;
- :func:`feedback` consults the rule base on the case (``rules.consult.consult``) and returns what to
  show after an answer: the tool's result with its reasons, the deciding fact, the distinction the case
  exercises with its references, why not the student's pick, and the checks of a "check first" case;
- :func:`answer_label` names an answer (an intervention or a "cannot recommend yet" reason).
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from knowledge.loader import Knowledge
from knowledge.practice_set import ANSWERS, GATE_ANSWERS, Practice, PracticeCase  # noqa: F401 - ANSWERS re-exported
from rules.consult import Consultation, consult
from rules.model import RuleBase
from rules.summary import why_not

DRILL_SIZE = 8  # cases in a drill round (fewer when the confused pairs have fewer cases)
PAIRS_DRILLED = 2  # the most confused pairs a drill round covers


class PracticeError(ValueError):
    """A practice action that cannot be done (an unknown answer, a case answered twice)."""


def answer_label(kb: Knowledge, rb: RuleBase, answer: str) -> str:
    """An answer in words: the intervention's name, or the gate's label ("Check first", ...)."""
    if answer in kb.interventions:
        return kb.interventions[answer].name
    gate = rb.gates.get(answer)
    return gate.label if gate else answer


def answer_of(c: Consultation) -> str:
    """The right answer for a finished consultation: its primary, or the reason it cannot recommend."""
    if c.status == "complete" and c.primary:
        return c.primary
    return str(c.gate or c.status)


def pair_of(a: str, b: str) -> tuple[str, str]:
    """Two answers in a fixed order (the order of ANSWERS), so (a, b) and (b, a) count as one pair."""
    return tuple(sorted((a, b), key=lambda x: ANSWERS.index(x) if x in ANSWERS else len(ANSWERS)))  # type: ignore[return-value]


@dataclass
class Attempt:
    case: str
    pick: str
    right_answer: str
    check: str | None = None  # the check the student named (a question id), if any
    check_right: bool | None = None  # None when no check was named or the case has none to name

    @property
    def right(self) -> bool:
        return self.pick == self.right_answer


@dataclass
class Round:
    kind: str  # "all" (the whole set) or "drill"
    order: list[str]
    attempts: dict[str, Attempt] = field(default_factory=dict)
    pairs: list[tuple[str, str]] = field(default_factory=list)  # drill: the pairs it covers

    @property
    def current(self) -> str | None:
        """The first case of the round not answered yet (None when the round is done)."""
        return next((cid for cid in self.order if cid not in self.attempts), None)

    @property
    def done(self) -> bool:
        return self.current is None

    @property
    def score(self) -> tuple[int, int]:
        """(right answers, answers given) in this round."""
        return sum(a.right for a in self.attempts.values()), len(self.attempts)


@dataclass
class PracticeSession:
    rounds: list[Round]
    seed: int = 0

    # ------------------------------------------------------------------ making and keeping

    @classmethod
    def start(cls, practice: Practice, seed: int | None = None) -> PracticeSession:
        """A new session: the first round takes every practice case once, in a shuffled order."""
        seed = random.SystemRandom().randrange(1 << 30) if seed is None else seed
        order = [c.id for c in practice.cases]
        random.Random(seed).shuffle(order)
        return cls(rounds=[Round("all", order)], seed=seed)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PracticeSession:
        rounds = []
        for r in d["rounds"]:
            attempts = {k: Attempt(**a) for k, a in r["attempts"].items()}
            rounds.append(Round(r["kind"], list(r["order"]), attempts, [tuple(p) for p in r["pairs"]]))
        return cls(rounds=rounds, seed=d.get("seed", 0))

    # ------------------------------------------------------------------ playing

    @property
    def round(self) -> Round:
        return self.rounds[-1]

    def answer(self, case: PracticeCase, pick: str, right_answer: str, check: str | None = None,
               settling: list[str] | None = None) -> Attempt:
        """Record the student's one answer to ``case`` in the current round.

        ``right_answer`` is what the rule base gives for the case; ``settling`` the question ids whose
        check would settle it (a "check first" result), used to mark a named ``check``.
        Raises :class:`PracticeError` for an unknown answer, a case not in the round, or a second answer.
        """
        r = self.round
        if pick not in ANSWERS:
            raise PracticeError(f"unknown answer {pick!r}; choose one of {', '.join(ANSWERS)}")
        if case.id not in r.order:
            raise PracticeError(f"case {case.id!r} is not in this round")
        if case.id in r.attempts:
            raise PracticeError(f"case {case.id!r} is already answered in this round (one answer per case)")
        check_right = None
        if check is not None and settling:
            check_right = check in settling
        a = Attempt(case.id, pick, right_answer, check, check_right)
        r.attempts[case.id] = a
        return a

    # ------------------------------------------------------------------ what the student confuses

    def attempts(self) -> list[Attempt]:
        return [a for r in self.rounds for a in r.attempts.values()]

    def score(self) -> tuple[int, int]:
        """(right, answered) over the whole session."""
        all_ = self.attempts()
        return sum(a.right for a in all_), len(all_)

    def confused_pairs(self) -> list[tuple[tuple[str, str], int]]:
        """The pairs of answers mixed up in wrong answers (the right one and the one picked), most often
        first; a pair counts both ways (coaching for mentoring and mentoring for coaching)."""
        counts = Counter(pair_of(a.right_answer, a.pick) for a in self.attempts() if not a.right)
        return sorted(counts.items(), key=lambda kv: (-kv[1], ANSWERS.index(kv[0][0]) if kv[0][0] in ANSWERS else 99))

    def start_drill(self, practice: Practice, answers: dict[str, str], size: int = DRILL_SIZE) -> Round:
        """A drill round over the most confused pairs: cases whose right answer is one side of such a
        pair, the cases answered wrongly first. ``answers`` maps case id -> its right answer.
        Raises :class:`PracticeError` when nothing has been confused yet."""
        pairs = [p for p, _ in self.confused_pairs()[:PAIRS_DRILLED]]
        if not pairs:
            raise PracticeError("no pairs to drill yet: every answer so far was right")
        sides = {x for p in pairs for x in p}
        wrong = {a.case for a in self.attempts() if not a.right}
        candidates = [c.id for c in practice.cases if answers.get(c.id) in sides]
        rng = random.Random(self.seed + len(self.rounds))
        rng.shuffle(candidates)
        candidates.sort(key=lambda cid: cid not in wrong)  # stable: the missed ones first
        order = candidates[:size]
        rng.shuffle(order)
        r = Round("drill", order, pairs=pairs)
        self.rounds.append(r)
        return r


# --------------------------------------------------------------------------- feedback


def right_answers(practice: Practice, rb: RuleBase) -> dict[str, str]:
    """Each practice case's right answer, as the rule base gives it now."""
    return {c.id: answer_of(consult(c.answers, rb)) for c in practice.cases}


def check_options(case: PracticeCase, kb: Knowledge) -> list[str]:
    """The questions of ``case`` a student may name as the check that would settle it: every question
    the case answers that has a check (facts already known are wrong picks)."""
    return [q for q in case.answers if kb.question(q).check is not None]


def settling_checks(c: Consultation, rb: RuleBase) -> list[str]:
    """The question ids whose check would settle a "check first" result (empty otherwise)."""
    return [x["question"] for x in c.checks(rb) if x["question"]]


def feedback(case: PracticeCase, pick: str, practice: Practice, rb: RuleBase,
             check: str | None = None) -> dict[str, Any]:
    """What a student sees after answering ``case`` with ``pick``, as plain data:
    ``right`` (bool), ``right_answer``, ``headline`` and ``because`` (the tool's summary and reasons),
    ``deciding_fact``, ``distinction`` ({title, text, references}), ``why_not_pick`` (lines), ``ruled_out``
    ([{intervention, reason}]), ``checks`` ([{what, how}] for a "check first" result) and
    ``check_right`` (None when no check was named)."""
    kb = rb.knowledge
    c = consult(case.answers, rb)
    d = c.to_dict(rb)
    right = answer_of(c)
    dist = practice.distinctions[case.distinction]
    why: list[str] = []
    if pick != right and pick in kb.interventions:
        entry = why_not(rb, c).get(pick)
        if entry:
            why = [r.strip() for r in entry["reasons"]][:3]
            if not why and entry["verdict"] == "no_support":
                why = [f"Nothing in this case points to {kb.interventions[pick].name.lower()}: no rule supports it "
                       "on these facts."]
            elif not why:
                why = [line for line in entry["text"] if "[" not in line][:1]
    elif pick != right and pick in GATE_ANSWERS:
        if right in kb.interventions:
            why = ["The case says enough to recommend: the facts that decide it are stated."]
    settling = settling_checks(c, rb)
    return {
        "right": pick == right,
        "pick": pick,
        "right_answer": right,
        "headline": d["summary"]["headline"],
        "because": list(d["summary"]["because"]),
        "next_step": d["summary"]["next_step"],
        "deciding_fact": " ".join(case.deciding_fact.split()),
        "distinction": {
            "id": dist.id,
            "title": dist.title,
            "text": " ".join(dist.text.split()),
            "references": [kb.cite(k) for k in dist.sources],
        },
        "why_not_pick": why,
        "ruled_out": [{"intervention": r["intervention"], "reason": r["reason"]} for r in d["ruled_out"]],
        "secondary": [{"intervention": s["intervention"], "role": s["role"]} for s in d["secondary"]],
        "checks": [{"question": x["question"], "what": x["what"], "how": x["how"]} for x in c.checks(rb)],
        "check": check,
        "check_right": (check in settling) if (check is not None and settling) else None,
        "safety": d["safety"],
    }
