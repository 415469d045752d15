"""The rule base as a map: questions -> findings -> interventions, written as Graphviz DOT source.

Built from the rule rows alone (no Streamlit here): every rule contributes one edge from each thing
it tests (an answered question, a finding, a kind of finding) to what it concludes (a finding, a
gate, or an intervention it supports, rules out or bars from leading). When a case is given, the
rules that fired and the questions, findings and intervention on its path are highlighted.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from rules.explain import conclusion_text, condition_parts
from rules.model import Rule, RuleBase

HIGHLIGHT = "#f5b700"
ON_PATH_FILL = "#fff1c2"
MUTED = "#c8c8c8"
COLOURS = {
    "finding": "#5b7083",
    "gate": "#8c564b",
    "support": "#2e7d32",
    "against": "#c62828",
    "rule_out": "#c62828",
    "not_primary": "#ef6c00",
}


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _wrap(text: str, width: int = 24) -> str:
    return "\n".join(textwrap.wrap(text, width)) or text


@dataclass
class _Edge:
    src: str
    dst: str
    style: str  # key of COLOURS
    negated: bool = False
    rules: list[str] = field(default_factory=list)


def rule_targets(rule: Rule) -> list[tuple[str, str]]:
    """(node id, style) of what a rule concludes."""
    t = rule.then
    if t.finding:
        return [(f"f:{t.finding}", "finding")]
    if t.gate:
        return [(f"g:{t.gate}", "gate")]
    if t.support:
        return [(f"i:{t.support.intervention}", "support" if t.support.cf >= 0 else "against")]
    if t.rule_out:
        return [(f"i:{t.rule_out}", "rule_out")]
    return [(f"i:{iv}", "not_primary") for iv in t.not_primary or []]


def rule_inputs(rule: Rule) -> list[tuple[str, bool]]:
    """(node id, negated) of everything a rule tests."""
    w = rule.when
    out = [(f"q:{q}", False) for q in w.answers]
    out += [(f"f:{f}", False) for f in w.findings]
    out += [(f"f:{f}", True) for f in w.absent]
    out += [(f"k:{k}", False) for k in w.any_finding_kinds]
    out += [(f"k:{k}", True) for k in w.no_finding_kinds]
    return out


def relevant_rules(rb: RuleBase, focus: str) -> list[Rule]:
    """The rules that conclude about intervention ``focus`` and, transitively, the rules that
    produce the findings they test."""
    chosen: dict[str, Rule] = {r.id: r for r in rb.rules if focus in r.interventions()}
    frontier = list(chosen.values())
    while frontier:
        r = frontier.pop()
        needed = set(r.when.findings) | set(r.when.absent)
        for k in [*r.when.any_finding_kinds, *r.when.no_finding_kinds]:
            needed |= {f for f, d in rb.findings.items() if d.kind == k}
        for other in rb.rules:
            if other.id not in chosen and other.then.finding in needed:
                chosen[other.id] = other
                frontier.append(other)
    return [r for r in rb.rules if r.id in chosen]


def downstream_rules(rb: RuleBase, qid: str) -> list[Rule]:
    """The rules that test question ``qid`` and, transitively, the rules that test the findings
    (or kinds of finding) those rules conclude."""
    chosen: dict[str, Rule] = {r.id: r for r in rb.rules if qid in r.when.answers}
    frontier = [r.then.finding for r in chosen.values() if r.then.finding]
    seen: set[str] = set()
    while frontier:
        f = frontier.pop()
        if f in seen:
            continue
        seen.add(f)
        kind = rb.findings[f].kind
        for r in rb.rules:
            w = r.when
            if r.id not in chosen and (
                f in w.findings or f in w.absent or kind in w.any_finding_kinds or kind in w.no_finding_kinds
            ):
                chosen[r.id] = r
                if r.then.finding:
                    frontier.append(r.then.finding)
    return [r for r in rb.rules if r.id in chosen]


def build_dot(
    rb: RuleBase,
    *,
    focus: str | None = None,
    fired: Iterable[str] | None = None,
    answers: Mapping[str, str] | None = None,
    findings: Iterable[str] | None = None,
    primary: str | None = None,
    path_only: bool = False,
    rankdir: str = "LR",
) -> str:
    """DOT source of the rule map.

    ``focus``: only the rules leading to this intervention. ``fired``/``answers``/``findings``/
    ``primary``: a case to highlight. ``path_only``: only the rules that fired for that case.
    ``rankdir``: ``LR`` (across: questions left, interventions right) or ``TB`` (down).
    """
    kb = rb.knowledge
    fired_set = set(fired or [])
    found = set(findings or [])
    answered = dict(answers or {})
    highlight = bool(fired_set or answered)
    rules = relevant_rules(rb, focus) if focus else list(rb.rules)
    if path_only and highlight:
        rules = [r for r in rules if r.id in fired_set]

    edges: dict[tuple[str, str, str, bool], _Edge] = {}
    nodes: set[str] = set()
    kinds_used: set[str] = set()
    for r in rules:
        for src, neg in rule_inputs(r):
            if src.startswith("k:"):
                kinds_used.add(src[2:])
            for dst, style in rule_targets(r):
                if focus and dst.startswith("i:") and dst != f"i:{focus}":
                    continue  # e.g. one row barring five interventions from leading
                e = edges.setdefault((src, dst, style, neg), _Edge(src, dst, style, neg))
                e.rules.append(r.id)
                nodes.update((src, dst))
    # a kind node is fed by every finding of that kind that appears on the map
    for k in sorted(kinds_used):
        for f, d in rb.findings.items():
            if d.kind == k and (f"f:{f}" in nodes or not path_only):
                if path_only and f not in found:
                    continue
                edges.setdefault((f"f:{f}", f"k:{k}", "kind", False), _Edge(f"f:{f}", f"k:{k}", "kind"))
                nodes.add(f"f:{f}")

    on_path: set[str] = {f"q:{q}" for q in answered} | {f"f:{f}" for f in found}
    if primary:
        on_path.add(f"i:{primary}")
    for k in kinds_used:
        if any(rb.findings[f].kind == k for f in found):
            on_path.add(f"k:{k}")

    lines = [
        "digraph rules {",
        f'  graph [rankdir={rankdir}, nodesep=0.12, ranksep=0.9, fontname="Helvetica", fontsize=10, '
        'bgcolor="transparent", tooltip="Rule map"];',
        '  node [fontname="Helvetica", fontsize=10, style="filled", fillcolor="white", color="#5b7083"];',
        '  edge [arrowsize=0.6, color="#5b7083"];',
    ]
    for n in sorted(nodes, key=_node_order):
        kind, ident = n.split(":", 1)
        attrs: dict[str, str] = {}
        if kind == "q":
            q = kb.question(ident)
            label = ident.replace("_", " ")
            if ident in answered:
                label += f"\n= {q.label_of(answered[ident])}"
            attrs.update(shape="box", label=_wrap(label, 26), tooltip=q.text, fillcolor="#e8f0fe")
        elif kind == "f":
            fd = rb.findings[ident]
            attrs.update(shape="ellipse", label=_wrap(fd.label), tooltip=f"finding {ident} ({fd.kind})")
        elif kind == "k":
            attrs.update(shape="ellipse", style="dashed,filled", label=f"any {ident}\ncause",
                         tooltip=f"at least one finding of kind {ident}")
        elif kind == "g":
            g = rb.gates[ident]
            attrs.update(shape="octagon", label=_wrap("cannot recommend: " + g.label), tooltip=g.advice.strip(),
                         fillcolor="#fbe9e7")
        else:
            iv = kb.interventions[ident]
            attrs.update(shape="box", style="rounded,filled,bold", label=iv.name, tooltip=iv.summary.strip(),
                         fillcolor="#e8f5e9", fontsize="12")
        if highlight and n in on_path:
            attrs["fillcolor"] = ON_PATH_FILL
            attrs["color"] = HIGHLIGHT
            attrs["penwidth"] = "2.5"
        lines.append(f"  {_q(n)} [" + ", ".join(f"{k}={_q(v)}" for k, v in attrs.items()) + "];")
    for e in edges.values():
        attrs = {}
        if e.style == "kind":
            attrs.update(style="dotted", color=MUTED, arrowhead="none")
            lit = highlight and e.src in on_path and e.dst in on_path
        else:
            colour = COLOURS[e.style]
            attrs["color"] = colour
            attrs["tooltip"] = " ".join(e.rules)
            if e.style in ("rule_out", "not_primary"):
                attrs["arrowhead"] = "tee"
            if e.style in ("against", "not_primary") or e.negated:
                attrs["style"] = "dashed"
            if e.negated:
                attrs["label"] = "not"
                attrs["fontsize"] = "8"
            lit = highlight and any(r in fired_set for r in e.rules)
        if highlight:
            if lit:
                attrs["penwidth"] = "3"
                if e.style in ("finding", "gate", "support", "kind"):
                    attrs["color"] = HIGHLIGHT
            else:
                attrs["color"] = MUTED
        lines.append(f"  {_q(e.src)} -> {_q(e.dst)} [" + ", ".join(f"{k}={_q(v)}" for k, v in attrs.items()) + "];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def shown_rules(rb: RuleBase, *, focus: str | None = None, fired: Iterable[str] | None = None,
                path_only: bool = False) -> list[Rule]:
    """The rules :func:`build_dot` draws for the same arguments, in rule-base order."""
    rules = relevant_rules(rb, focus) if focus else list(rb.rules)
    fired_set = set(fired or [])
    if path_only and fired_set:
        order = {r: i for i, r in enumerate(fired or [])}
        rules = sorted((r for r in rules if r.id in fired_set), key=lambda r: order[r.id])
    return rules


def rules_in_words(rb: RuleBase, rules: Iterable[Rule]) -> list[dict[str, object]]:
    """The map without hovering: each rule as ``{rule, if (list of conditions), then, why}``, in plain
    words (the same text the map's tooltips hold)."""
    return [
        {"rule": r.id, "if": condition_parts(rb, r.when), "then": conclusion_text(rb, r),
         "why": " ".join(r.rationale.split())}
        for r in rules
    ]


def _node_order(n: str) -> tuple[int, str]:
    return ("qfkgi".index(n[0]), n)
