"""Access: who is acting, in which role, and what that role may see and do.

The concept: an :class:`Actor` is the person (or the local operator) on whose behalf the case store
acts. The page layer turns Streamlit's ``st.user`` into an actor with :func:`resolve_user` and the
access configuration; the command line acts as :data:`LOCAL_OPERATOR`. Nothing here knows Streamlit.

Roles:

- ``team_leader`` — their own cases; the Diagnose, Learn and Practice pages and Cases.
- ``ld`` (L&D staff) — all cases of the organisation units they are given (and their own), batch
  triage, reports, the summary across cases.
- ``admin`` — every case (also those without an owner, the "admin-only bucket"), the access
  configuration, retention and erasure, the audit log.

The configuration is TOML, from the file named by ``TRIAGE_ACCESS`` or the ``[access]`` section of
``.streamlit/secrets.toml``::

    groups_claim = "groups"        # the ID-token claim that lists a user's groups (default "groups")
    retention_months = 24          # how long a case is kept after it was closed or last changed
    idle_timeout_minutes = 480     # a sign-in unused this long ends (casework.sessions)

    [users]                        # by email (case does not matter)
    "alice@example.org" = { role = "team_leader", unit = "sales" }
    "lena@example.org" = { role = "ld", units = ["sales", "service"] }
    "ada@example.org" = { role = "admin" }

    [groups]                       # by a group named in the groups claim
    "team-leaders" = { role = "team_leader", unit = "sales" }

A user listed by email takes that entry; otherwise the matching groups decide (the highest role
among them; units are merged). Anyone else is refused.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

try:
    from tomllib import loads as _toml_loads  # Python 3.11+
except ModuleNotFoundError:  # pragma: no cover - Python 3.10: the toml package Streamlit uses
    from toml import loads as _toml_loads

ENV_ACCESS = "TRIAGE_ACCESS"
ENV_RETENTION = "TRIAGE_RETENTION_MONTHS"
DEFAULT_RETENTION_MONTHS = 24
DEFAULT_IDLE_MINUTES = 8 * 60
ROLES = ("team_leader", "ld", "admin")
ROLE_NAMES = {"team_leader": "team leader", "ld": "L&D staff", "admin": "administrator"}
_RANK = {r: i for i, r in enumerate(ROLES)}

# The app's pages by the role that may open them (keys are the pages' URL paths, as in app.py's PAGES).
LEARN_PAGES = ("learn_interventions", "learn_topics", "learn_processes", "rule_table", "rule_map", "worked_cases")
OUTCOME_PAGES = ("outcomes", "org_profile")  # every role: the store limits the cases; the profile is read-only but to admins
PAGES: dict[str, frozenset[str]] = {
    "team_leader": frozenset({"diagnose", *LEARN_PAGES, "practice", "cases", *OUTCOME_PAGES}),
    "ld": frozenset({"diagnose", *LEARN_PAGES, "practice", "cases", "batch", "case_summary", *OUTCOME_PAGES}),
    "admin": frozenset({"diagnose", *LEARN_PAGES, "practice", "cases", "batch", "case_summary", "access_admin",
                        *OUTCOME_PAGES}),
}


class AccessConfigError(ValueError):
    """The access configuration cannot be used; the message names the problem."""


@dataclass(frozen=True)
class Actor:
    """Who acts: ``id`` is the signed-in email (lower case) or ``local operator``; ``units`` the
    organisation units an L&D actor covers; ``unit`` the one a new case of theirs belongs to."""

    id: str
    role: str
    name: str = ""
    units: tuple[str, ...] = ()
    local: bool = False

    @property
    def unit(self) -> str | None:
        return self.units[0] if self.units else None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def owner_id(self) -> str | None:
        """The owner a new case of this actor gets: the person; none for the local operator (its
        cases go to the admin-only bucket until assigned)."""
        return None if self.local else self.id

    def may_open(self, page: str) -> bool:
        return page in PAGES.get(self.role, frozenset())

    def may_see(self, owner: str | None, unit: str | None) -> bool:
        """May this actor see a case with this owner and unit? (The store applies the same rule
        in its queries: :func:`casework.store.visible_to`.)"""
        if self.is_admin:
            return True
        if owner is None:
            return False
        if owner == self.id:
            return True
        return self.role == "ld" and unit is not None and unit in self.units

    def describe(self) -> str:
        who = self.name or self.id
        return f"{who} ({ROLE_NAMES.get(self.role, self.role)})"


LOCAL_OPERATOR = Actor(id="local operator", role="admin", name="local operator", local=True)
"""The command line and the local single-user app: full access, recorded as "local operator"."""


@dataclass(frozen=True)
class AccessConfig:
    users: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    groups: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    groups_claim: str = "groups"
    retention_months: int = DEFAULT_RETENTION_MONTHS
    idle_timeout_minutes: int = DEFAULT_IDLE_MINUTES


def _entry(where: str, raw: Any) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        raise AccessConfigError(f"{where}: must be a table like {{ role = \"team_leader\", unit = \"sales\" }}")
    unknown = sorted(set(raw) - {"role", "unit", "units", "name"})
    if unknown:
        raise AccessConfigError(f"{where}: unknown keys {unknown} (allowed: role, unit, units, name)")
    role = raw.get("role")
    if role not in ROLES:
        raise AccessConfigError(f"{where}: role {role!r} is not one of {', '.join(ROLES)}")
    units: list[str] = []
    if raw.get("unit") is not None:
        units.append(str(raw["unit"]).strip())
    more = raw.get("units") or []
    if isinstance(more, str) or not isinstance(more, Iterable):
        raise AccessConfigError(f"{where}: units must be a list of unit names")
    units += [str(u).strip() for u in more]
    if role == "ld" and not units:
        raise AccessConfigError(f"{where}: an L&D entry needs the units it covers (units = [...])")
    return {"role": role, "units": tuple(dict.fromkeys(u for u in units if u)), "name": str(raw.get("name") or "")}


def parse_config(data: Mapping[str, Any] | None) -> AccessConfig:
    """Check and normalise an access configuration (a mapping read from TOML)."""
    data = dict(data or {})
    allowed = ("users", "groups", "groups_claim", "retention_months", "idle_timeout_minutes")
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise AccessConfigError(f"unknown settings {unknown} (allowed: {', '.join(allowed)})")
    users = {str(k).strip().lower(): _entry(f"users.{k}", v) for k, v in dict(data.get("users") or {}).items()}
    groups = {str(k): _entry(f"groups.{k}", v) for k, v in dict(data.get("groups") or {}).items()}
    months = data.get("retention_months", DEFAULT_RETENTION_MONTHS)
    if isinstance(months, bool) or not isinstance(months, int) or months < 1:
        raise AccessConfigError("retention_months: must be a whole number of months, at least 1")
    idle = data.get("idle_timeout_minutes", DEFAULT_IDLE_MINUTES)
    if isinstance(idle, bool) or not isinstance(idle, int) or idle < 1:
        raise AccessConfigError("idle_timeout_minutes: must be a whole number of minutes, at least 1")
    return AccessConfig(users, groups, str(data.get("groups_claim") or "groups"), months, idle)


def load_config(path: str | os.PathLike | None = None, fallback: Mapping[str, Any] | None = None) -> AccessConfig:
    """The access configuration: the TOML file ``path`` (default: ``TRIAGE_ACCESS``), else
    ``fallback`` (the ``[access]`` section of the app's secrets), else an empty one (no one known)."""
    path = path or os.environ.get(ENV_ACCESS, "").strip() or None
    if path:
        p = Path(path).expanduser()
        try:
            text = p.read_text(encoding="utf-8")
        except OSError as exc:
            raise AccessConfigError(f"cannot read the access file {p}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise AccessConfigError(f"the access file {p} is not UTF-8 text") from None
        try:
            data = _toml_loads(text)
        except ValueError as exc:  # both TOML parsers raise ValueError subclasses
            raise AccessConfigError(f"the access file {p} is not valid TOML: {exc}") from None
        return parse_config(data)
    return parse_config(fallback)


def resolve_user(claims: Mapping[str, Any], config: AccessConfig) -> Actor | None:
    """The actor for a signed-in user's ID-token claims, or None when the configuration does not
    know them (they get the "ask your administrator" page)."""
    email = str(claims.get("email") or "").strip().lower()
    name = str(claims.get("name") or "")
    if email and email in config.users:
        e = config.users[email]
        return Actor(id=email, role=e["role"], name=e["name"] or name, units=e["units"])
    raw = claims.get(config.groups_claim) or []
    groups = [raw] if isinstance(raw, str) else [str(g) for g in raw] if isinstance(raw, Iterable) else []
    hits = [config.groups[g] for g in groups if g in config.groups]
    ident = email or str(claims.get("sub") or "")
    if not hits or not ident:
        return None
    role = max((h["role"] for h in hits), key=_RANK.__getitem__)
    units = tuple(dict.fromkeys(u for h in hits if h["role"] == role for u in h["units"]))
    return Actor(id=ident, role=role, name=name, units=units)


def whole_from_env(name: str, least: int = 1) -> int | None:
    """The whole number in the environment variable ``name``, None when it is not set; one that is
    not a whole number of at least ``least`` raises :class:`AccessConfigError` naming it."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    try:
        n = int(raw)
    except ValueError:
        raise AccessConfigError(f"{name}: '{raw}' is not a whole number") from None
    if n < least:
        raise AccessConfigError(f"{name}: must be at least {least}")
    return n


def retention_months(config: AccessConfig | None = None) -> int:
    """The retention period: ``TRIAGE_RETENTION_MONTHS`` if set, else the configuration's (24).
    (:func:`casework.settings.retention_months` is the same rule, reading the secrets when no
    configuration is given.)"""
    months = whole_from_env(ENV_RETENTION)
    return months if months is not None else (config or AccessConfig()).retention_months
