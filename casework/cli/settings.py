"""``triage settings``: the settings in force and where each came from (environment, secrets.toml,
defaults)."""

from __future__ import annotations

import argparse

from casework.access import AccessConfigError
from casework.cli.common import CommandFailed, add_format, reply
from casework.settings import SettingsError, in_force


def cmd_settings(args: argparse.Namespace) -> int:
    try:
        rows = in_force()
    except (SettingsError, AccessConfigError) as exc:
        raise CommandFailed(str(exc)) from None
    return reply(args.format, rows, "\n".join(f"{r['setting']:<14} {r['value']}  ({r['from']})" for r in rows))


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "settings",
        help="the settings in force (environment, secrets.toml, defaults)",
        description="The settings in force and where each came from: the environment, secrets.toml or the default.",
    )
    add_format(p)
    p.set_defaults(func=cmd_settings)
