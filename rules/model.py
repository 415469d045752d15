"""The rule base as data: rule rows, the findings vocabulary, and how they are loaded and checked.

Rules live in YAML tables beside this module (``cause_analysis.yaml``, ``decisions.yaml``) and
speak the vocabulary of ``vocabulary.yaml``. Loading validates every row against the knowledge
base (question ids, option values, findings, interventions, source keys) and fails with a message
naming the file, the rule and the field. It also orders the rules into layers, so that a rule only
ever depends on findings concluded in an earlier layer; that makes negated conditions safe.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from knowledge.loader import Knowledge, KnowledgeError, load_knowledge, read_yaml, validate
from knowledge.schema import INTERVENTION_IDS, Condition

HERE = Path(__file__).resolve().parent
RULE_FILES = ("cause_analysis.yaml", "decisions.yaml")
EVIDENCE_FILE = "evidence.yaml"
BASE_RATES_FILE = "base_rates.yaml"
RESULTS_FILE = "results.yaml"  # the wording of results (rules/words.py), not rules


class RuleBaseError(KnowledgeError):
    """The rule base is malformed; the message names the file, the rule and the field."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Support(Strict):
    intervention: str
    cf: float = Field(ge=-1.0, le=1.0)


class Then(Strict):
    finding: str | None = None
    gate: str | None = None
    support: Support | None = None
    rule_out: str | None = None
    not_primary: list[str] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Then:
        set_fields = [k for k in ("finding", "gate", "support", "rule_out", "not_primary") if getattr(self, k)]
        if len(set_fields) != 1:
            raise ValueError(f"'then' needs exactly one conclusion, got {set_fields or 'none'}")
        return self

    @property
    def kind(self) -> str:
        for k in ("finding", "gate", "support", "rule_out", "not_primary"):
            if getattr(self, k):
                return k
        raise AssertionError("unreachable")


class Rule(Strict):
    id: str = Field(pattern=r"^[A-Z]+(-[a-z0-9]+)+$")
    when: Condition
    then: Then
    rationale: str = ""
    # for a rule that bars several interventions: the reason worded for each one (else the rationale)
    reasons: dict[str, str] = {}
    sources: list[str] = []
    # support rules that rest on the same fact name it here: such rules never fire together, so the
    # fact counts once (the property tests check it on the worked cases and on random paths)
    shares: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]*$")

    def reason_for(self, iv: str) -> str:
        """The reason this rule gives for ``iv``: its own wording for ``iv``, else the rationale."""
        return (self.reasons.get(iv) or self.rationale).strip()

    def interventions(self) -> list[str]:
        t = self.then
        if t.support:
            return [t.support.intervention]
        if t.rule_out:
            return [t.rule_out]
        return list(t.not_primary or [])


