"""A consistency oracle: every claim a result's words make is checked against its own answers, findings
and numbers, on random half-known paths over every route (JSON result and CLI text).

Kinds checked (each seen by readers of earlier versions):
- emergency wording ("call the emergency services") only with a risk of harm, or "not sure" about risk
  together with a red flag;
- the first step never asks to define or write down the gap once it was answered as clearly defined, nor on
  a route that never asks about the gap;
- "what could change the result": each alternative answer really leads to the result it names (the rest of
  the case as it stands, newly opened questions "don't know");
- once several people share the gap, the engine's own words (checks, could-change questions, the first
  step) do not speak of "the person";
- no text assembled from parts has an empty or unfilled slot, a doubled word or an empty sentence;
- a secondary with more support than the primary is explained (why it was held back);
- a "check first" result names its lean in the headline exactly when it has one, its first check is one
  marked "start here", and when the work was not looked at yet, its parts are among the checks.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from casework.cli import format_text
from knowledge.loader import load_knowledge
from rules.consult import consult
from rules.evaluate import compiled
from rules.model import load_rulebase
from rules.settle import outcome

KB = load_knowledge()
RB = load_rulebase()
ROUTES = [o.value for o in KB.question("concern").options]
ORACLE = settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
EMERGENCY = re.compile(r"emergency services", re.I)
DEFINE_GAP = re.compile(r"write down the gap|define the gap|confirm what the gap is|describe the gap", re.I)
DOUBLED = re.compile(r"\b(\w+) \1\b", re.I)
ALLOWED_DOUBLES = {"that that", "had had"}


def half_known(data) -> dict:
    """A path from a random route, each question answered at random, about half of them "don't know"."""
    answers = {"concern": data.draw(st.sampled_from(ROUTES), label="concern")}
    while True:
        c = consult(answers, RB)
        if c.status != "needs_answer":
            return answers
        q = c.next_question
        opts = q.option_values()
        if "dont_know" in opts and data.draw(st.booleans(), label=f"{q.id}?"):
            answers[q.id] = "dont_know"
        else:
            answers[q.id] = data.draw(st.sampled_from(opts), label=q.id)


def texts(obj) -> list[str]:
    """Every string in a result (the words a reader reads), ids and answer values excluded."""
    skip = {"answers", "ignored_answers", "fired_rules", "findings", "rulebase_version", "question", "answer",
            "intervention", "rule", "base_rate", "result", "reason", "status", "concern", "id", "value", "level"}
    out: list[str] = []

    def walk(x, key=None):
        if isinstance(x, str):
            if key not in skip:
                out.append(x)
        elif isinstance(x, dict):
            for k, v in x.items():
                walk(v, k)
        elif isinstance(x, list):
            for v in x:
                walk(v, key)

    walk(obj)
    return out


@ORACLE
@given(st.data())
@pytest.mark.slow  # more than 5 s on a quiet machine
def test_every_sentence_agrees_with_the_answers(data):
    answers = half_known(data)
    c = consult(answers, RB)
    d = c.to_dict(RB)
    sm = d["summary"]
    step = sm["next_step"] or ""
    risk, distress = c.answers.get("risk_of_harm"), c.answers.get("distress_signs")

    # emergency wording only where a risk is reported, or unknown beside a red flag
    if EMERGENCY.search(step) or EMERGENCY.search(sm["headline"]):
        assert risk == "yes" or (risk == "dont_know" and distress in ("yes", "substance", "both")), (answers, step)

    # the first step does not ask for a gap already defined, nor for one on a route without a gap
    if c.answers.get("gap_defined") == "yes" or "gap_defined" not in c.answers:
        assert not DEFINE_GAP.search(step), (answers, step)

    # what could change the result: each alternative leads where it says
    comp = compiled(RB)
    for item in d["could_change_result"]:
        for alt in item["alternatives"]:
            w = comp.walk({**c.answers, item["question"]: alt["answer"]}, fill="dont_know")
            got = outcome(RB, comp.fire(w.accepted)[0], w.accepted)
            status, gate, primary, lean = got
            named = primary if status == "complete" else (
                (f"check_first:{lean}" if lean else "check_first") if gate == "check_first" else gate)
            assert named == alt["result"], (answers, item["question"], alt)

    # group wording once several people share the gap
    if "several_people" in c.findings:
        engine_words = [x["text"] or "" for x in (d["cannot_recommend"] or {}).get("checks") or []]
        engine_words += [x["text"] for x in d["could_change_result"]]
        engine_words += [d["next_question"]["text"]] if d["next_question"] else []
        for t in engine_words:
            assert "the person" not in t.lower(), (answers, t)

    # no broken sentence anywhere
    for t in texts(d):
        assert "{" not in t and "}" not in t, t
        assert not re.search(r"\(\s*\)|\s[,;.]\s|\.\.(?!\.)", t), t
        for m in DOUBLED.finditer(t):
            assert m.group(0).lower() in ALLOWED_DOUBLES, (t, m.group(0))

    # check first: the headline names the lean exactly when there is one; the checks start where marked
    cr = d["cannot_recommend"]
    if cr and cr["reason"] == "check_first":
        named = KB.interventions[cr["lean"]].name if cr["lean"] else None
        assert (named is not None and f"lean to {named}" in sm["headline"]) or (named is None and "lean to" not in sm["headline"])
        if cr["checks"]:
            assert cr["checks"][0]["start_here"]
        # the work not looked at yet: its parts are the checks, not lost
        from rules.consult import ENVIRONMENT_PARTS

        wanted = {q for r in c.settled.missing for q in r.checks} & set(ENVIRONMENT_PARTS)
        if "environment_unknown" in c.findings and wanted:
            assert wanted & {x["question"] for x in cr["checks"]}, (answers, cr["checks"])

    # a secondary stronger than the primary says why it was held back
    if c.status == "complete":
        pcf = d["primary"]["certainty"]
        stronger = {x["intervention"] for x in d["secondary"] if x["certainty"] > pcf}
        assert stronger <= {x["intervention"] for x in sm["held_back"]}, (answers, d["secondary"])

    # the CLI text says the same first step and headline
    text = format_text(c, explain=False)
    assert sm["headline"] in text and (not step or step in text)
