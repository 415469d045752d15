"""``consult(answers) -> Consultation``: the one entry point of the triage.

Pure and deterministic. The answers are replayed in the order the questions are asked: a question
is asked only when its ``ask_when`` condition holds for the answers and findings so far; the first
askable question without an answer is the next question. Answers to questions that were never
reached on this path are ignored (and listed as such). A gate (gap not defined, not worth it, a
conduct matter) or a stop finding (a risk of harm) ends the questions. Then the experta engine fires
on the accepted answers and the result is settled (:mod:`rules.settle`).

Three things are decided here rather than by a rule:
- safety: a "yes" to the risk-of-harm question is never ignored, whatever else was answered (even off
  the path): the result carries ``safety_alert`` and the emergency guidance; a "don't know" with a red
  flag (distress, possible substance misuse) carries it too, with "check now" guidance;
- answers saved before the ``concern`` question existed are read the way they were meant
  (:func:`read_legacy`), and the result says so;
- confidence: a vague or "don't know" answer costs confidence only when another answer to it would
  change the result (newly opened questions answered "don't know"); those answers are listed.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from knowledge.schema import DONT_KNOW, Question

from .engine import Firing, run_engine, trace
from .evaluate import Compiled, closed, compiled, holds
from .model import RuleBase, load_rulebase
from .settle import CostStep, Settled, answer_costs, outcome, settle
from .summary import cannot_lead, primary_part, ruled_out, secondary_part, summary
from .walk import _WalkState
from .words import result_words, scoped

RED_FLAGS = ("yes", "substance", "both")  # answers to distress_signs that are red flags
SEVERAL = "several_people"  # the finding after which questions are worded for a group

MAX_VALUE_LENGTH = 100
START_HERE = 3  # how many checks a "check first" result marks as the place to start


class AnswerError(ValueError):
    """The answers are malformed; ``problems`` lists each one in plain words."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))


def normalise_answers(answers: Any, rb: RuleBase | None = None) -> dict[str, str]:
    """Check and tidy an answers mapping: known question ids, values among the options.

    ``yes``/``no`` written as YAML or JSON booleans are accepted; values are trimmed and lower-cased.
    Raises :class:`AnswerError` naming every problem found.
    """
    rb = rb or load_rulebase()
    if not isinstance(answers, Mapping):
        raise AnswerError([f"answers must be a mapping of question id to answer, not {type(answers).__name__}"])
    clean: dict[str, str] = {}
    problems: list[str] = []
    for key, value in answers.items():
        if not isinstance(key, str) or key not in rb.knowledge.question_index:
            shown = repr(key)[:60]
            problems.append(f"unknown question id {shown}")
            continue
        q = rb.knowledge.question(key)
        if isinstance(value, bool):
            value = "yes" if value else "no"
        if value is None:
            continue  # an unanswered question
        if not isinstance(value, str):
            problems.append(f"{key}: answer must be text, not {type(value).__name__}")
            continue
        v = value.strip().lower().replace("'", "").replace(" ", "_").replace("-", "_")
        if v in ("don_t_know", "dontknow", "unknown"):
            v = DONT_KNOW
        if v not in q.option_values():
            shown = value if len(value) <= MAX_VALUE_LENGTH else value[:MAX_VALUE_LENGTH] + "…"
            problems.append(f"{key}: {shown!r} is not one of {', '.join(q.option_values())}")
            continue
        clean[key] = v
    if problems:
        raise AnswerError(problems)
    return clean


