"""The errors of the case store: every problem reaches the caller as a :class:`StoreError` with a plain
message (database busy, unreachable, not a case database, case not found, bad data)."""

from __future__ import annotations


class StoreError(Exception):
    """The case store cannot do what was asked; the message says why in plain words."""


class CaseNotFound(StoreError):
    """No case with that id."""


class CaseDataError(StoreError):
    """The data given for a case is not usable; ``problems`` lists each problem."""

    def __init__(self, problems: list[str] | str):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("; ".join(self.problems))
