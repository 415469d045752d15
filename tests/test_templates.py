"""Every text assembled from parts (the templates of ``rules/results.yaml``) rendered with every filler it
can receive — every intervention, gate, role, reason, check, question, outcome and number of the rule
base — and checked: no empty or unfilled slot, no doubled word, no stray punctuation, numbers agree
with their nouns. A template or a filler added later is checked the same way."""

from __future__ import annotations

import itertools
import re
import string

import pytest

from knowledge.schema import INTERVENTION_IDS
from rules.consult import outcome_words
from rules.model import load_rulebase
from rules.summary import check_text
from rules.words import condition_parts, group_wording, result_words

RB = load_rulebase()
KB = RB.knowledge
WORDS = result_words()
DOUBLED = re.compile(r"\b(\w+) \1\b", re.I)
ALLOWED_DOUBLES = {"that that", "had had"}


def _names() -> list[str]:
    return [KB.interventions[iv].name for iv in INTERVENTION_IDS]


def _reasons() -> list[str]:
    """Every reason a rule gives for an intervention it bars (held back) or supports (the lean)."""
    out = {r.reason_for(iv) for r in RB.by_id.values() for iv in INTERVENTION_IDS if r.then.kind in ("not_primary", "support")}
    return sorted(" ".join(t.split()) for t in out if t)


def _question_texts() -> list[str]:
    return sorted({t for q in KB.questions for t in (q.text, q.group_text) if t})


def _checks() -> list[tuple[str, str]]:
    return sorted({(q.check.what, q.check.how) for q in KB.questions if q.check})


OUTCOMES = sorted(set(INTERVENTION_IDS) | set(RB.gates) | {f"check_first:{iv}" for iv in INTERVENTION_IDS})
FILLERS: dict[str, list] = {
    "name": _names(),
    "rival": _names(),
    "primary": _names(),
    "role": sorted({r.role for r in WORDS.roles}),
    "heading": sorted({g.heading for g in RB.gates.values()} | {"Cannot recommend yet"}),
    "label": sorted({g.label for g in RB.gates.values()}),
    "reason": _reasons(),
    "because": _reasons() + sorted({" ".join(b.because.split()).rstrip(". ") for b in RB.base_rates}),
    "text": _question_texts(),
    "result": sorted({outcome_words(RB, o) for o in OUTCOMES}),
    "cf": [0.05, 0.5, 1.0],
    "primary_cf": [0.3, 0.99],
    "rival_cf": [0.25, 0.9],
    "what": sorted({w for w, _ in _checks()}),
    "how": sorted({h for _, h in _checks()}),
    # a condition in words, as rules.words.condition_parts gives it
    "cond": sorted({p for r in RB.by_id.values() for p in condition_parts(RB, r.when)}),
    "needs": sorted({r.needs.rstrip(". ") for r in RB.requirements}),
    # the questions an answer opens, as the code joins them (at most `alternative_opens_listed` of them)
    "questions": [_question_texts()[0], "; ".join(_question_texts()[:2])],
    # opens more than that: the number only
    "n": [WORDS.summary.alternative_opens_listed + 1, 9],
}
# fillers whose form the code chooses from another one (a number and its noun)
PAIRED = {("n", "questions"): [(1, "question"), (2, "questions"), (12, "questions")]}


def templates() -> list[tuple[str, str]]:
    """(where, template) for every string of the summary and confidence words, the fit labels and roles."""
    out = [(f"summary.{k}", v) for k, v in WORDS.summary.model_dump().items() if isinstance(v, str)]
    out += [(f"confidence.{k}", v) for k, v in WORDS.confidence.model_dump().items() if isinstance(v, str)]
    out += [(f"fit.{k}", v) for k, v in WORDS.fit.items()]
    return out


def slots(template: str) -> list[str]:
    return sorted({f for _, f, _, _ in string.Formatter().parse(template) if f})


def renderings(template: str):
    """The template with each filler of each slot at least once (the others at their first), and every
    combination where there are few."""
    names = slots(template)
    paired = [p for p in PAIRED if set(p) <= set(names)]
    single = [n for n in names if not any(n in p for p in paired)]
    for n in single:
        assert n in FILLERS, f"no fillers known for {{{n}}}: add them to FILLERS"
    choices = [[{n: v} for v in FILLERS[n]] for n in single] + [[dict(zip(p, v, strict=True)) for v in PAIRED[p]]
                                                                for p in paired]
    if not choices:
        yield template.format()
        return
    total = 1
    for c in choices:
        total *= len(c)
    if total <= 3000:
        combos = itertools.product(*choices)
    else:
        combos = ([c[0] if j != i else x for j, c in enumerate(choices)] for i, ch in enumerate(choices) for x in ch)
    for combo in combos:
        kw: dict = {}
        for part in combo:
            kw.update(part)
        yield template.format(**kw)


def problems(text: str) -> list[str]:
    out = []
    if "{" in text or "}" in text:
        out.append("unfilled slot")
    if re.search(r"\(\s*\)|\s[,;.:]|\.\.(?!\.)|[,;:]\s*[.;]|^\s*$|\s\s", text):
        out.append("empty slot or stray punctuation")
    out += [f"doubled '{m.group(0)}'" for m in DOUBLED.finditer(text) if m.group(0).lower() not in ALLOWED_DOUBLES]
    if re.search(r"\b1 (?:more |further )?(questions|answers|rows|people)\b", text) or re.search(
            r"\b([02-9]|\d\d+) (?:more |further )?(question|answer|row)\b", text):
        out.append("number and noun disagree")
    return out


@pytest.mark.parametrize("where,template", templates(), ids=[w for w, _ in templates()])
def test_every_template_renders_well_with_every_filler(where, template):
    bad = {}
    n = 0
    for text in renderings(template):
        n += 1
        for p in problems(text) + problems(group_wording(text)):
            bad.setdefault(p, text)
    assert n >= 1
    assert not bad, (where, bad)


def test_the_checker_finds_what_it_looks_for():
    """The checks above can fail: each kind of broken sentence is caught."""
    assert problems("Find out {what}") == ["unfilled slot"]
    assert "empty slot or stray punctuation" in problems("Recommended: Coaching ()")
    assert "empty slot or stray punctuation" in problems("It holds while .")
    assert problems("the the result") == ["doubled 'the the'"]
    assert problems("about 1 more questions") == ["number and noun disagree"]
    assert problems("about 3 more question") == ["number and noun disagree"]
    assert problems("About 3 more questions: Coaching.") == []


def test_check_text_reads_as_one_sentence_for_every_check():
    for what, how in _checks():
        text = check_text({"what": what, "how": how})
        assert not problems(text), text


def test_group_wording_keeps_the_grammar():
    cases = {
        "The person's own goal.": "Their own goal.",
        "Point the person to support.": "Point the people involved to support.",
        "the person needs support first": "the people involved need support first",
        "The person has done it before": "The people involved have done it before",
        "Nobody asked this person does it": "Nobody asked these people do it",
    }
    for before, after in cases.items():
        assert group_wording(before) == after
