"""The administrator's page "Access and audit": the audit log, retention and purge, erasure on request,
cases to assign, who has which role, who is signed in, and the settings in force.

Thin: every rule is applied by the store (:mod:`casework.store`) for the acting user; this module
only renders what it returns.
"""

from __future__ import annotations

import datetime as dt

import streamlit as st

from app_pages.access_gate import _secrets_section, access_config, get_store, require, store_error
from app_pages.logic import md_plain
from app_pages.state import flash, raw_store
from app_pages.widgets import show_flash
from casework import sessions
from casework.access import ROLE_NAMES, AccessConfigError, retention_months
from casework.audit import to_csv
from casework.settings import SettingsError, in_force
from casework.store import CaseDataError, CaseNotFound, StoreError


def _when(iso: str | None) -> str:
    return (iso or "")[:16].replace("T", " ")


def _case_table(rows: list[dict]) -> None:
    st.dataframe(
        [{"id": r["id"], "title": r["title"] or "(untitled)", "about": r["who"], "status": r["status"],
          "owner": r.get("owner") or "(none)", "unit": r.get("org_unit") or "", "updated": _when(r["updated_at"]),
          **({"found in": ", ".join(r["found_in"])} if "found_in" in r else {})}
         for r in rows],
        hide_index=True,
        width="stretch",
    )


def render_audit(store) -> None:
    entries = store.audit_entries()
    st.markdown(f"{len(entries)} entries, oldest first. No case content is kept here: only who, when, "
                "which role, what was done and to which case id.")
    st.download_button(
        "Download the audit log (CSV)", to_csv(entries), file_name="triage-audit.csv", mime="text/csv",
        key="admin_audit_csv", on_click="ignore",
    )
    st.dataframe(entries[-500:][::-1], hide_index=True, width="stretch")


def render_retention(store) -> None:
    try:
        months = retention_months(access_config())
    except AccessConfigError as exc:
        st.error(md_plain(exc))
        return
    st.markdown(
        f"Cases are kept for **{months} months** after they were closed or last changed "
        "(`retention_months` in the access configuration, or `TRIAGE_RETENTION_MONTHS`)."
    )
    due = store.purge_candidates(months)
    if not due:
        st.success("No case is past the retention period.")
        return
    _confirm_delete(
        due, f"**{len(due)} case(s) past the retention period**", f"Yes, delete these {len(due)} case(s) for good",
        "Delete the cases past retention", "admin_purge", lambda ids: store.purge(months, ids),
        "Deleted {n} case(s) past the retention period.", ["admin_purge_sure"])


def _confirm_delete(rows: list, what: str, sure_label: str, button: str, key: str, delete, done: str,
                    clear: list[str]) -> None:
    """List the cases that will go, ask for a tick, delete them on the button, say how many went."""
    st.markdown(f"{what} will be deleted with everything under them:")
    _case_table(rows)
    sure = st.checkbox(sure_label, key=f"{key}_sure")
    if st.button(button, key=key, type="primary", disabled=not sure):
        gone = delete([r["id"] for r in rows])
        flash("success", done.format(n=len(gone)))
        for k in clear:
            st.session_state.pop(k, None)
        st.rerun()


def render_erasure(store) -> None:
    st.markdown("Erase every case about one person on their request: type their name. Cases that name them "
                "in *Who or what it is about*, the title or the notes are listed (case, spacing and "
                "punctuation do not matter; an initial stands for a given name) for you to confirm.")
    who = st.text_input("Person", key="admin_erase_who")
    if not who.strip():
        return
    try:
        rows = store.erasure_candidates(who)
    except CaseDataError as exc:
        st.error(md_plain(exc))
        return
    if not rows:
        st.info("No case is about this person.")
        return
    _confirm_delete(
        rows, f"**{len(rows)} case(s)**", f"Yes, erase these {len(rows)} case(s) for good", "Erase",
        "admin_erase", lambda ids: store.erase(who, ids), "Erased {n} case(s).",
        ["admin_erase_sure", "admin_erase_who"])


def render_assign(store) -> None:
    rows = store.list_cases(limit=100_000)
    unowned = [r for r in rows if not r.get("owner")]
    st.markdown(f"**{len(unowned)} case(s) without an owner** (saved before sign-in was set up, or by the "
                "command line): only administrators see them until they are assigned.")
    if unowned:
        _case_table(unowned)
    with st.form("admin_assign"):
        cid = st.number_input("Case id", min_value=1, step=1, value=unowned[0]["id"] if unowned else None)
        owner = st.text_input("Owner (email)")
        unit = st.text_input("Organisation unit")
        if st.form_submit_button("Assign") and cid is not None:
            try:
                store.assign_case(cid, owner, unit)
            except (CaseNotFound, CaseDataError) as exc:
                st.error(md_plain(exc))
            else:
                flash("success", f"Case {cid} assigned.")
                st.rerun()


def render_settings() -> None:
    """The settings in force and where each came from (:mod:`casework.settings`, no secret values)."""
    secrets = {k: _secrets_section(k) for k in ("auth", "access")}
    try:
        st.dataframe(in_force({k: v for k, v in secrets.items() if v is not None}), hide_index=True,
                     width="stretch")
    except (SettingsError, AccessConfigError) as exc:
        st.error(md_plain(exc))
    st.caption("The command line reads the same settings: `triage settings`. Changes to `[auth]` need a "
               "restart of the app; the access configuration is read again at the interval of "
               "“access re-read” above.")


def render_roles() -> None:
    try:
        cfg = access_config()
    except AccessConfigError as exc:
        st.error(md_plain(exc))
        return
    st.markdown("Who has which role (from `TRIAGE_ACCESS` or the `[access]` section of the secrets; "
                f"groups are read from the `{md_plain(cfg.groups_claim)}` claim of the ID token).")
    st.dataframe(
        [{"user or group": k, "by": by, "role": ROLE_NAMES[v["role"]], "units": ", ".join(v["units"])}
         for by, table in (("email", cfg.users), ("group", cfg.groups)) for k, v in table.items()],
        hide_index=True,
        width="stretch",
    )


def render_sessions(store) -> None:
    """Who is signed in (the server-side sessions), and ending every session of one person."""
    base = raw_store()
    st.markdown("Sign-ins still open (each ends at sign-out, at the ID token's expiry or after the idle "
                "timeout). Ending a person's sessions signs them out in every tab and browser at once.")
    st.dataframe(sessions.open_sessions(base), hide_index=True, width="stretch")
    with st.form("admin_end_sessions"):
        who = st.text_input("Email to sign out everywhere")
        if st.form_submit_button("End their sessions") and who.strip():
            n = sessions.end_all(base, who, "revoked")
            flash("success", f"Ended {n} open session(s) of {md_plain(who.strip(), one_line=True)}.")
            st.rerun()


def render() -> None:
    require("access_admin")
    st.title("Access and audit")
    show_flash()
    try:
        store = get_store()
        tabs = st.tabs(["Audit log", "Retention", "Erasure", "Cases to assign", "Roles", "Sign-ins", "Settings"])
        with tabs[0]:
            render_audit(store)
        with tabs[1]:
            render_retention(store)
        with tabs[2]:
            render_erasure(store)
        with tabs[3]:
            render_assign(store)
        with tabs[4]:
            render_roles()
        with tabs[5]:
            render_sessions(store)
        with tabs[6]:
            render_settings()
    except StoreError as exc:
        st.error(store_error(exc))
    st.markdown(f"Times are UTC. Today: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d}.")

