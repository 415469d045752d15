"""One colour per intervention (and per result without one), the same in every chart of the app and
the report: a chart's colours never depend on which values happen to be in it.

The palette is Okabe & Ito's (2008) set for colour-vision deficiency, with grey for results that are
not an intervention.
"""

from __future__ import annotations

from collections.abc import Callable

COLOURS = {
    "coaching": "#0072B2",
    "mentoring": "#009E73",
    "training": "#E69F00",
    "counselling_referral": "#CC79A7",
    "consultancy": "#56B4E9",
    "work_system": "#D55E00",
    "cannot_recommend": "#7f7f7f",
    "needs_answer": "#b0b0b0",
    "error": "#000000",
}
OTHER = "#999999"


def colour(key: str) -> str:
    """The colour of an intervention id or a result status (grey for anything else)."""
    return COLOURS.get(key, OTHER)


def scale(label: Callable[[str], str]) -> tuple[list[str], list[str]]:
    """(domain, range) for a chart whose values are ``label(key)``: every key, in a fixed order, so a
    value keeps its colour whichever values a chart shows."""
    keys = list(COLOURS)
    return [label(k) for k in keys], [COLOURS[k] for k in keys]