def read_legacy(answers: Mapping[str, str]) -> tuple[dict[str, str], dict[str, Any] | None]:
    """Answers saved before the opening ``concern`` question, read as they were meant.

    Without ``concern``, answers to the shortfall questions are read as a shortfall (``aim``
    "future development" as development, "both" or "don't know" as not sure, which asks ``aim``
    as before). Questions that were split keep their old answer's meaning: the old
    ``poor_performance_rewarded`` asked "goes unnoticed, or even pays off?", so "no" also meant
    "it is noticed" (``shortfall_noticed: yes``); the old ``leader_can_coach`` asked "can and willing",
    so "yes" also meant the coach makes the time (``coach_time: yes``).
    Returns the answers to use and a note of what was read (None when nothing was).
    """
    if not answers or "concern" in answers:
        return read_added(answers), None
    out = dict(answers)
    aim = out.get("aim")
    if aim == "future_development":
        concern, because = "development", 'the answer to "aim" is future development'
        del out["aim"]
    elif aim in ("both", DONT_KNOW):
        concern, because = DONT_KNOW, f'the answer to "aim" is {aim}'
    else:
        concern, because = "shortfall", "the answers are to the shortfall questions"
        out.pop("aim", None)
    out = {"concern": concern, **out}
    derived = {"concern": concern}
    if "poor_performance_rewarded" in out and "shortfall_noticed" not in out:
        derived["shortfall_noticed"] = out["shortfall_noticed"] = (
            "yes" if out["poor_performance_rewarded"] == "no" else DONT_KNOW)
    if out.get("leader_can_coach") == "yes" and "coach_time" not in out:
        derived["coach_time"] = out["coach_time"] = "yes"
    out = read_added(out)
    if "environment_checked" in out and "environment_checked" not in answers:
        derived["environment_checked"] = out["environment_checked"]
    return out, {"concern": concern, "because": because, "derived": derived}


# the questions the gateway ``environment_checked`` opens ("yes" or "partly") or turns into checks
ENVIRONMENT_PARTS = ("expectations_clear", "feedback_given", "resources_adequate", "targets_conflict",
                     "right_way_punished", "poor_performance_rewarded", "shortfall_noticed", "other_obstacles")


def read_added(answers: Mapping[str, str]) -> dict[str, str]:
    """Answers given before a gateway question was added, read as meant: answers to the parts of the work
    environment, given without ``environment_checked``, mean it was looked at ("yes")."""
    out = dict(answers)
    if "environment_checked" not in out and any(q in out for q in ENVIRONMENT_PARTS):
        out["environment_checked"] = "yes"
    return out


def safety_level(answers: Mapping[str, str]) -> str | None:
    """``emergency`` (risk of harm), ``check_now`` (risk unknown, a red flag present), ``support``
    (a red flag, no risk reported) or None. Read from every answer given, on the path or not."""
    risk, distress = answers.get("risk_of_harm"), answers.get("distress_signs")
    if risk == "yes":
        return "emergency"
    if distress in RED_FLAGS:
        return "check_now" if risk in (DONT_KNOW, None) else "support"
    return None


@dataclass(frozen=True)
class Overturn:
    """A vague or "don't know" answer, and the other answers to it that would change the result."""

    cost: CostStep
    alternatives: list[tuple[str, tuple]]  # (other answer, the outcome it gives: see Settled.outcome)
    # other answer -> the questions it opens (taken as "don't know" for the outcome above); none: it
    # leads to that outcome by itself
    opens: dict[str, tuple[str, ...]] = field(default_factory=dict)


def conclude(rb: RuleBase, accepted: Mapping[str, str], fired: list[str]) -> tuple[Settled, list[Overturn]]:
    """Settle a finished path, with confidence costs only for answers that could change the result.

    Each vague or "don't know" answer is tried with one option of each other class of options that no
    condition tells apart (the plain evaluator walks on from the state before that question, answering
    newly opened questions "don't know"); the answer costs confidence when some other option gives
    another outcome (status, gate, primary or lean).
    """
    first = settle(rb, fired, accepted, costs=[])
    if first.status == "cannot_recommend" and first.gate != "check_first":
        return first, []
    costs = answer_costs(rb, accepted)
    if not costs:
        return first, []
    changes = other_answers(rb, accepted, [cost.question for cost in costs], first.outcome)
    overturns = [Overturn(cost, *changes[cost.question]) for cost in costs if cost.question in changes]
    if first.status != "complete" or not overturns:
        return first, overturns
    return settle(rb, fired, accepted, costs=[o.cost for o in overturns]), overturns


