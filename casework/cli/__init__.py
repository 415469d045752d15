"""The ``triage`` command line: one module a command, registered from the static list
:data:`casework.cli.main.COMMANDS`.

- :mod:`~casework.cli.common`: exit codes (0 done, 1 not done, 2 bad input), :class:`UsageError`,
  :class:`CommandFailed` and the output helpers (:func:`emit`, :func:`write_output`, ...)
- :mod:`~casework.cli.main`: the parser and :func:`main` (every error a message and an exit code)
- one module a command, each with ``register(subparsers)`` and its handlers: ``questions``,
  ``consult``, ``verify``, ``rules``, ``batch``, ``report``, ``cases``, ``settings``, ``audit``,
  ``practice``, ``outcomes``

A command imports only :mod:`~casework.cli.common`, never the registry. Heavy libraries (the rule
base, SQLAlchemy, pandas, fpdf2 ...) are imported inside the handler that needs them, so that
``triage --help`` stays quick.
"""

from __future__ import annotations

from casework.cli.common import EXIT_FAIL, EXIT_OK, EXIT_USAGE, CommandFailed, UsageError, emit
from casework.cli.consult import format_text, result_name
from casework.cli.main import COMMANDS, build_parser, main

__all__ = [
    "COMMANDS", "EXIT_FAIL", "EXIT_OK", "EXIT_USAGE", "CommandFailed", "UsageError",
    "build_parser", "emit", "format_text", "main", "result_name",
]
