"""The gate in front of every page: sign-in through OpenID Connect (Streamlit's ``st.login``), the
signed-in user's role, and the pages that role may open.

- No ``[auth]`` section in ``.streamlit/secrets.toml``: **local mode**, as before — no sign-in, the
  app acts as the local operator, and the sidebar says so.
- ``[auth]`` configured: nothing is shown or stored before sign-in. The user's ID-token claims
  (``st.user``) are looked up in the access configuration (``TRIAGE_ACCESS`` file or the secrets'
  ``[access]`` section, see :mod:`casework.access`); someone it does not know sees only "ask your
  administrator" and a sign-out button. A known user gets the pages of their role, and every case
  store call made for them (:func:`get_store`) is limited to the cases they may see.

This module translates Streamlit's user into a :class:`casework.access.Actor`; the rules
themselves live in ``casework/``.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

import streamlit as st
from streamlit import config as st_config

from app_pages.logic import md_plain
from app_pages.state import raw_store
from casework import sessions, settings
from casework.access import (
    LOCAL_OPERATOR,
    ROLE_NAMES,
    AccessConfig,
    AccessConfigError,
    Actor,
    resolve_user,
)
from casework.store import StoreError

log = logging.getLogger("triage.access")

# pages about everyone's cases and users: shown only where users sign in (never in local mode)
SIGNED_IN_PAGES = frozenset({"case_summary", "access_admin"})


def _secrets_section(name: str) -> dict[str, Any] | None:
    """A section of the secrets, or None. A secrets file that exists but cannot be read must not
    fall back to local mode (that would open the app to everyone): it raises AccessConfigError."""
    try:
        if name not in st.secrets:
            return None
        section = st.secrets[name]
        return section.to_dict() if hasattr(section, "to_dict") else dict(section)
    except FileNotFoundError:  # Streamlit's error for "no secrets file" and for "cannot parse it"
        if any(os.path.isfile(p) for p in st_config.get_option("secrets.files")):
            log.error("the secrets file cannot be read", exc_info=True)
            raise AccessConfigError("the secrets file cannot be read") from None
        return None


def auth_configured() -> bool:
    """Is sign-in configured (an ``[auth]`` section in the secrets)?"""
    return bool(_secrets_section("auth"))


@st.cache_resource(show_spinner=False, max_entries=4)
def _config(fallback_key: str, period: int) -> AccessConfig:  # noqa: ARG001 - the arguments only key the cache
    return settings.access_config({"access": _secrets_section("access") or {}})


def access_config() -> AccessConfig:
    """The access configuration, read again once per period of ``TRIAGE_ACCESS_RELOAD_SECONDS`` (30 by
    default), so a change to the access file applies within that time."""
    every = settings.access_reload_seconds()
    return _config(repr(_secrets_section("access")), int(time.time() // every))


def current_actor() -> Actor | None:
    """Who uses this session: the local operator in local mode; the signed-in user's actor when
    sign-in is configured (None when not signed in or not in the access configuration)."""
    if not auth_configured():
        return LOCAL_OPERATOR
    if not _logged_in():
        return None
    return resolve_user(st.user.to_dict(), access_config())


def get_store():
    """The case store the settings point to (``TRIAGE_DATABASE_URL`` or the SQLite file), acting
    for this session's user: every call sees and changes only the cases that user may."""
    actor = current_actor()
    if actor is None:
        raise StoreError("you are not signed in")
    return raw_store().acting(actor)


def store_error(exc: Exception) -> str:
    """A case-store error for the page (Markdown-safe): administrators get the database's address and
    the driver's words; everyone else a plain message without them."""
    actor = current_actor()
    full = actor is not None and actor.is_admin
    return md_plain(str(exc) if full else getattr(exc, "plain", str(exc)))


def _logged_in() -> bool:
    """Signed in? (``st.user`` has no ``is_logged_in`` at all where Streamlit sees no ``[auth]``: not signed in.)"""
    return bool(st.user.get("is_logged_in", False))


def _provider() -> str | None:
    """The provider to sign in with: the default ``[auth]`` one, else the first named one."""
    auth = _secrets_section("auth") or {}
    if "client_id" in auth:
        return None
    named = [k for k, v in auth.items() if isinstance(v, dict)]
    return named[0] if named else None


def _sign_out_button() -> None:
    if st.button("Sign out", key="access_sign_out"):
        _end_everywhere("signed_out")
        st.session_state.clear()  # nothing of this session survives the sign-out
        st.logout()


def _end_everywhere(why: str) -> None:
    """End every session of this user: every tab, every browser, every copy of the cookie."""
    claims = st.user.to_dict()
    who = sessions.subject(claims)
    try:
        sessions.end_all(raw_store(), who, why)
        if why == "signed_out":
            raw_store().record_event("sign_out", actor=Actor(id=who, role="-"))
    except Exception:  # noqa: BLE001 - the cookie is still cleared; the failure is logged
        log.exception("could not end the sessions at sign-out")


