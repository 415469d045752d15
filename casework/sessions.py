"""Server-side sign-in sessions: a sign-out, a role removal, the ID token's expiry or an idle
timeout ends the session in every tab and for every copy of the identity cookie.

Streamlit's identity cookie holds the signed-in user's ID-token claims, signed with the
``cookie_secret`` and valid for 30 days; by itself it cannot be withdrawn. So every run of the app
checks the cookie against a record kept in the case database (table ``sessions``, migration 0004):

- a session is named by a hash of the ID token's identity (issuer, subject, issue time, nonce), so
  each sign-in is a new session and every tab and every copy of that cookie is the same session;
- :func:`check` is called on every run: it ends and refuses the session when the ID token has
  expired (``exp``), when the session was idle longer than the idle timeout, or when it was ended;
  a cookie never seen before is refused when its token was issued before the user's last sign-out
  (a copy taken earlier and first used after the sign-out);
- :func:`end_all` ends every session of a user on sign-out (and for an administrator's "end their
  sessions"); a session that began with a role ends, with every other session of that person, at the
  first run after the access configuration stopped knowing them (a role removed): giving the role back
  does not revive those cookies, the person signs in again.

No case content is kept: the subject (the signed-in email), times and why a session ended.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy import select

from casework.access import Actor
from casework.store import SessionRow, Store, _audit

TOUCH_EVERY = dt.timedelta(minutes=1)  # how often "last seen" is written (not on every run)
WHY = {
    "signed_out": "You signed out (in this or another tab or browser).",
    "expired": "Your sign-in has expired.",
    "idle": "You were away longer than the idle timeout.",
    "role_removed": "Your access to this tool was removed or changed.",
    "revoked": "Your sign-in was ended by an administrator.",
}


class SessionEnded(Exception):
    """This sign-in may no longer be used; ``why`` is a key of :data:`WHY`."""

    def __init__(self, why: str):
        self.why = why
        super().__init__(WHY.get(why, why))


def subject(claims: Mapping[str, Any]) -> str:
    """Who the claims are about: the email (lower case), else the subject identifier."""
    return str(claims.get("email") or claims.get("sub") or "").strip().lower()


def session_id(claims: Mapping[str, Any]) -> str:
    """The session of an identity cookie: the same for every tab and copy, new at each sign-in."""
    ident = [str(claims.get(k) or "") for k in ("iss", "sub", "email", "iat", "nonce", "auth_time")]
    return hashlib.sha256(json.dumps(ident).encode()).hexdigest()


def _time(value: Any) -> dt.datetime | None:
    try:
        return dt.datetime.fromtimestamp(float(value), dt.timezone.utc)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _aware(d: dt.datetime) -> dt.datetime:
    return d.replace(tzinfo=dt.timezone.utc) if d.tzinfo is None else d


def check(
    store: Store,
    claims: Mapping[str, Any],
    idle: dt.timedelta,
    now: dt.datetime | None = None,
    *,
    actor: Actor | None = None,
) -> bool:
    """Is this identity cookie's session still good? Raises :class:`SessionEnded` when not (and
    ends it). Returns True when the session is new: a sign-in, recorded in the audit log in the same
    transaction (``sign_in`` for ``actor``; ``unknown_user`` when the configuration knows no actor)."""
    now = now or dt.datetime.now(dt.timezone.utc)
    sid, who = session_id(claims), subject(claims)
    expires = _time(claims.get("exp"))
    issued = _time(claims.get("iat"))
    with store._tx(write=True) as s:  # noqa: SLF001 - the store's own transaction
        row = s.get(SessionRow, sid)
        if row is None:
            last_out = s.scalar(
                select(sa.func.max(SessionRow.ended_at)).where(
                    SessionRow.subject == who, SessionRow.ended_why.in_(("signed_out", "role_removed", "revoked"))
                )
            )
            # a token issued (whole seconds) before the user's last sign-out: a copy from before it
            if last_out is not None and (issued is None or issued < _aware(last_out).replace(microsecond=0)):
                raise SessionEnded("signed_out")
            if expires is not None and now >= expires:
                raise SessionEnded("expired")
            s.add(SessionRow(id=sid, subject=who, created_at=now, last_seen=now, expires_at=expires, ended_why="",
                             role=actor.role if actor is not None else "none"))
            if actor is not None:
                _audit(s, actor, "sign_in")
            else:
                _audit(s, Actor(id=who or "?", role="none"), "unknown_user")
            return True
        if row.ended_at is not None:
            raise SessionEnded(row.ended_why or "signed_out")
        why = None
        if actor is None and row.role not in ("", "none"):  # signed in with a role, and it was taken away
            why = "role_removed"
        elif row.expires_at is not None and now >= _aware(row.expires_at):
            why = "expired"
        elif now - _aware(row.last_seen) > idle:
            why = "idle"
        if why == "role_removed":
            s.execute(
                sa.update(SessionRow)
                .where(SessionRow.subject == who, SessionRow.ended_at.is_(None))
                .values(ended_at=now, ended_why=why)
            )
        elif why:
            row.ended_at, row.ended_why = now, why
        elif now - _aware(row.last_seen) >= TOUCH_EVERY:
            row.last_seen = now
    if why:
        raise SessionEnded(why)
    return False


def is_open(store: Store, claims: Mapping[str, Any], now: dt.datetime | None = None) -> bool:
    """Is this identity cookie's session open right now (not ended, not past the token's expiry)?
    A read only: what a download asks just before it hands out a file."""
    now = now or dt.datetime.now(dt.timezone.utc)
    with store._tx() as s:  # noqa: SLF001
        row = s.get(SessionRow, session_id(claims))
        return (
            row is not None and row.ended_at is None
            and (row.expires_at is None or now < _aware(row.expires_at))
        )


def end_all(store: Store, who: str, why: str = "signed_out", now: dt.datetime | None = None) -> int:
    """End every open session of ``who`` (and refuse any older cookie of theirs from now on).
    Returns how many were open."""
    now = now or dt.datetime.now(dt.timezone.utc)
    who = who.strip().lower()
    with store._tx(write=True) as s:  # noqa: SLF001
        done = s.execute(
            sa.update(SessionRow)
            .where(SessionRow.subject == who, SessionRow.ended_at.is_(None))
            .values(ended_at=now, ended_why=why)
        ).rowcount
        if not done:  # a marker row, so cookies issued before now are refused even if never seen
            s.add(SessionRow(id=hashlib.sha256(f"{who} {now.isoformat()}".encode()).hexdigest(), subject=who,
                             created_at=now, last_seen=now, ended_at=now, ended_why=why))
    return int(done or 0)


def open_sessions(store: Store, who: str | None = None) -> list[dict[str, Any]]:
    """The sessions not ended (for the administrator's page): subject, since, last seen, expiry."""
    q = select(SessionRow).where(SessionRow.ended_at.is_(None)).order_by(SessionRow.last_seen.desc())
    if who:
        q = q.where(SessionRow.subject == who.strip().lower())
    with store._tx() as s:  # noqa: SLF001
        return [
            {"who": r.subject, "since": r.created_at.isoformat(timespec="seconds"),
             "last_seen": r.last_seen.isoformat(timespec="seconds"),
             "expires": r.expires_at.isoformat(timespec="seconds") if r.expires_at else None}
            for r in s.scalars(q)
        ]
