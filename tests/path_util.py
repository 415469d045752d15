"""Paths through the dialogue for tests: the questions in the order a consultation asks them.

:func:`rules.consult.consult` asks the walk's next question (``test_dialogue`` checks that the two agree),
so a path is built on the walk alone. A consultation at each step would also run the engine and the
result's searches for a result nobody reads: about 10 ms a step, against well under 1 ms for the walk.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from rules.evaluate import compiled
from rules.model import RuleBase, load_rulebase


def dialogue_path(choose: Callable[[str, list[str]], str], answers: Mapping[str, str] | None = None,
                  rb: RuleBase | None = None) -> dict[str, str]:
    """Answer the questions the dialogue asks until it has none left, each with ``choose(question id,
    its answer values)``, starting from ``answers``."""
    rb = rb or load_rulebase()
    comp = compiled(rb)
    path = dict(answers or {})
    while (nxt := comp.walk(path).next_question) is not None:
        path[nxt] = choose(nxt, rb.knowledge.question(nxt).option_values())
    return path
