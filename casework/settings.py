"""One place for the settings: every setting is read here, the same way, by the app, the command line
and the administrator's page.

Each setting comes from the first of: its environment variable; the secrets file (Streamlit's
``secrets.toml``: the file named by ``TRIAGE_SECRETS``, else ``.streamlit/secrets.toml`` in the
folder the program runs from, else ``~/.streamlit/secrets.toml`` — the files Streamlit itself reads);
its default. Settings of access (roles, retention, idle timeout) live in the access configuration:
the TOML file named by ``TRIAGE_ACCESS`` if set, else the ``[access]`` section of the secrets.

The app passes the secrets Streamlit loaded (it may have been started with ``--secrets.files``);
the command line reads the same files itself. :data:`SETTINGS` is the documented table
(``docs/administrator.md`` prints it; ``triage settings`` shows the values in force and where each came
from).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from casework.access import ENV_RETENTION, AccessConfigError, _toml_loads, load_config, whole_from_env

ENV_SECRETS = "TRIAGE_SECRETS"
ENV_ACCESS_RELOAD = "TRIAGE_ACCESS_RELOAD_SECONDS"


@dataclass(frozen=True)
class Setting:
    name: str
    env: str | None
    secrets: str | None  # where in the secrets ("access.retention_months": the [access] section)
    default: str
    what: str


SETTINGS: tuple[Setting, ...] = (
    Setting("database URL", "TRIAGE_DATABASE_URL", None, "the SQLite file triage.sqlite3 in the data folder",
            "where cases are kept: sqlite:///PATH or postgresql+psycopg://USER@HOST:PORT/DB"),
    Setting("data folder", "TRIAGE_DATA_DIR", None, "./data", "folder of the default SQLite file"),
    Setting("secrets file", ENV_SECRETS, None, ".streamlit/secrets.toml, else ~/.streamlit/secrets.toml",
            "the secrets the command line reads (start the app with --secrets.files for the same file)"),
    Setting("sign-in", None, "auth", "none: local mode",
            "OpenID Connect provider ([auth]: redirect_uri, cookie_secret, client_id, client_secret, "
            "server_metadata_url, client_kwargs); read at start: restart the app after a change"),
    Setting("access file", "TRIAGE_ACCESS", "access", "the [access] section of the secrets",
            "roles by email and group; retention_months and idle_timeout_minutes below live here too"),
    Setting("retention", "TRIAGE_RETENTION_MONTHS", "access.retention_months", "24",
            "months a case is kept after it was closed or last changed (Access page, triage cases purge)"),
    Setting("idle timeout", "TRIAGE_IDLE_TIMEOUT_MINUTES", "access.idle_timeout_minutes", "480 (8 hours)",
            "minutes without use after which a sign-in ends"),
    Setting("access re-read", ENV_ACCESS_RELOAD, None, "30",
            "seconds within which the app applies a change to the access file (roles added or removed)"),
)


class SettingsError(ValueError):
    """A setting cannot be used; the message names it."""


def secrets_files() -> list[Path]:
    """The secrets files read, in the order Streamlit reads them (a later one wins)."""
    named = os.environ.get(ENV_SECRETS, "").strip()
    if named:
        return [Path(named).expanduser()]
    return [p for p in (Path.home() / ".streamlit" / "secrets.toml", Path.cwd() / ".streamlit" / "secrets.toml")
            if p.is_file()]


def read_secrets() -> dict[str, Any]:
    """The secrets as the command line sees them (merged from :func:`secrets_files`)."""
    out: dict[str, Any] = {}
    for p in secrets_files():
        try:
            out.update(_toml_loads(p.read_text(encoding="utf-8")))
        except OSError as exc:
            raise SettingsError(f"cannot read the secrets file {p}: {exc.strerror}") from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise SettingsError(f"the secrets file {p} is not valid TOML: {exc}") from None
    return out


def _section(secrets: Mapping[str, Any] | None, name: str) -> dict[str, Any] | None:
    data = read_secrets() if secrets is None else secrets
    section = data.get(name)
    return dict(section) if isinstance(section, Mapping) else None


def access_config(secrets: Mapping[str, Any] | None = None):
    """The access configuration: ``TRIAGE_ACCESS``, else the secrets' ``[access]`` section (``secrets``
    given by the app; read from the secrets files when None)."""
    return load_config(fallback=_section(secrets, "access"))


def _whole(env: str) -> int | None:
    try:
        return whole_from_env(env)
    except AccessConfigError as exc:
        raise SettingsError(str(exc)) from None


def retention_months(secrets: Mapping[str, Any] | None = None, config: Any = None) -> int:
    """Months a case is kept: ``TRIAGE_RETENTION_MONTHS``, else the access configuration's
    ``retention_months``, else 24."""
    months = _whole(ENV_RETENTION)
    return months if months is not None else (config or access_config(secrets)).retention_months


def idle_timeout(secrets: Mapping[str, Any] | None = None, config: Any = None) -> dt.timedelta:
    """How long a sign-in may go unused: ``TRIAGE_IDLE_TIMEOUT_MINUTES``, else the access
    configuration's ``idle_timeout_minutes``, else 8 hours."""
    minutes = _whole("TRIAGE_IDLE_TIMEOUT_MINUTES")
    if minutes is not None:
        return dt.timedelta(minutes=minutes)
    return dt.timedelta(minutes=(config or access_config(secrets)).idle_timeout_minutes)