class FindingDef(Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    kind: str
    label: str
    stop: bool = False  # once concluded, no further question is asked (e.g. a risk of harm)


class GateDef(Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str
    advice: str
    overridden_by: list[str] = []  # findings that set the gate aside (wellbeing red flags)
    advice_no_lean: str | None = None  # check first: the advice when the answers point nowhere yet
    heading: str = "Cannot recommend yet"  # how the result is headed ("Outside these interventions", ...)


class SafetyLevel(Strict):
    title: str
    guidance: list[str] = Field(min_length=1)
    group_guidance: list[str] | None = None  # the wording once several people share the case


class Safety(Strict):
    emergency: SafetyLevel
    check_now: SafetyLevel
    support: SafetyLevel


class Bands(Strict):
    high: float = Field(ge=0, le=1)
    moderate: float = Field(ge=0, le=1)


class Settlement(Strict):
    precedence: list[str]
    primary_threshold: float = Field(ge=0, le=1)
    secondary_threshold: float = Field(ge=0, le=1)
    max_secondary: int = Field(ge=0, le=5)
    stop_without_secondary: list[str] = []
    rival_weight: float = Field(ge=0, le=1)
    confidence_bands: Bands

    def band(self, confidence: float | None, could_change: bool = False, one_support: bool = False) -> str | None:
        """Confidence in words: high, moderate or low. With ``could_change`` (some unknown answer could
        still change the result) it is at most moderate: "high" means nothing known could overturn it.
        With ``one_support`` (one piece of evidence carries most of the certainty) it is at most
        moderate too: "high" needs more than one answer behind it."""
        if confidence is None:
            return None
        b = self.confidence_bands
        if confidence >= b.high and not could_change and not one_support:
            return "high"
        return "moderate" if confidence >= b.moderate else "low"

    # a rival that could lead within this much certainty of the primary makes a close call
    close_call_margin: float = Field(default=0.05, ge=0, le=1)


class VocabularyFile(Strict):
    findings: list[FindingDef]
    gates: list[GateDef]
    safety: Safety
    settlement: Settlement


class Requirement(Strict):
    """What must be established before ``intervention`` may lead (a row of rules/evidence.yaml)."""

    id: str = Field(pattern=r"^EVD(-[a-z0-9]+)+$")
    intervention: str
    applies: Condition = Condition()
    any_of: list[Condition] = Field(min_length=1)
    needs: str
    rationale: str
    sources: list[str] = Field(min_length=1)
    checks: list[str] = Field(min_length=1)
    # what to do when the checks are answered and the requirement is known not to hold (else the rationale)
    step: str | None = None


class Delivery(Strict):
    """How an intervention will be delivered (a row of ``delivery`` in rules/evidence.yaml).

    Not part of the diagnosis: it never holds a recommendation back. When none of ``established``
    holds, ``step`` becomes the first step of the plan (and the result lists it under ``delivery``).
    """

    id: str = Field(pattern=r"^DLV(-[a-z0-9]+)+$")
    intervention: str
    established: list[Condition] = Field(min_length=1)
    needs: str
    step: str
    rationale: str
    sources: list[str] = Field(min_length=1)
    checks: list[str] = []


class EvidenceFile(Strict):
    requirements: list[Requirement]
    delivery: list[Delivery] = []


class BaseRate(Strict):
    """A row of rules/base_rates.yaml: where the field finds the cause most often in cases like this.

    Used only to order the differential of a "check first" result: while ``when`` holds, ``lean`` is
    put ahead of the interventions in ``ahead_of`` (and into the differential if nothing supports it
    yet), with ``because`` as its reason.
    """

    id: str = Field(pattern=r"^BR(-[a-z0-9]+)+$")
    when: Condition
    lean: str
    ahead_of: list[str] = Field(min_length=1)
    because: str
    sources: list[str] = Field(min_length=1)


class BaseRateFile(Strict):
    base_rates: list[BaseRate]


class RuleFile(Strict):
    rules: list[Rule]


@dataclass(frozen=True)
class RuleBase:
    """The loaded rule base: rules in firing order with their layer, plus the vocabulary."""

    rules: tuple[Rule, ...]
    layer: dict[str, int]  # rule id -> layer (1 = answers only; decisions come last)
    source_file: dict[str, str]  # rule id -> file name
    findings: dict[str, FindingDef]
    gates: dict[str, GateDef]
    settlement: Settlement
    knowledge: Knowledge
    version: str
    safety: Safety
    requirements: tuple[Requirement, ...] = ()
    delivery: tuple[Delivery, ...] = ()
    base_rates: tuple[BaseRate, ...] = ()

    def requirements_of(self, iv: str) -> list[Requirement]:
        return [q for q in self.requirements if q.intervention == iv]

    def rule(self, rule_id: str) -> Rule:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)

    @functools.cached_property
    def by_id(self) -> dict[str, Rule]:
        return {r.id: r for r in self.rules}

    @functools.cached_property
    def finding_kind(self) -> dict[str, str]:
        return {f.id: f.kind for f in self.findings.values()}


def check_condition(cond: Condition, where: str, kb: Knowledge, findings: dict, kinds: set[str]) -> None:
    """Raise RuleBaseError if ``cond`` names an unknown question, option, finding or kind."""
    for qid, values in cond.answers.items():
        if qid not in kb.question_index:
            raise RuleBaseError(f"{where}: when.answers: unknown question id '{qid}'")
        allowed = kb.question_index[qid].option_values()
        for v in values:
            if v not in allowed:
                raise RuleBaseError(f"{where}: when.answers.{qid}: '{v}' is not one of {allowed}")
        if not values:
            raise RuleBaseError(f"{where}: when.answers.{qid}: empty list of allowed answers")
    for field in ("findings", "absent"):
        for f in getattr(cond, field):
            if f not in findings:
                raise RuleBaseError(f"{where}: when.{field}: unknown finding '{f}'")
    for field in ("any_finding_kinds", "no_finding_kinds"):
        for k in getattr(cond, field):
            if k not in kinds:
                raise RuleBaseError(f"{where}: when.{field}: unknown finding kind '{k}'")


def _check_rule(rule: Rule, where: str, kb: Knowledge, findings: dict, gates: dict, kinds: set[str]) -> None:
    check_condition(rule.when, where, kb, findings, kinds)
    if rule.when.is_empty():
        raise RuleBaseError(f"{where}: when: a rule needs at least one condition")
    t = rule.then
    if t.finding and t.finding not in findings:
        raise RuleBaseError(f"{where}: then.finding: unknown finding '{t.finding}'")
    if t.gate and t.gate not in gates:
        raise RuleBaseError(f"{where}: then.gate: unknown gate '{t.gate}'")
    for iv in rule.interventions():
        if iv not in INTERVENTION_IDS:
            raise RuleBaseError(f"{where}: then: unknown intervention '{iv}'")
    for iv in rule.reasons:
        if iv not in rule.interventions():
            raise RuleBaseError(f"{where}: reasons: '{iv}' is not an intervention this rule concludes about")
    for key in rule.sources:
        if key not in kb.sources:
            raise RuleBaseError(f"{where}: sources: unknown source key '{key}'")


def _check_refs(where: str, kb: Knowledge, checks: list[str], sources: list[str]) -> None:
    for qid in checks:
        if qid not in kb.question_index:
            raise RuleBaseError(f"{where}: checks: unknown question id '{qid}'")
    for key in sources:
        if key not in kb.sources:
            raise RuleBaseError(f"{where}: sources: unknown source key '{key}'")


def compute_layers(rules: list[Rule]) -> dict[str, int]:
    """Layer of each rule: 1 + the highest layer of any finding it tests (findings from answers are 1).

    Decision rules (support, rule_out, not_primary) all go in one last layer. Raises
    RuleBaseError on a cycle (a finding that depends on itself).
    """
    producers: dict[str, list[Rule]] = {}
    for r in rules:
        if r.then.finding:
            producers.setdefault(r.then.finding, []).append(r)
    finding_layer: dict[str, int] = {}
    visiting: set[str] = set()

    def layer_of_finding(f: str) -> int:
        if f in finding_layer:
            return finding_layer[f]
        if f in visiting:
            raise RuleBaseError(f"rules: finding '{f}' depends on itself (a cycle)")
        visiting.add(f)
        lay = max((rule_layer(r) for r in producers.get(f, [])), default=0)
        visiting.discard(f)
        finding_layer[f] = lay
        return lay

    def rule_layer(r: Rule) -> int:
        deps = [*r.when.findings, *r.when.absent]
        return 1 + max((layer_of_finding(f) for f in deps), default=0)

    layers: dict[str, int] = {}
    for r in rules:
        if r.then.kind in ("finding", "gate"):
            if r.when.any_finding_kinds or r.when.no_finding_kinds or r.when.absent:
                # cause analysis stays monotonic: more answers can only add findings
                raise RuleBaseError(
                    f"rules: {r.id}: 'absent' and kind tests are only allowed in decision rules"
                )
            layers[r.id] = rule_layer(r)
    last = max(layers.values(), default=0) + 1
    for r in rules:
        if r.id not in layers:
            layers[r.id] = last
    return layers


def load_rulebase_from(
    folder: Path,
    kb: Knowledge,
    files: tuple[str, ...] = RULE_FILES,
    problems: list[tuple[str, str, dict]] | None = None,
) -> RuleBase | None:
    """Load and check the rule base in ``folder``.

    Without ``problems`` the first problem raises :class:`RuleBaseError`. With a list, every
    problem is appended to it as ``(check, message, detail)`` and loading goes on past bad rows;
    the result is then None when anything was wrong (``triage verify`` reports them all).
    """

    def fail(check: str, message: str, **detail) -> None:
        if problems is None:
            raise RuleBaseError(message)
        problems.append((check, message, detail))

    try:
        vocab = validate(VocabularyFile, read_yaml(folder / "vocabulary.yaml"), "vocabulary.yaml")
    except KnowledgeError as exc:
        fail("schema", str(exc))
        return None
    findings = {f.id: f for f in vocab.findings}
    gates = {g.id: g for g in vocab.gates}
    kinds = {f.kind for f in vocab.findings}
    prec = vocab.settlement.precedence
    if sorted(prec) != sorted(INTERVENTION_IDS):
        fail("dangling", f"vocabulary.yaml: settlement.precedence must list the six interventions once, got {prec}")

    rules: list[Rule] = []
    source_file: dict[str, str] = {}
    for name in files:
        try:
            rf = validate(RuleFile, read_yaml(folder / name), name)
        except KnowledgeError as exc:
            fail("schema", str(exc))
            continue
        for i, rule in enumerate(rf.rules):
            where = f"{name}: rules[{i}] (id={rule.id})"
            if rule.id in source_file:
                fail("dangling", f"{where}: id already used in {source_file[rule.id]}", rule=rule.id)
                continue
            try:
                _check_rule(rule, where, kb, findings, gates, kinds)
            except RuleBaseError as exc:
                fail("dangling", str(exc), rule=rule.id)
                continue
            source_file[rule.id] = name
            rules.append(rule)
    for i, q in enumerate(kb.questions):
        try:
            check_condition(q.ask_when, f"questions.yaml: questions[{i}] (id={q.id}).ask_when", kb, findings, kinds)
        except RuleBaseError as exc:
            fail("dangling", str(exc), question=q.id)
    requirements: list[Requirement] = []
    ef = EvidenceFile(requirements=[])  # a rule base without an evidence table sets no standard
    if (folder / EVIDENCE_FILE).exists():
        try:
            ef = validate(EvidenceFile, read_yaml(folder / EVIDENCE_FILE), EVIDENCE_FILE)
        except KnowledgeError as exc:
            fail("schema", str(exc))
    for i, req in enumerate(ef.requirements):
        where = f"{EVIDENCE_FILE}: requirements[{i}] (id={req.id})"
        try:
            if req.intervention not in INTERVENTION_IDS:
                raise RuleBaseError(f"{where}: intervention: unknown intervention '{req.intervention}'")
            for j, cond in enumerate([req.applies, *req.any_of]):
                check_condition(cond, f"{where}: condition {j}", kb, findings, kinds)
            _check_refs(where, kb, req.checks, req.sources)
        except RuleBaseError as exc:
            fail("dangling", str(exc), requirement=req.id)
            continue
        requirements.append(req)
    for i, dl in enumerate(ef.delivery):
        where = f"{EVIDENCE_FILE}: delivery[{i}] (id={dl.id})"
        try:
            if dl.intervention not in INTERVENTION_IDS:
                raise RuleBaseError(f"{where}: intervention: unknown intervention '{dl.intervention}'")
            for j, cond in enumerate(dl.established):
                check_condition(cond, f"{where}: established {j}", kb, findings, kinds)
            _check_refs(where, kb, dl.checks, dl.sources)
        except RuleBaseError as exc:
            fail("dangling", str(exc), delivery=dl.id)
    base_rates: list[BaseRate] = []
    if (folder / BASE_RATES_FILE).exists():
        try:
            brf = validate(BaseRateFile, read_yaml(folder / BASE_RATES_FILE), BASE_RATES_FILE)
        except KnowledgeError as exc:
            fail("schema", str(exc))
            brf = BaseRateFile(base_rates=[])
        for i, br in enumerate(brf.base_rates):
            where = f"{BASE_RATES_FILE}: base_rates[{i}] (id={br.id})"
            try:
                for iv in (br.lean, *br.ahead_of):
                    if iv not in INTERVENTION_IDS:
                        raise RuleBaseError(f"{where}: unknown intervention '{iv}'")
                check_condition(br.when, f"{where}: when", kb, findings, kinds)
                _check_refs(where, kb, [], br.sources)
            except RuleBaseError as exc:
                fail("dangling", str(exc), base_rate=br.id)
                continue
            base_rates.append(br)
    for g in gates.values():
        for f in g.overridden_by:
            if f not in findings:
                fail("dangling", f"vocabulary.yaml: gate {g.id}: overridden_by: unknown finding '{f}'")
    if problems:
        return None
    try:
        layers = compute_layers(rules)
    except RuleBaseError as exc:
        fail("cycle", str(exc))
        return None
    return RuleBase(
        rules=tuple(sorted(rules, key=lambda r: layers[r.id])),  # stable: file order inside a layer
        layer=layers,
        source_file=source_file,
        findings=findings,
        gates=gates,
        settlement=vocab.settlement,
        knowledge=kb,
        version=_fingerprint(folder, files, kb),
        safety=vocab.safety,
        requirements=tuple(requirements),
        delivery=tuple(ef.delivery),
        base_rates=tuple(base_rates),
    )


def _fingerprint(folder: Path, files: tuple[str, ...], kb: Knowledge) -> str:
    """A short version string of the rule base: a hash of the rule and question files."""
    h = hashlib.sha256()
    for name in ("vocabulary.yaml", *files, EVIDENCE_FILE, BASE_RATES_FILE):
        if (folder / name).exists():
            h.update((folder / name).read_bytes())
    h.update(repr([(q.id, q.option_values(), q.ask_when.model_dump()) for q in kb.questions]).encode())
    return h.hexdigest()[:12]


@functools.lru_cache(maxsize=1)
def load_rulebase() -> RuleBase:
    """The shipped rule base, loaded and checked once per process."""
    rb = load_rulebase_from(HERE, load_knowledge())
    assert rb is not None  # without a problems list, any problem raises
    return rb


RuleKind = Literal["finding", "gate", "support", "rule_out", "not_primary"]
