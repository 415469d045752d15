"""The most telling question first: which of the questions allowed next is asked.

The field's order stays: the stages of ``knowledge/questions.yaml`` come in their order (safety first,
the route, the environment before the person), and the first question whose ``ask_when`` holds, in
file order, fixes the stage. In a stage that ``order.most_telling_first`` names, the question asked is
then, among that stage's questions allowed now, the one whose answers split the possible outcomes
most; ties keep the file order, so where nothing differs the dialogue is unchanged.

How far a question's answers split the outcomes is read off the rule base once (:func:`telling_scores`):
each class of its answers (answers no condition tells apart, see ``Compiled.option_classes``) leads,
through the rules it lets fire and the findings they conclude, to a set of consequences (support for
or against an intervention, an intervention barred or ruled out, a gate, a stop, a question opened or
closed, a rule blocked). The score is the number of different sets over its classes. A gateway comes
before the rest whatever its score: a question some answer of which ends the case (a gate or a stop)
or opens or closes another question of its stage, so that it decides which of them apply (the aim of an
unclear case before the rest of the gap; the gap defined and worth closing before how many share it;
whether the work system was looked at before its parts). The choice depends on the rule base and on which questions are allowed now
only, so the walk, the stopping check (which searches the walk's own dialogue) and the enumeration
behind ``triage verify`` (:mod:`rules.tree`) all make the same choice whatever mode they walk in.
"""

from __future__ import annotations

from .conditions import holds
from .model import RuleBase
from .walk import _WalkState


def telling_scores(rb: RuleBase, option_classes: dict[str, list[list[str]]]) -> tuple[dict[str, int], dict[str, int]]:
    """Per question: the number of different sets of consequences its classes of answers lead to, and
    whether it is a gateway (1) or not (0): some answer ends the case (a gate or a stop finding) or
    opens or closes another question of its stage."""
    rules = rb.rules
    needing: dict[str, list] = {}
    for r in rules:
        for f in r.when.findings:
            needing.setdefault(f, []).append(r)
    questions = rb.knowledge.questions

    def consequences(qid: str, value: str) -> frozenset:
        out: set[tuple] = set()
        concluded: set[str] = set()
        seen: set[str] = set()
        work = [r for r in rules if value in r.when.answers.get(qid, ())]
        while work:
            r = work.pop()
            if r.id in seen:
                continue
            seen.add(r.id)
            t = r.then
            if t.finding:
                concluded.add(t.finding)
                work.extend(needing.get(t.finding, ()))
            elif t.gate:
                out.add(("gate", t.gate))
            elif t.support:
                out.add(("support", t.support.intervention, t.support.cf > 0))
            else:
                out.update(("bar", iv) for iv in ([t.rule_out] if t.rule_out else (t.not_primary or ())))
        out.update(("stop", f) for f in concluded if rb.findings[f].stop)
        out.update(("blocks", r.id) for r in rules if concluded & set(r.when.absent))
        for q in questions:
            cond = q.ask_when
            if q.id == qid:
                continue
            if value in cond.answers.get(qid, ()) or concluded & set(cond.findings):
                out.add(("opens", q.id))
            if concluded & set(cond.absent):
                out.add(("closes", q.id))
        return frozenset(out)

    stage_of = {q.id: q.stage for q in questions}
    scores: dict[str, int] = {}
    gateways: dict[str, int] = {}
    for q in questions:
        sets = {consequences(q.id, cls[0]) for cls in option_classes[q.id]}
        scores[q.id] = len(sets)
        gateways[q.id] = int(any(c[0] in ("gate", "stop") or (c[0] in ("opens", "closes") and stage_of[c[1]] == q.stage)
                                 for cons in sets for c in cons))
    return scores, gateways


def telling_rank(rb: RuleBase, option_classes: dict[str, list[list[str]]]) -> dict[str, tuple[int, int, int]]:
    """Per question, its place when questions of one stage compete (lowest first): a gateway first, then
    the most telling, then file order."""
    scores, gateways = telling_scores(rb, option_classes)
    return {q.id: (-gateways[q.id], -scores[q.id], i) for i, q in enumerate(rb.knowledge.questions)}


def telling_stages(rb: RuleBase) -> frozenset[str]:
    """The stages that ask their most telling question first (``order.most_telling_first``)."""
    order = rb.knowledge.question_order
    return frozenset(order.most_telling_first) if order else frozenset()


def asked_ahead(comp, answers: dict[str, str], qid: str) -> list[str]:
    """The questions of ``qid``'s stage, allowed now and earlier in the file, that ``qid`` is asked ahead
    of because it is more telling (empty when it is simply the next in file order)."""
    if comp.stage_of.get(qid) not in comp.telling_stages:
        return []
    _w, st = comp.resume(_WalkState.start(comp), answers, settle_stop=False)
    ahead = []
    for q, cond in st.pending:
        if q == qid:
            break
        if comp.stage_of[q] == comp.stage_of[qid] and holds(cond, st.accepted, st.findings, st.kinds):
            ahead.append(q)
    return ahead
