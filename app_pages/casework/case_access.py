"""Access pieces of the Cases page: a case's own history (the audit log), opening a case from the page
address, and recording an export. Every rule is applied by the store for the acting user."""

from __future__ import annotations

import logging

import streamlit as st

from app_pages.logic import md_plain
from casework.audit import ACTIONS
from casework.store import CaseNotFound, StoreError

log = logging.getLogger("triage.access")


def render_case_history(store, cid: int) -> None:
    """The case's own audit entries (who did what, when), for anyone who may see the case."""
    with st.expander("History of this case (audit log)"):
        entries = store.case_history(cid)
        st.dataframe(
            [
                {"when": e["at"][:16].replace("T", " "), "who": e["actor"], "role": e["role"],
                 "what": ACTIONS.get(e["action"], e["action"]), "detail": e["detail"]}
                for e in entries
            ],
            hide_index=True,
            width="stretch",
        )


def case_from_address(store) -> int | None:
    """The case named in the page address (``?case=ID``), if the user may see it. A case that is
    someone else's gets the same message as one that does not exist."""
    wanted = st.query_params.get("case")
    if not wanted:
        return None
    try:
        return int(store.get_case(wanted)["id"])
    except CaseNotFound as exc:
        st.warning(f"{md_plain(str(exc).capitalize())}.")
        return None


def on_export(store, cid: int, fmt: str):
    """Record a download's export in the audit log (called when the download makes its file)."""

    def record() -> None:
        try:
            store.record_export(cid, fmt)
        except StoreError:  # the file is made all the same; the failure goes to the log
            log.exception("could not record an export")

    return record
