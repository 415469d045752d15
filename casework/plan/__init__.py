"""Action plans and monitoring: the Plan → Implement → Monitor process after a diagnosis.

``build_plan(consultation)`` turns a result into a plan the user can edit, from the templates in
``knowledge/plans.yaml`` (text is data, not code): for coaching the needs analysis, measures of success,
the action plan, the agreement and the eight events of instruction; for the other interventions their
own next steps (mentoring agreement, training outline, referral steps, consultancy brief, system fixes
with an owner each); for a "cannot recommend yet" result the steps that unblock it.

``check_measures(measures)`` says what is wrong with measures of success (each needs a measure, a
target and a date). ``progress(plan, entries)`` computes progress against each measure from the
monitoring entries, and which feedback is due (recognise achievement, or further coaching).

Everything returns plain data (dicts, lists, strings) so the store, the report, the CLI and the app
can use it alike.

The package: :mod:`~casework.plan.templates` (the templates and their checks),
:mod:`~casework.plan.build` (a plan from a result), :mod:`~casework.plan.measures` (measures of
success, checking a whole plan), :mod:`~casework.plan.monitoring` (entries and progress).
"""

from __future__ import annotations

from casework.plan.build import build_plan
from casework.plan.measures import check_measures, parse_target, validate_plan
from casework.plan.monitoring import event_titles, follow_up_for, normalise_entry, progress
from casework.plan.templates import (
    DIRECTIONS,
    ENTRY_KINDS,
    MAX_PLAN_BYTES,
    MAX_TEXT,
    MEASURE_KEYS,
    N_EVENTS,
    PLANS_FILE,
    FieldT,
    FollowUpT,
    GatePlanT,
    ItemT,
    MonitoringTexts,
    PlanError,
    PlansFile,
    PlanT,
    SectionT,
    Suggest,
    Templates,
    When,
    load_templates,
    load_templates_from,
)

__all__ = [
    "DIRECTIONS",
    "ENTRY_KINDS",
    "FieldT",
    "FollowUpT",
    "GatePlanT",
    "ItemT",
    "MAX_PLAN_BYTES",
    "MAX_TEXT",
    "MEASURE_KEYS",
    "MonitoringTexts",
    "N_EVENTS",
    "PLANS_FILE",
    "PlanError",
    "PlanT",
    "PlansFile",
    "SectionT",
    "Suggest",
    "Templates",
    "When",
    "build_plan",
    "check_measures",
    "event_titles",
    "follow_up_for",
    "load_templates",
    "load_templates_from",
    "normalise_entry",
    "parse_target",
    "progress",
    "validate_plan",
]
