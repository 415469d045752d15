"""Erasure that erases: finding a person across the cases, and making deleted rows unreadable in the
live database files.

Finding (:func:`matching_fields`): a person's name is compared with a case's *who*, title and
notes word by word, after Unicode normalisation (NFKC), case folding and with any run of spaces,
punctuation or line breaks counting as one gap — so "Ursula  Old", "URSULA OLD", "Old, Ursula" and
"U. Old" all find "Ursula Old" (an initial stands for a given name; the family name, the last word
typed, must be written out). It finds more rather than fewer: every hit is listed, with the fields
it was found in, for the administrator to confirm before anything is deleted.

Scrubbing (:func:`scrub_after_delete`), after the rows are deleted in a committed transaction:

- SQLite: ``secure_delete`` (set on every connection by the store) overwrites deleted content in
  the database file; here the write-ahead log is folded into the file and truncated to zero bytes
  (retried while another connection holds a read open), so no erased text is left in ``-wal``.
- PostgreSQL: a deleted row stays in the table's data file until its page is rewritten. ``VACUUM
  FULL`` on the case tables writes them anew (only the live rows) and the old files are emptied;
  then, where the database role may (a superuser or a member of ``pg_checkpoint``), a WAL switch
  and a ``CHECKPOINT`` retire the write-ahead-log segment that recorded the erased rows (with
  ``wal_recycle = off`` a retired segment is deleted, not kept for reuse). Otherwise PostgreSQL's
  own checkpoints retire it (``checkpoint_timeout``, 5 minutes by default). Costs and what remains
  (backups, WAL archives, replicas, the file system's free blocks) are in the README.
"""

from __future__ import annotations

import logging
import re
import time
import unicodedata
from collections.abc import Mapping
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine

log = logging.getLogger("triage.erasure")

SEARCHED_FIELDS = ("who", "title", "notes")
CASE_TABLES = ("cases", "answers", "consultations", "plans", "monitoring_entries")
_WORD = re.compile(r"\w+")


def words(text: Any) -> list[str]:
    """The words of ``text``, normalised: NFKC, case-folded, punctuation and spacing dropped."""
    return _WORD.findall(unicodedata.normalize("NFKC", "" if text is None else str(text)).casefold())


def _same(name_word: str, text_word: str, last: bool) -> bool:
    if name_word == text_word:
        return True
    if last:  # the family name is written out
        return False
    return (len(name_word) == 1 and text_word.startswith(name_word)) or (
        len(text_word) == 1 and name_word.startswith(text_word)
    )


def _found(name: list[str], text: list[str]) -> bool:
    n = len(name)
    for start in range(len(text) - n + 1):
        if all(_same(name[i], text[start + i], i == n - 1) for i in range(n)):
            return True
    return False


def name_in(name: str | list[str], text: Any) -> bool:
    """Is the person ``name`` named in ``text`` (in the order typed, or family name first)?"""
    name_words = words(name) if isinstance(name, str) else name
    if not name_words:
        return False
    text_words = words(text)
    if _found(name_words, text_words):
        return True
    if len(name_words) > 1:  # "Old, Ursula" / "Old U."
        turned = [name_words[-1], *name_words[:-1]]
        return any(
            all(_same(turned[i], text_words[s + i], i == 0) for i in range(len(turned)))
            for s in range(len(text_words) - len(turned) + 1)
        )
    return False


def matching_fields(name: str, case: Mapping[str, Any]) -> list[str]:
    """The fields of ``case`` (who, title, notes) that name the person."""
    name_words = words(name)
    if not name_words:
        return []
    family = name_words[-1]  # written out in every form that matches: a cheap first test
    out = []
    for f in SEARCHED_FIELDS:
        text = case.get(f)
        if text and family in unicodedata.normalize("NFKC", str(text)).casefold() and name_in(name_words, text):
            out.append(f)
    return out


# --------------------------------------------------------------------------- scrubbing the files


def scrub_after_delete(engine: Engine) -> dict[str, Any]:
    """Make deleted case rows unreadable in the live database files (see the module docstring).
    Returns what was done, for the caller's log and for the bench; never raises for a step the
    database refuses (it is logged, and said in the result)."""
    if engine.dialect.name == "sqlite":
        return _sqlite_checkpoint(engine)
    return _postgres_rewrite(engine)


def _sqlite_checkpoint(engine: Engine, attempts: int = 20) -> dict[str, Any]:
    busy = 1
    for i in range(attempts):
        try:
            with engine.connect() as conn:
                busy = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").first()[0]
        except sa_exc.SQLAlchemyError:
            log.debug("checkpoint failed", exc_info=True)
            busy = 1
        if not busy:
            break
        time.sleep(0.05 * (i + 1))  # a reader holds an old snapshot: wait for it to finish
    if busy:
        log.warning("the write-ahead log could not be truncated after a deletion (readers kept it open)")
    return {"wal_truncated": not busy}


def _postgres_rewrite(engine: Engine) -> dict[str, Any]:
    done: dict[str, Any] = {"vacuum_full": False, "wal_switched": False, "checkpoint": False}
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        try:
            # the rewrite needs the tables to itself: wait for a long reader at most this long (then the
            # rows stay in the files until the next deletion's rewrite; a warning is logged)
            conn.exec_driver_sql("SET lock_timeout = '10s'")
            conn.exec_driver_sql("VACUUM FULL " + ", ".join(CASE_TABLES))
            done["vacuum_full"] = True
        except sa_exc.SQLAlchemyError:
            log.warning("VACUUM FULL after a deletion failed: erased rows stay in the data files until it runs",
                        exc_info=True)
        for step, sql in (("wal_switched", "SELECT pg_switch_wal()"), ("checkpoint", "CHECKPOINT")):
            try:
                conn.exec_driver_sql(sql)
                done[step] = True
            except sa_exc.SQLAlchemyError:  # not allowed for this role: PostgreSQL's own checkpoints do it
                log.info("%s not allowed for the database role; left to PostgreSQL's checkpoints", sql)
    return done


def wal_recycle(engine: Engine) -> str | None:
    """PostgreSQL's ``wal_recycle`` setting ("on" keeps retired WAL segments for reuse), or None."""
    if engine.dialect.name != "postgresql":
        return None
    with engine.connect() as conn:
        return str(conn.exec_driver_sql("SHOW wal_recycle").scalar())
