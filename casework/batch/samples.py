"""Example data: random valid cases (for trying the batch and for the benchmark) and the worked
cases of the knowledge base as batch rows."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any

from casework.batch.common import CASE_ID
from casework.batch.writing import table_bytes
from knowledge.loader import load_knowledge
from rules.evaluate import compiled
from rules.model import load_rulebase


def sample_rows(n: int, seed: int = 0, random_share: float = 0.2, extra: bool = True) -> list[dict[str, str]]:
    """``n`` random valid cases for trying the batch and for the benchmark.

    Most rows answer the questions along the adaptive path with random options (as a person
    answering the questions would); ``random_share`` of them fill random questions at random.
    With ``extra``, each row gets a ``case_id`` and a ``team`` column.
    """
    rb = load_rulebase()
    kb = rb.knowledge
    comp = compiled(rb)
    rng = random.Random(seed)
    options = {q.id: q.option_values() for q in kb.questions}
    teams = ["north", "south", "east", "west", "central"]
    rows = []
    for i in range(n):
        answers: dict[str, str] = {}
        if rng.random() < random_share:
            for qid, opts in options.items():
                if rng.random() < 0.6:
                    answers[qid] = rng.choice(opts)
        else:
            while True:
                nq = comp.walk(answers).next_question
                if nq is None:
                    break
                answers[nq] = rng.choice(options[nq])
        row: dict[str, str] = {}
        if extra:
            row[CASE_ID] = f"C{i + 1:06d}"
            row["team"] = rng.choice(teams)
        row.update(answers)
        rows.append(row)
    return rows


def rows_to_csv(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None) -> bytes:
    """Plain rows (e.g. from :func:`sample_rows`) as the bytes of a batch CSV with every question column."""
    if columns is None:
        qids = [q.id for q in load_rulebase().knowledge.questions]
        seen: dict[str, None] = {}
        for r in rows:
            for c in r:
                if c not in qids:
                    seen.setdefault(c, None)
        columns = [*seen, *qids]
    return table_bytes(rows, columns, "csv")


def worked_case_rows() -> list[dict[str, str]]:
    """The worked cases of the knowledge base as batch rows (case_id = the case id)."""
    return [{CASE_ID: c.id, **c.answers} for c in load_knowledge().cases]
