"""The pandas API: :func:`triage_frame` triages a DataFrame of cases, one result row per input row."""

from __future__ import annotations

from typing import Any

from casework.batch.common import CASE_ID, Progress, SheetRow, _canonical
from casework.batch.summary import headline
from casework.batch.triage import Outcome, _triage
from rules.model import load_rulebase

FRAME_COLUMNS = ("status", "primary", "primary_label", "confidence", "secondary", "ruled_out", "summary",
                 "missing", "safety_alert", "errors")


def triage_frame(df, progress: Progress | None = None, workers: int = 1, empty_as_dont_know: bool = False):
    """Triage a pandas DataFrame of cases: one result row per input row, in the same order and with
    the same index.

    The columns named after question ids (``gap_defined`` ..., or spelt as a spreadsheet header
    such as ``Gap Defined``) are the answers; missing values (NaN, None, empty text) are
    unanswered. Every input column is carried through unchanged; an input column with the name of
    a result column is renamed ``input_<name>``. Added: ``status`` (complete, needs_answer,
    cannot_recommend, or error for a row with a bad value), ``primary`` (intervention id; missing,
    as pandas shows it, without one), ``primary_label``, ``confidence`` (float, NaN without a primary), ``secondary`` and
    ``ruled_out`` (lists of intervention ids), ``summary`` (one line, see :func:`headline`),
    ``missing`` (list of question ids still open on the path of a row that needs more answers, see
    :func:`triage_rows`), ``safety_alert`` (bool) and ``errors`` (the problems of an error row, else ""). The results are
    those of :func:`rules.consult.consult` on each row's answers. ``empty_as_dont_know=True`` takes
    missing values as "don't know" (every row is finished; see :func:`triage_rows`).
    """
    import pandas as pd  # deferred on purpose: pandas takes about a second to import, and only this API needs it

    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"triage_frame() takes a pandas DataFrame, not {type(df).__name__}")
    rb = load_rulebase()
    qids = rb.knowledge.question_index
    names = rb.knowledge.interventions
    answer_col: dict[Any, str] = {}  # input column -> question id (or case_id)
    for col in df.columns:
        canon = _canonical(str(col))
        if (canon in qids or canon == CASE_ID) and canon not in answer_col.values():
            answer_col[col] = canon
    cells = df[list(answer_col)].astype(object).where(df[list(answer_col)].notna(), "")
    rows = [SheetRow(zip(answer_col.values(), values, strict=True), line=i + 2) for i, values in
            enumerate(cells.itertuples(index=False, name=None))]
    outcomes, errors = _triage(rows, progress, workers, empty_as_dont_know)
    if progress:
        progress(len(rows), len(rows))

    out = df.rename(columns={c: f"input_{c}" for c in df.columns if c in FRAME_COLUMNS})
    out["status"] = [o.status if o else "error" for o in outcomes]
    out["primary"] = [o.primary if o else None for o in outcomes]
    out["primary_label"] = [names[o.primary].name if o and o.primary else None for o in outcomes]
    out["confidence"] = pd.Series([o.confidence if o else None for o in outcomes], index=df.index, dtype=float)
    out["secondary"] = [list(o.secondary) if o else [] for o in outcomes]
    out["ruled_out"] = [list(o.ruled_out) if o else [] for o in outcomes]
    out["summary"] = ""
    out["missing"] = [list(o.missing) if o else [] for o in outcomes]
    out["safety_alert"] = [bool(o and o.safety_alert) for o in outcomes]
    out["errors"] = [
        "" if o else "; ".join(m.replace(f"row {i + 2}, ", f"index {label!r}, ", 1) for m in p)
        for i, (label, o, p) in enumerate(zip(df.index, outcomes, errors, strict=True))
    ]
    out["summary"] = [_frame_summary(o, rb) if o else "Not triaged: " + e for o, e in zip(outcomes, out["errors"], strict=True)]
    return out


def _frame_summary(o: Outcome, rb) -> str:
    """The consultation's summary headline (kept in the outcome), or one made from status and primary."""
    return headline(
        {
            "summary": {"headline": dict(o.summary).get("headline")},
            "status": o.status,
            "primary": {"intervention": o.primary} if o.primary else None,
            "secondary": [{"intervention": iv} for iv in o.secondary],
        },
        rb,
    )