def other_answers(rb: RuleBase, accepted: Mapping[str, str], questions: list[str], base: tuple
                  ) -> dict[str, tuple[list[tuple[str, tuple]], dict[str, tuple[str, ...]]]]:
    """What each other answer to each of ``questions`` (answered on the path of ``accepted``) would
    lead to, where that differs from ``base`` (the outcome as it stands, see ``Settled.outcome``).

    The one computation behind ``could_change_result`` (the unknown answers) and the decisive answers
    of an explanation (every answer): one option of each class of options that no condition tells
    apart is tried, walking on from the state before that question, newly opened questions answered
    "don't know". Gives ``{question: ([(other answer, outcome)], {other answer: questions it opens})}``
    for the questions where some other answer changes the outcome. What is found for a question is
    remembered per set of answers (the explanation asks again what the confidence check asked)."""
    if not questions:
        return {}
    comp = compiled(rb)
    known = frozenset(accepted.items())
    states = functools.cache(lambda: comp.walk_states(accepted))  # walked once, if something is not remembered

    def tried(qid: str) -> tuple[list[tuple[str, tuple]], dict[str, tuple[str, ...]]] | None:
        walked, _end, before = states()
        path = walked.path
        return _tried(rb, comp, accepted, before[path.index(qid)], qid, base) if qid in path else None

    out: dict[str, tuple[list[tuple[str, tuple]], dict[str, tuple[str, ...]]]] = {}
    for qid in questions:
        found = comp.remembered_other((known, qid, base), lambda qid=qid: tried(qid))
        if found:
            out[qid] = (list(found[0]), dict(found[1]))  # copies: the remembered ones stay as found
    return out


def _tried(rb: RuleBase, comp: Compiled, accepted: Mapping[str, str], before: _WalkState, qid: str, base: tuple
           ) -> tuple[list[tuple[str, tuple]], dict[str, tuple[str, ...]]] | None:
    """:func:`other_answers` for one question, from the walk's state before it was answered."""
    alts: list[tuple[str, tuple]] = []
    opens: dict[str, tuple[str, ...]] = {}
    for values in comp.option_classes[qid]:
        if accepted[qid] in values:
            continue  # answers no condition tells apart from this one change nothing
        # the path up to this question is the same: walk on from there with the other answer
        # (to the end: a settled stop would give the same outcome, at the price of its check)
        _w, st = comp.resume(before, {**accepted, qid: values[0]}, fill=DONT_KNOW, settle_stop=False)
        other = outcome(rb, comp.fired_by(st, ordered=False), st.accepted)
        if other != base:
            alts += [(alt, other) for alt in values]
            # the questions it opens: those the consultation would go on to ask (it stops once settled)
            _w, asked = comp.resume(before, {**accepted, qid: values[0]}, fill=DONT_KNOW)
            opened = tuple(q for q in asked.accepted if q not in accepted)
            opens.update(dict.fromkeys(values, opened))
    return (alts, opens) if alts else None


@dataclass(frozen=True)
class Walk:
    """The adaptive path through the questions for a set of answers."""

    accepted: dict[str, str]
    path: list[str]
    next_question: Question | None
    stopped_by: str | None  # gate or stop finding that ended the questions early


def walk(rb: RuleBase, answers: Mapping[str, str]) -> Walk:
    """Replay ``answers`` along the adaptive path (plain-Python firing, see rules.evaluate)."""
    w = compiled(rb).walk(answers)
    nq = rb.knowledge.question(w.next_question) if w.next_question else None
    return Walk(w.accepted, w.path, nq, w.stopped_by)


