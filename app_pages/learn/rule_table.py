"""Learn: the rule base as a decision table (one row a rule), filterable."""

from __future__ import annotations

import streamlit as st

from app_pages.learn.rule_graph import downstream_rules
from app_pages.state import current_consultation, get_rulebase
from app_pages.widgets import iv_name
from knowledge.schema import INTERVENTION_IDS

try:
    from rules.table import decision_table_rows
except ImportError:  # an installation without the decision table: the page says so
    decision_table_rows = None

KIND_LABELS = {"finding": "finding", "gate": "gate", "support": "support", "rule out": "rule out",
               "not primary": "not primary"}


def filter_rows(rows: list[dict[str, str]], interventions: list[str], question: str | None, kinds: list[str],
                text: str, only_rules: set[str] | None = None) -> list[dict[str, str]]:
    """Rows matching every filter: rules concluding about one of ``interventions``, depending on
    ``question`` (directly or through the findings it leads to), of one of ``kinds``, containing
    ``text`` (case-insensitive), within ``only_rules``."""
    rb = get_rulebase()
    needle = text.strip().lower()
    using = {r.id for r in downstream_rules(rb, question)} if question else None
    out = []
    for row in rows:
        rule = rb.by_id[row["rule"]]
        if interventions and not set(rule.interventions()) & set(interventions):
            continue
        if using is not None and rule.id not in using:
            continue
        if kinds and row["then"] not in kinds:
            continue
        if only_rules is not None and row["rule"] not in only_rules:
            continue
        if needle and not any(needle in str(v).lower() for v in row.values()):
            continue
        out.append(row)
    return out


def render() -> None:
    import pandas as pd  # deferred: pandas (~0.5 s) loads only on this page, not with the app

    rb = get_rulebase()
    kb = rb.knowledge
    st.title("The decision table")
    if decision_table_rows is None:
        st.info("The decision table is not available in this installation.")
        return
    st.markdown(
        "Every rule of the rule base, one row each: the answers and findings it tests (a blank cell is not "
        "tested), what it concludes, why, and the references. Cause-analysis rules conclude findings; "
        "decision rules support an intervention (a certainty factor), rule it out, or bar it from leading. "
        f"Rule-base version `{rb.version}`."
    )
    rows = decision_table_rows(rb)
    c = current_consultation()
    cols = st.columns([2, 2, 2])
    ivs = cols[0].multiselect("Intervention", list(INTERVENTION_IDS), format_func=iv_name, key="dt_iv")
    qids = [q.id for q in kb.questions if any(q.id in r.when.answers for r in rb.rules)]
    question = cols[1].selectbox("Depends on the question", [None, *qids],
                                 format_func=lambda q: "any question" if q is None else kb.question(q).text,
                                 key="dt_q")
    kinds = cols[2].multiselect("Conclusion", list(KIND_LABELS), key="dt_kind")
    cols = st.columns([3, 2])
    text = cols[0].text_input("Search the rules", key="dt_text", placeholder="e.g. conflict, coaching, Kerr")
    only_fired = cols[1].toggle("Only the rules that fired for the current case", key="dt_fired",
                                disabled=c is None,
                                help="Answer some questions on Diagnose first." if c is None else None)
    shown = filter_rows(rows, ivs, question, kinds, text, set(c.fired) if (only_fired and c) else None)
    st.caption(f"{len(shown)} of {len(rows)} rules")
    if not shown:
        st.info("No rule matches these filters.")
        return
    head = ["rule", "then", "target", "certainty", "rationale"]
    tail = ["sources", "layer"]
    middle = [k for k in rows[0] if k not in head + tail + ["file"] and any(r[k] for r in shown)]
    df = pd.DataFrame(shown)[head + middle + tail]
    if c is not None:
        df.insert(1, "fired now", ["✓" if r in c.fired else "" for r in df["rule"]])
    st.dataframe(
        df,
        hide_index=True,
        width="stretch",
        column_config={
            "rule": st.column_config.TextColumn("rule", pinned=True),
            "rationale": st.column_config.TextColumn("rationale", width="large"),
        },
    )
    st.download_button("Download these rows (CSV)", df.to_csv(index=False), file_name="decision-table.csv",
                       mime="text/csv", key="dt_download", on_click="ignore")