def _session_ended_page(exc: sessions.SessionEnded) -> None:
    if not st.session_state.get("_access_ended"):  # once: a later clear would drop the button's click
        st.session_state.clear()  # nothing of the ended session survives
        st.session_state["_access_ended"] = True
    st.title("Intervention triage")
    st.warning(f"{exc} Sign in again to continue.")
    if st.button("Sign in", type="primary", key="access_sign_in"):
        st.login(_provider())


def _check_session(actor: Actor | None) -> bool:
    """The server-side session of this identity cookie, checked on every run (see
    :mod:`casework.sessions`); stops the script when it has ended. True on a new sign-in (then
    recorded in the audit log, once, in the same transaction)."""
    try:
        idle = settings.idle_timeout(config=access_config())
        return sessions.check(raw_store(), st.user.to_dict(), idle, actor=actor)
    except sessions.SessionEnded as exc:
        _session_ended_page(exc)
    except Exception:  # noqa: BLE001 - no session check, no app
        log.exception("could not check the session")
        st.error("The case database cannot be used right now, so the app stays closed. Try again later.")
    st.stop()
    return False


def _sign_in_page() -> None:
    st.title("Intervention triage")
    st.markdown("This is a shared deployment: sign in with your organisation's account to continue.")
    if st.button("Sign in", type="primary", key="access_sign_in"):
        st.login(_provider())
    # Streamlit brings a failed sign-in back here without saying why (the reason is only in the server
    # log), so the page says what that means
    st.caption(
        "If you signed in at your organisation's page and came back here, the sign-in did not complete. "
        "Your administrator finds the reason in the app's server log (lines with \"authentication\" or "
        "\"OAuth\"); the README's administrator's guide lists the usual causes."
    )


def _unknown_user_page() -> None:
    st.title("No access yet")
    st.warning(
        "You are signed in, but this tool does not know you yet, so there is nothing here for you. "
        "Ask your administrator to give you a role (team leader, L&D staff or administrator)."
    )
    who = str(st.user.get("email") or st.user.get("sub") or "an unnamed account")
    st.markdown(f"Signed in as `{who.replace('`', '')}`.")  # code style: shown as typed, never a link
    _sign_out_button()


def page_key(p: st.Page) -> str:
    """A page's name in the roles (:data:`casework.access.PAGES`): its URL path."""
    return p.url_path or "diagnose"  # the default page (Diagnose) has the empty path


def _only(sections: dict[str, list[st.Page]], keep) -> dict[str, list[st.Page]]:
    """The sections with only the pages ``keep(page_key)`` accepts; sections left empty are dropped."""
    kept = {name: [p for p in pages if keep(page_key(p))] for name, pages in sections.items()}
    return {name: pages for name, pages in kept.items() if pages}


def gate(sections: dict[str, list[st.Page]]) -> dict[str, list[st.Page]]:
    """The navigation this session may see, from every page of the app (``app.py``). Renders the
    sign-in or "ask your administrator" page and stops the script when the user may see none of the app."""
    try:
        configured = auth_configured()
    except AccessConfigError:
        st.error("The sign-in settings cannot be read, so no one is let in. Ask your administrator.")
        st.stop()
    if not configured:
        st.sidebar.markdown(
            "**Local mode**: no sign-in; everything stays in this computer's case database. "
            "For a shared deployment configure sign-in (README: *A shared deployment*)."
        )
        return _only(sections, lambda key: key not in SIGNED_IN_PAGES)
    if not _logged_in():
        _sign_in_page()
        st.stop()
    try:
        actor = current_actor()
    except AccessConfigError as exc:
        log.error("access configuration: %s", exc)
        st.error("The access configuration cannot be used, so no one is let in. Ask your administrator.")
        _sign_out_button()
        st.stop()
    _check_session(actor)  # every run: a sign-out, the token's expiry or the idle timeout ends it here
    if actor is None:
        _unknown_user_page()
        st.stop()
    allowed = _only(sections, actor.may_open)
    with st.sidebar:
        role = ", ".join([ROLE_NAMES[actor.role], *actor.units])
        st.markdown(f"Signed in as **{md_plain(actor.name or actor.id, one_line=True)}** ({md_plain(role, one_line=True)})")
        _sign_out_button()
    return allowed


def still_signed_in():
    """A check for work done outside a script run (a download made when its button is clicked): True
    while this session's sign-in is open on the server, in local mode always."""
    if not auth_configured():
        return lambda: True
    claims = st.user.to_dict()
    store = raw_store()
    return lambda: sessions.is_open(store, claims)


def require(page: str) -> None:
    """At the top of a page: stop unless this session's user may open ``page`` (the navigation
    already hides it; this holds when a page is reached some other way)."""
    actor = current_actor()
    if actor is None or not actor.may_open(page):
        st.warning("This page is not available to you.")
        st.stop()