def access_reload_seconds() -> int:
    """How often the app reads the access configuration again: ``TRIAGE_ACCESS_RELOAD_SECONDS`` (a
    whole number of seconds, at least 1), else 30."""
    seconds = _whole(ENV_ACCESS_RELOAD)
    return 30 if seconds is None else seconds


def in_force(secrets: Mapping[str, Any] | None = None) -> list[dict[str, str]]:
    """Each setting with the value in force and where it came from (no secret values: the
    database password is hidden, the sign-in section is only said to be there or not)."""
    from casework.store import describe_url, resolve_url  # deferred: SQLAlchemy, for this report only

    data = read_secrets() if secrets is None else secrets
    cfg = access_config(data)
    values = {
        "database URL": describe_url(resolve_url()),
        "data folder": os.environ.get("TRIAGE_DATA_DIR", "").strip() or "./data",
        "secrets file": ", ".join(str(p) for p in secrets_files()) or "(none found)",
        "sign-in": "configured" if data.get("auth") else "not configured (local mode)",
        "access file": os.environ.get("TRIAGE_ACCESS", "").strip() or "[access] of the secrets",
        "retention": f"{retention_months(data, cfg)} months",
        "idle timeout": f"{int(idle_timeout(data, cfg).total_seconds() // 60)} minutes",
        "access re-read": f"every {access_reload_seconds()} seconds",
    }
    out = []
    for s in SETTINGS:
        if s.env and os.environ.get(s.env, "").strip():
            source = f"environment {s.env}"
        elif s.secrets and _dig(data, s.secrets) is not None:
            source = f"secrets [{s.secrets.split('.')[0]}]"
        else:
            source = "default"
        out.append({"setting": s.name, "value": values[s.name], "from": source})
    return out


def _dig(data: Mapping[str, Any], dotted: str) -> Any:
    cur: Any = data
    for part in dotted.split("."):
        if not isinstance(cur, Mapping) or part not in cur:
            return None
        cur = cur[part]
    return cur


def markdown_table() -> str:
    """:data:`SETTINGS` as a Markdown table (docs/administrator.md holds it; a test checks)."""
    rows = ["| setting | environment | secrets.toml | default | what it does |", "|---|---|---|---|---|"]
    for s in SETTINGS:
        sec = f"`[{s.secrets.split('.')[0]}]`" + (f" `{s.secrets.split('.', 1)[1]}`" if "." in s.secrets else "") \
            if s.secrets else "—"
        rows.append(f"| {s.name} | {f'`{s.env}`' if s.env else '—'} | {sec} | {s.default} | {s.what} |")
    return "\n".join(rows)
