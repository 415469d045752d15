"""What a set of fired rules concludes, in brief: the gate that ends the analysis, the ranking, who
may lead, the evidence an intervention still lacks, the "check first" differential, and the outcome
(status, gate, primary, lean).

:class:`Outcomes` is a part of :class:`rules.evaluate.Compiled` (it works on the compiled
conclusions, requirements and base rates); :mod:`rules.settle` builds the full result on the same
methods, and the walk (:mod:`rules.walk`) uses :meth:`Outcomes.outcome` to know when nothing left to
ask can change the result.
"""

from __future__ import annotations

from collections.abc import Mapping

from knowledge.schema import INTERVENTION_IDS

from .conditions import accumulate, holds, net_cf


class Outcomes:
    """Outcome methods of the compiled rule base (needs ``rb``, ``conclusions``, ``rule_out_ids``, ``order``,
    ``requirements`` and ``base_rates``, set by :class:`rules.evaluate.Compiled`)."""

    def open_gate(self, gates: list[str], findings: set[str]) -> tuple[str | None, str | None]:
        """(the first gate that ends the analysis, the first gate a wellbeing red flag set aside)."""
        overridden = None
        for g in gates:
            if findings.isdisjoint(self.rb.gates[g].overridden_by):
                return g, overridden
            overridden = overridden or g
        return None, overridden

    def ranking(self, scores: Mapping[str, float]) -> list[str]:
        """The six interventions by certainty, ties broken by the precedence (scores rounded to 9 places)."""
        order = self.order
        return sorted(INTERVENTION_IDS, key=lambda iv: (-round(scores.get(iv, 0.0), 9), order[iv]))

    def leaders(self, ranked: list[str], scores: Mapping[str, float], barred: set[str]) -> list[str]:
        """The interventions that may lead, best first: not barred, and at least the primary threshold."""
        t = self.rb.settlement.primary_threshold
        return [iv for iv in ranked if iv not in barred and round(scores.get(iv, 0.0), 9) >= t]

    def missing_requirements(self, iv: str, answers: Mapping[str, str], findings, kinds) -> list:
        """The requirements of ``iv`` that apply and are not met on these answers and findings."""
        return [req for req, applies, any_of in self.requirements.get(iv, ())
                if holds(applies, answers, findings, kinds)
                and not any(holds(c, answers, findings, kinds) for c in any_of)]

    def differential(self, scores: Mapping[str, float], barred: set[str], answers: Mapping[str, str],
                     findings, kinds) -> list[tuple[str, str | None]]:
        """The interventions a "check first" case may turn out to need, most likely first.

        Those with positive support that may lead (not ruled out, not barred), by certainty; then each
        base rate that holds puts its ``lean`` ahead of its ``ahead_of`` (adding it when nothing supports
        it yet). Each entry is (intervention, id of the base rate that placed it, or None).
        """
        order = [iv for iv in self.ranking(scores) if iv not in barred and round(scores.get(iv, 0.0), 9) > 0]
        placed: dict[str, str | None] = dict.fromkeys(order)
        for br, cond in self.base_rates:
            if br.lean in barred or not holds(cond, answers, findings, kinds):
                continue
            if br.lean not in placed:
                order.append(br.lean)
                placed[br.lean] = br.id
            at = order.index(br.lean)
            ahead = min((order.index(iv) for iv in br.ahead_of if iv in placed), default=at)
            if ahead < at:
                order.insert(ahead, order.pop(at))
                placed[br.lean] = br.id  # the base rate put it here: its reason is the base rate's
        return [(iv, placed[iv]) for iv in order]

    def outcome(self, fired: list[str], answers: Mapping[str, str]) -> tuple:
        """``settle(...).outcome`` without the rest of the result: (status, gate, primary, lean).

        The counterfactual checks of confidence call this for many answer sets, so it works on the
        compiled conclusions; it is tested equal to :func:`rules.settle.settle`.
        """
        return self._outcome(fired, answers, False)

    def stop_outcome(self, fired: list[str], answers: Mapping[str, str]) -> tuple:
        """What the questions must not end before it is settled: :meth:`outcome` and the secondary
        interventions of a recommendation (a tuple, best first; empty otherwise, and for a primary in the
        settlement's ``stop_without_secondary``)."""
        return self._outcome(fired, answers, True)

    def _outcome(self, fired: list[str], answers: Mapping[str, str], secondary: bool) -> tuple:
        conc = self.conclusions
        belief: dict[str, list[float]] = {}
        findings: set[str] = set()
        gates: list[str] = []
        barred: set[str] = set()
        out: set[str] = set()
        for rid in fired:
            finding, gate, support, bars = conc[rid]
            if rid in self.rule_out_ids:
                out |= bars
            if finding:
                findings.add(finding)
            elif gate:
                gates.append(gate)
            elif support:
                m = belief.setdefault(support[0], [0.0, 0.0])
                m[support[1] < 0] = accumulate(m[support[1] < 0], support[1])
            else:
                barred |= bars
        extra = ((),) if secondary else ()
        gate, _overridden = self.open_gate(gates, findings)
        if gate:
            return ("cannot_recommend", gate, None, None, *extra)
        scores = {iv: net_cf(*m) for iv, m in belief.items()}
        ranked = self.ranking(scores)
        can_lead = self.leaders(ranked, scores, barred)
        kinds = {self.rb.finding_kind[f] for f in findings}
        primary = can_lead[0] if can_lead else None
        if primary is None or self.missing_requirements(primary, answers, findings, kinds):
            diff = self.differential(scores, barred, answers, findings, kinds)
            return ("cannot_recommend", "check_first", None, diff[0][0] if diff else None, *extra)
        if secondary and primary not in self.rb.settlement.stop_without_secondary:
            s = self.rb.settlement
            extra = (tuple([iv for iv in ranked if iv != primary and iv not in out
                            and round(scores.get(iv, 0.0), 9) >= s.secondary_threshold][: s.max_secondary]),)
        return ("complete", None, primary, None, *extra)