@dataclass
class Consultation:
    """The outcome of one consultation: the next question, or a result with its trace."""

    status: str  # complete | needs_answer | cannot_recommend
    answers: dict[str, str]  # the accepted answers, in the order asked
    ignored: dict[str, str]  # answers given to questions not on this path
    next_question: Question | None  # worded for a group once the case concerns several people
    fired: list[str]
    trace: list[Firing]
    findings: list[str]
    settled: Settled
    rulebase_version: str
    stopped_by: str | None = None
    explanation: Any = field(default=None, repr=False)
    overturns: list[Overturn] = field(default_factory=list)
    legacy: dict[str, Any] | None = None  # how answers saved before `concern` were read
    safety: str | None = None  # emergency | check_now | support | None (see safety_level)

    @property
    def primary(self) -> str | None:
        return self.settled.primary if self.status == "complete" else None

    @property
    def confidence(self) -> float | None:
        return self.settled.confidence if self.status == "complete" else None

    @property
    def secondary(self) -> list[str]:
        return list(self.settled.secondary) if self.status == "complete" else []

    @property
    def gate(self) -> str | None:
        return self.settled.gate if self.status == "cannot_recommend" else None

    @property
    def lean(self) -> str | None:
        """Check first: the intervention the answers point to (None when they point nowhere yet)."""
        return self.settled.lean if self.gate == "check_first" else None

    def confidence_band(self, rb: RuleBase | None = None) -> str | None:
        """The confidence in words (at most "moderate" while an unknown answer could change the result, or
        while one piece of evidence carries most of the certainty)."""
        rb = rb or load_rulebase()
        return rb.settlement.band(self.confidence, bool(self.overturns), self.settled.one_support)

    @property
    def safety_alert(self) -> bool:
        return self.safety in ("emergency", "check_now")

    @property
    def provisional(self) -> str | None:
        """While questions remain: the intervention the answers so far point to, if any."""
        return (self.settled.primary or self.settled.lean) if self.status == "needs_answer" else None

    def missing(self, rb: RuleBase | None = None) -> list[str]:
        """While questions remain: every question still to answer on this path, in the order it would
        be asked, if each were answered "don't know" (a real answer can end the questions sooner or open
        others). Empty for a finished result."""
        if self.status != "needs_answer":
            return []
        rb = rb or load_rulebase()
        path = compiled(rb).walk(self.answers, fill=DONT_KNOW).path
        return [q for q in path if q not in self.answers]

    def checks(self, rb: RuleBase | None = None) -> list[dict[str, Any]]:
        """Check first: what to find out, and how, to settle the result (a to-do list).

        With a lean: for each requirement of the leaning intervention that is not met, the questions
        that establish it and are still unknown on the path ("don't know", vague or not asked). With no
        lean: the unknown answers whose other options would lead to a result.
        """
        if self.gate != "check_first":
            return []
        rb = rb or load_rulebase()
        kb = rb.knowledge
        out: list[dict[str, Any]] = []
        seen: set[str] = set()

        def add(qid: str, need: str | None) -> None:
            if qid in seen:
                return
            seen.add(qid)
            q = self.worded(kb.question(qid))
            value = self.answers.get(qid)
            out.append({
                "question": qid,
                "text": q.text,
                "what": q.check.what if q.check else q.text,
                "how": q.check.how if q.check else q.help.strip(),
                "answer": value,
                "for": need,
            })

        # a finding of kind "unknown" (the work not looked at yet) is what turns questions into checks:
        # it does not close them
        findings = {f for f in self.findings if rb.finding_kind[f] != "unknown"}
        kinds = {rb.finding_kind[f] for f in findings}
        ask_when = dict(compiled(rb).questions)

        def unknown(qid: str) -> bool:
            v = self.answers.get(qid)
            if v is None:  # not asked: a check only if this case could still be asked it
                return not closed(ask_when[qid], self.answers, findings, kinds)
            return kb.question(qid).cost_of(v) > 0

        for req in self.settled.missing:
            found = [qid for qid in req.checks if unknown(qid)]
            for qid in found:
                add(qid, req.needs)
            if not found:  # known not to hold: what to do about it (else why it matters)
                step = " ".join((req.step or "").split())
                out.append({"question": None, "text": None, "what": req.needs,
                            "how": step or " ".join(req.rationale.split()), "answer": None, "for": req.needs,
                            **({"do": step} if step else {})})
        if not self.settled.missing:
            for o in self.overturns:
                add(o.cost.question, None)
            if not out:
                for qid, v in self.answers.items():
                    if v == DONT_KNOW:
                        add(qid, None)
        return self._order_checks(rb, out)

    def _order_checks(self, rb: RuleBase, checks: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The checks ordered by how much each could change the result: the number of different outcomes
        (status, gate, primary, lean) its answers lead to, the rest of the case as it stands and newly
        opened questions "don't know". The first few that can change it are marked ``start_here``."""
        comp = compiled(rb)
        base = self.settled.outcome
        reach: dict[str, int] = {}
        for ch in checks:
            qid = ch["question"]
            if qid is None or qid in reach:
                continue
            outs = {base}
            for values in comp.option_classes[qid]:
                w = comp.walk({**self.answers, qid: values[0]}, fill=DONT_KNOW, settle_stop=False)
                if qid in w.accepted:
                    outs.add(outcome(rb, comp.fire(w.accepted)[0], w.accepted))
            reach[qid] = len(outs)
        ordered = sorted(checks, key=lambda ch: -reach.get(ch["question"], 1))
        started = 0
        for ch in ordered:
            ch["outcomes"] = reach.get(ch["question"], 1)
            ch["start_here"] = started < START_HERE and ch["outcomes"] > 1
            started += ch["start_here"]
        if ordered and not started:
            ordered[0]["start_here"] = True
        return ordered

    def delivery(self, rb: RuleBase | None = None) -> list[dict[str, Any]]:
        """How the recommended intervention (or, in "check first", the lean) will be delivered: what is
        not yet in place, each as ``{intervention, needs, step, checks}`` (rules/evidence.yaml,
        ``delivery``). It never holds a recommendation back; the plan takes it as its first step."""
        rb = rb or load_rulebase()
        iv = self.primary or self.lean
        if iv is None:
            return []
        findings = set(self.findings)
        kinds = {rb.finding_kind[f] for f in findings}
        return [
            {"intervention": iv, "needs": dl.needs, "step": " ".join(dl.step.split()), "checks": list(dl.checks)}
            for dl, established in compiled(rb).delivery
            if dl.intervention == iv and not any(holds(c, self.answers, findings, kinds) for c in established)
        ]

    def differential(self, rb: RuleBase | None = None) -> list[dict[str, Any]]:
        """Check first: ``[{intervention, because, base_rate}]``, most likely first (the first is the lean).
        ``because`` is the base rate's reason where one placed it, else the strongest supporting rule's."""
        rb = rb or load_rulebase()
        out = []
        for iv, br_id in self.settled.differential:
            if br_id is not None:
                because = next(br.because for br in rb.base_rates if br.id == br_id)
            else:
                steps = sorted((st for st in self.settled.evidence[iv] if st.cf > 0), key=lambda st: -st.cf)
                because = rb.by_id[steps[0].rule].reason_for(iv) if steps else ""
            out.append({"intervention": iv, "because": " ".join(because.split()), "base_rate": br_id})
        return out

    def worded(self, q: Question) -> Question:
        """``q`` worded for the case's scope: the group wording once several people share it."""
        return q.for_group() if SEVERAL in self.findings else q

    def ruled_out(self, rb: RuleBase | None = None) -> list[dict[str, str]]:
        """Interventions excluded outright (must not be used): ``{intervention, reason, rule}``."""
        return ruled_out(rb or load_rulebase(), self)

    def cannot_lead(self, rb: RuleBase | None = None) -> list[dict[str, str]]:
        """Interventions that may support but must not lead: ``{intervention, reason, rule}``."""
        return cannot_lead(rb or load_rulebase(), self)

    def safety_dict(self, rb: RuleBase) -> dict[str, Any] | None:
        if self.safety is None:
            return None
        level = getattr(rb.safety, self.safety)
        guidance = level.group_guidance if level.group_guidance and SEVERAL in self.findings else level.guidance
        return {"level": self.safety, "title": level.title, "guidance": list(guidance)}

    def to_dict(self, rb: RuleBase | None = None) -> dict[str, Any]:
        rb = rb or load_rulebase()
        nq = self.next_question
        gate = rb.gates.get(self.gate) if self.gate else None
        cannot = None
        if gate is not None:
            advice = gate.advice_no_lean if gate.advice_no_lean and self.lean is None else gate.advice
            cannot = {"reason": gate.id, "label": gate.label, "advice": advice.strip()}
            if gate.id == "check_first":
                cannot["lean"] = self.lean
                cannot["differential"] = self.differential(rb)
                cannot["needs"] = [req.needs for req in self.settled.missing]
                cannot["checks"] = self.checks(rb)
        d: dict[str, Any] = {
            "status": self.status,
            "next_question": None
            if nq is None
            else {
                "id": nq.id,
                "text": nq.text,
                "help": nq.help,
                "why": nq.why,
                "options": [{"value": o.value, "label": o.label} for o in nq.options],
            },
            "primary": primary_part(rb, self),
            "secondary": secondary_part(rb, self),
            "ruled_out": self.ruled_out(rb),
            "cannot_lead": self.cannot_lead(rb),
            "cannot_recommend": cannot,
            "provisional": self.provisional,
            "missing": self.missing(rb),
            "concern": self.answers.get("concern"),
            "concern_read_from_old_answers": self.legacy,
            "safety_alert": self.safety_alert,
            "safety": self.safety_dict(rb),
            "delivery": self.delivery(rb),
            "could_change_result": [
                {"question": o.cost.question, "answer": o.cost.answer,
                 "text": self.worded(rb.knowledge.question(o.cost.question)).text,
                 "alternatives": [alternative(rb, self, a, st, o.opens.get(a, ())) for a, st in o.alternatives]}
                for o in self.overturns
            ],
            "findings": self.findings,
            "fired_rules": self.fired,
            "answers": self.answers,
            "ignored_answers": self.ignored,
            "rulebase_version": self.rulebase_version,
        }
        if self.settled.overridden_gate:
            d["gate_set_aside"] = self.settled.overridden_gate
        several = SEVERAL in self.findings  # every text in the group wording (rules.words.scoped)
        d = scoped(d, several)
        d["summary"] = scoped(summary(rb, self, d), several)
        if self.explanation is not None:
            d["explanation"] = self.explanation
        return d


def alternative(rb: RuleBase, c: Consultation, answer: str, out: tuple, opens: tuple[str, ...]) -> dict[str, Any]:
    """One other answer to an unknown one, and what it would lead to, as ``could_change_result`` lists
    it: ``result`` (machine-readable), ``opens`` (the questions it would open) and ``text`` in words — the
    result when the answer leads there by itself, else "opens further questions (…)" and where they lead
    while unknown."""
    words = result_words().summary
    result = outcome_words(rb, _outcome_text(out))
    text = result
    if len(opens) > words.alternative_opens_listed:
        text = words.alternative_opens_many.format(n=len(opens), result=result)
    elif opens:
        asked = "; ".join(c.worded(rb.knowledge.question(q)).text for q in opens)
        text = words.alternative_opens.format(n=len(opens), questions=asked, result=result)
    return {"answer": answer, "result": _outcome_text(out), "opens": list(opens), "text": text}


def outcome_words(rb: RuleBase, result: str) -> str:
    """A machine-readable outcome (an intervention id, ``check_first:<lean>`` or a gate id) in words."""
    ivs = rb.knowledge.interventions
    if result in ivs:
        return ivs[result].name
    gate, _, lean = result.partition(":")
    label = rb.gates[gate].label if gate in rb.gates else gate
    return result_words().summary.alternative_lean.format(label=label, name=ivs[lean].name) if lean in ivs else label


def _outcome_text(out: tuple) -> str:
    """A short machine-readable outcome: an intervention id, ``check_first:<lean>`` or a gate id."""
    status, gate, primary, lean = out
    if status == "complete":
        return primary or ""
    if gate == "check_first":
        return f"check_first:{lean}" if lean else "check_first"
    return gate or ""


def consult(answers: Mapping[str, Any] | None = None, rb: RuleBase | None = None) -> Consultation:
    """Consult the rule base. Raises :class:`AnswerError` on unknown ids or values."""
    rb = rb or load_rulebase()
    clean = normalise_answers({} if answers is None else answers, rb)
    given, legacy = read_legacy(clean)
    w = walk(rb, given)
    fired, findings = run_engine(rb, w.accepted)
    overturns: list[Overturn] = []
    if w.next_question is None:
        settled, overturns = conclude(rb, w.accepted, fired)
        status = settled.status
    else:
        settled, status = settle(rb, fired, w.accepted), "needs_answer"
    nq = w.next_question
    if nq is not None and SEVERAL in findings:
        nq = nq.for_group()
    return Consultation(
        status=status,
        answers=dict(w.accepted),
        ignored={k: v for k, v in given.items() if k not in w.accepted},
        next_question=nq,
        fired=fired,
        trace=trace(rb, fired, w.accepted),
        findings=sorted(findings),
        settled=settled,
        rulebase_version=rb.version,
        stopped_by=w.stopped_by,
        overturns=overturns,
        legacy=legacy,
        safety=safety_level(clean),
    )
