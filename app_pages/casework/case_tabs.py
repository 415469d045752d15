"""The tabs of an open case on the Cases page: their labels, the session-state key of the chosen
one, and where a tab's messages belong."""

from __future__ import annotations

TABS = {
    "Overview": "overview",
    "Re-diagnose": "rediagnose",
    "Plan": "plan",
    "Monitor": "monitor",
    "Export": "export",
    "Delete": "delete",
}


def tab_key(cid: int) -> str:
    """Session-state key of the chosen tab of a case (its label): the tab survives every action."""
    return f"case_tab_{cid}"


def here(cid: int, tab: str) -> str:
    """Where a message belongs: it is shown in this tab of this case only."""
    return f"case_{cid}_{TABS[tab]}"
