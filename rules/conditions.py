"""Compiled conditions and the certainty-factor arithmetic: the primitives every evaluator shares.

A rule's or question's condition is compiled once into a tuple of frozensets (:func:`compile_condition`),
so a test is a few set operations rather than attribute look-ups on pydantic models. Along a path,
answers, findings and finding kinds only accumulate; :func:`could_hold`, :func:`holds_for_good` and
:func:`closed` reason about what can still happen below a point of the path.
"""

from __future__ import annotations

from collections.abc import Mapping

from knowledge.schema import Condition


def accumulate(measure: float, cf: float) -> float:
    """Add one piece of evidence (|cf|) to a measure of belief or disbelief: m + |cf|(1 - m)."""
    return measure + abs(cf) * (1 - measure)


def net_cf(mb: float, md: float) -> float:
    """The certainty factor from a measure of belief and one of disbelief (EMYCIN)."""
    denom = 1 - min(mb, md)
    return 0.0 if denom == 0 else (mb - md) / denom


CondFn = tuple  # (answers: tuple[(qid, frozenset)], need, bar, any_kinds, no_kinds)
"""A condition compiled to frozensets; see :func:`holds`."""


def compile_condition(cond: Condition) -> CondFn:
    """A condition as frozensets (see :func:`holds`); the tree enumeration compiles the same way."""
    return (
        tuple((q, frozenset(v)) for q, v in cond.answers.items()),
        frozenset(cond.findings),
        frozenset(cond.absent),
        frozenset(cond.any_finding_kinds),
        frozenset(cond.no_finding_kinds),
    )


def holds(c: CondFn, answers: Mapping[str, str], findings, kinds) -> bool:
    ans, need, bar, anyk, nok = c
    for q, allowed in ans:
        if answers.get(q) not in allowed:
            return False
    if need and not need <= findings:
        return False
    if bar and not bar.isdisjoint(findings):
        return False
    if anyk and anyk.isdisjoint(kinds):
        return False
    if nok and not nok.isdisjoint(kinds):
        return False
    return True


def standing(c: CondFn, answers: Mapping[str, str], findings, kinds) -> int:
    """:func:`holds` and :func:`closed` in one pass, for the walk's look at each question still open:
    1 when ``c`` holds, -1 when it is closed, 0 when it may still come to hold."""
    ans, need, bar, anyk, nok = c
    waiting = False
    for q, allowed in ans:
        v = answers.get(q)
        if v not in allowed:
            if v is not None:
                return -1  # answered otherwise
            waiting = True
    if (bar and not bar.isdisjoint(findings)) or (nok and not nok.isdisjoint(kinds)):
        return -1
    if waiting or (need and not need <= findings) or (anyk and anyk.isdisjoint(kinds)):
        return 0
    return 1


def could_hold(c: CondFn, answers: Mapping[str, str], findings, possible, possible_kinds,
               askable=None) -> bool:
    """Whether ``c`` can still hold on some completion of this path: no answer it tests was given
    otherwise (nor, given ``askable``, belongs to a question that can no longer be asked), the findings it
    needs can still appear (``possible``), none it forbids is present yet, and a kind it needs can still
    appear."""
    ans, need, bar, anyk, nok = c
    for q, allowed in ans:
        if q in answers:
            if answers[q] not in allowed:
                return False
        elif askable is not None and q not in askable:
            return False
    if need and not need <= possible:
        return False
    if bar and not bar.isdisjoint(findings):
        return False
    if anyk and anyk.isdisjoint(possible_kinds):
        return False
    return True


def holds_for_good(c: CondFn, answers: Mapping[str, str], findings, kinds, possible, possible_kinds) -> bool:
    """Whether ``c`` holds now and on every completion of this path: it holds, and nothing it forbids can
    still appear (answers, findings and kinds only accumulate along a path)."""
    _ans, _need, bar, _anyk, nok = c
    return (holds(c, answers, findings, kinds) and (not bar or bar.isdisjoint(possible))
            and (not nok or nok.isdisjoint(possible_kinds)))


def closed(c: CondFn, answers: Mapping[str, str], findings, kinds) -> bool:
    """Whether ``c`` can never hold further down this path: an answer it tests was given otherwise, or
    a finding or kind it forbids is present (answers, findings and kinds only accumulate on a path)."""
    ans, _need, bar, _anyk, nok = c
    for q, allowed in ans:
        if q in answers and answers[q] not in allowed:
            return True
    return bool(bar and not bar.isdisjoint(findings)) or bool(nok and not nok.isdisjoint(kinds))
