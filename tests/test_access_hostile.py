"""Issue 21 in a real browser: a hostile colleague on a shared deployment (the real OpenID provider,
two app instances, a real PostgreSQL, headless Chromium — the fixtures of test_access_oidc.py).

- sign-out ends every tab and every copy of the identity cookie (server-side sessions);
- one ``sign_in`` audit entry per sign-in, not per page load; listing cases is audited;
- an imported case with Markdown in its stored result shows it as text, never a link or image;
- the database address is for administrators only;
- no page, in any role, makes the browser fetch anything from another machine.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
import test_access_oidc as oidc
from browser_util import TIMEOUT, RequestLog, click, go_to, wait_idle
from test_access_oidc import PAGES, main_text, nav_pages, sign_in, signed_in

# the deployment and its browser pages: test_access_oidc's fixtures, started again for this module
browser, deployment, tabs, new_page = oidc.browser, oidc.deployment, oidc.tabs, oidc.new_page


def _sign_out(page) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="Yes, sign me out").click()  # the provider ends its session too
    page.get_by_role("button", name="Sign in").wait_for()


def _second_tab(page):
    """Another tab of the same browser (the same cookies), closed when the test's pages are given back."""
    tab = page.context.new_page()
    tab.set_default_timeout(TIMEOUT)
    return tab


def test_sign_out_ends_every_tab(deployment, new_page):
    """The attack: another open tab stayed signed in and saved a change after the sign-out."""
    one = new_page()
    signed_in(one, deployment.a, "bob")
    two = _second_tab(one)
    cid = deployment.cases["bob"]
    two.goto(f"{deployment.a}/cases?case={cid}")
    two.get_by_role("heading", name=f"#{cid} Bob service case").wait_for()
    _sign_out(one)
    # the other tab's connection still carries the old identity: its next action is refused
    two.get_by_label("Title").first.fill("Changed after signing out")
    two.get_by_role("button", name="Save details").click()
    two.get_by_text("You signed out").wait_for()
    wait_idle(two)  # the case drawn by the run before is gone once this run is over
    assert "Bob service case" not in main_text(two)
    assert deployment.case_rows("id = :i", i=cid)[0]["title"] == "Bob service case"
    assert not [e for e in deployment.audit() if e["action"] == "change" and e["case_id"] == cid]


def test_a_download_has_no_address_before_the_click_and_none_after_sign_out(deployment, new_page):
    """The attack: a report's download address worked without a session while the page was open.
    Now a download is made when clicked, and only while the sign-in is open on the server."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    one = new_page()
    cid = deployment.cases["bob"]
    signed_in(one, deployment.a, "bob", f"cases?case={cid}")
    click(one, one.get_by_role("tab", name="Export"))  # the case's tabs rerun the page: wait for that run
    button = one.get_by_role("button", name="Download the case (JSON)")
    button.wait_for()
    assert one.locator('[data-testid="stMain"] a[href*="/media/"]').count() == 0  # no address to copy

    def exports():
        return [e["actor"] for e in deployment.audit() if e["action"] == "export" and e["case_id"] == cid]

    before = exports()
    with one.expect_download() as got:
        button.click()
    assert json.loads(Path(got.value.path()).read_text(encoding="utf-8"))["id"] == cid
    assert exports() == [*before, "bob@example.test"]  # the file made is recorded
    other = _second_tab(one)
    other.goto(f"{deployment.a}/")
    other.get_by_text("Signed in as").wait_for()
    _sign_out(other)
    downloads = []

    def seen(download):
        downloads.append(download)

    one.on("download", seen)
    try:
        button.click()  # the stale tab, still showing the button: the click asks the server for the file
        one.locator('[data-testid="stDownloadButtonError"]').wait_for()  # refused: no file is made
        with pytest.raises(PlaywrightTimeout):
            one.wait_for_event("download", timeout=5_000)
        assert downloads == []
        assert exports() == [*before, "bob@example.test"]  # no file, no export recorded
        click(one, one.get_by_role("tab", name="Overview"))  # the tab's next action
        one.get_by_text("You signed out").wait_for()
    finally:
        one.remove_listener("download", seen)


def test_a_cookie_copied_before_sign_out_opens_nothing(deployment, new_page):
    """The attack: the identity cookie copied before the sign-out opened the case in a fresh browser."""
    page, other = new_page(), new_page()  # two browsers: the person's and the thief's
    signed_in(page, deployment.a, "alice")
    copied = [c for c in page.context.cookies() if c["name"].startswith("_streamlit_user")]
    assert copied
    _sign_out(page)
    other.context.add_cookies(copied)
    cid = deployment.cases["alice"]
    other.goto(f"{deployment.a}/cases?case={cid}")
    other.get_by_text("You signed out").wait_for()
    other.get_by_role("button", name="Sign in").wait_for()
    assert "Alice sales case" not in main_text(other)
    # signing in again, as a person would, works
    sign_in(other, deployment.a, "alice")
    other.goto(f"{deployment.a}/cases?case={cid}")
    other.get_by_role("heading", name=f"#{cid} Alice sales case").wait_for()


def test_one_sign_in_entry_per_sign_in_and_listing_is_audited(deployment, new_page):
    def entries(action: str) -> int:
        return sum(1 for e in deployment.audit() if e["action"] == action and e["actor"] == "lena@example.test")

    before = entries("sign_in")
    page = new_page()
    sign_in(page, deployment.b, "lena")
    for path in ("cases", "", "cases", "case_summary"):
        page.goto(f"{deployment.b}/{path}")
        page.get_by_text("Signed in as").wait_for()
        wait_idle(page)
    assert entries("sign_in") == before + 1
    assert entries("list") >= 1
    listed = [e for e in deployment.audit() if e["action"] == "list"]
    assert all(e["case_id"] is None and e["detail"] in ("", "search") for e in listed)


def test_stored_markdown_in_an_old_result_is_shown_as_text(deployment, new_page):
    """A result stored before imports were consulted again (here: written straight into the
    database) still holds a remote image and a fake "sign in again" link: shown as text."""
    cid = deployment.cases["bob"]
    with deployment.engine.begin() as conn:
        row = conn.execute(sa.text("SELECT id, result FROM consultations WHERE case_id = :i ORDER BY id DESC"),
                           {"i": cid}).first()
        res = row.result if isinstance(row.result, dict) else json.loads(row.result)
        res["secondary"] = [{"intervention": "coaching", "role": "![tracker](http://203.0.113.9/p.png)"}]
        res["ruled_out"] = [{"intervention": "hypnosis", "reason": "[Sign in again](http://203.0.113.9/login)"}]
        conn.execute(sa.text("UPDATE consultations SET result = :r WHERE id = :i"),
                     {"r": json.dumps(res), "i": row.id})
    page = new_page()
    log = RequestLog(page.context)
    signed_in(page, deployment.a, "ada", f"cases?case={cid}")
    page.get_by_text("[Sign in again](http").wait_for()  # the brackets shown, not a link
    page.get_by_text("hypnosis (unknown intervention)").wait_for()
    wait_idle(page)
    assert page.locator('[data-testid="stMain"] a[href*="203.0.113.9"]').count() == 0
    assert page.locator('[data-testid="stMain"] img[src*="203.0.113.9"]').count() == 0
    assert log.remote() == []


def test_the_database_address_is_for_administrators_only(deployment, new_page):
    host = sa.make_url(deployment.db_url).host
    port = str(sa.make_url(deployment.db_url).port)
    page = new_page()
    signed_in(page, deployment.a, "bob", "cases")
    page.get_by_role("heading", name="Cases").wait_for()
    wait_idle(page)
    assert f"{host}:{port}" not in page.content()
    ada = new_page()
    signed_in(ada, deployment.a, "ada", "cases")
    ada.get_by_text(f"{host}:{port}").first.wait_for()


# the pages visited, by address and by their title in the navigation
VISITED = {"cases": "Cases", "batch": "Batch", "case_summary": "Summary across cases", "access_admin": "Access and audit",
           "learn_interventions": "Interventions compared", "rule_map": "Rule map", "worked_cases": "Worked cases",
           "practice": "Practice"}


@pytest.mark.parametrize("login", ["alice", "lena", "ada"])
def test_no_page_fetches_from_another_machine_when_signed_in(deployment, new_page, login):
    """A page of the person's navigation is opened from it, as she would (the app is loaded once); a page
    that is not hers by its address (the app loaded again: it shows her own pages)."""
    page = new_page()
    log = RequestLog(page.context)
    signed_in(page, deployment.a, login)  # the first page: the app's address
    assert nav_pages(page) == PAGES[login]  # the whole navigation drawn ("View more"), every page icon
    for path, title in VISITED.items():
        if title in PAGES[login]:
            go_to(page, title)
        else:
            page.goto(f"{deployment.a}/{path}")
            page.get_by_text("Signed in as").wait_for()
            not_found = page.get_by_role("dialog").filter(has_text="Page not found")  # Streamlit's, over her pages
            not_found.wait_for()
            page.keyboard.press("Escape")
            not_found.wait_for(state="hidden")
            assert nav_pages(page) == PAGES[login]
        wait_idle(page)
    page.wait_for_load_state("networkidle")  # late requests (favicons, page icons) are made after the render
    assert sum(1 for u in log.urls if "/_stcore/" in u) >= 3
    assert log.remote() == [], f"{login}: " + ", ".join(log.remote())


def test_the_metrics_address_tells_nothing_about_people_or_cases(deployment, new_page):
    """/_stcore/metrics answers without sign-in (Streamlit has no switch for it; the README's proxy
    settings block it): what it says holds no user, case or database detail."""
    import urllib.request

    page = new_page()
    signed_in(page, deployment.a, "alice")  # a signed-in session exists while it is read
    with urllib.request.urlopen(f"{deployment.a}/_stcore/metrics", timeout=10) as r:  # noqa: S310 - loopback
        text = r.read().decode("utf-8", "replace")
    assert text  # it does answer: hence the proxy rule
    for secret in ("alice", "example.test", "Alice sales case", "Avery", "postgresql", "127.0.0.1"):
        assert secret not in text, secret


def test_a_role_removed_ends_every_tab_of_that_person(deployment, new_page):
    """Lena's group is taken out of the access file while she is signed in with two tabs: once the app
    reads the file again (every 3 s in this deployment, ``TRIAGE_ACCESS_RELOAD_SECONDS``; 30 by default),
    her next click in either tab ends every session of hers. (Last in this module: the file is put back,
    but the app may keep the old one until it reads the file again.)"""
    import time

    access = deployment.tmp / "access.toml"
    before = access.read_text(encoding="utf-8")
    one = new_page()
    try:
        signed_in(one, deployment.b, "lena")
        two = _second_tab(one)
        two.goto(f"{deployment.b}/cases")
        two.get_by_role("heading", name="Cases").wait_for()
        access.write_text(before.replace('"ld-sales" = { role = "ld", units = ["sales"] }', ""), encoding="utf-8")
        deadline = time.monotonic() + 90
        names = ["Cases", "Diagnose"]
        while time.monotonic() < deadline:  # each click is a run; the app re-reads the file every 3 s
            names.reverse()
            link = one.get_by_role("link", name=names[0])
            if link.count():
                link.first.click()
            try:
                one.get_by_text("Your access to this tool was removed").wait_for(timeout=3_000)
                break
            except Exception:  # noqa: BLE001 - not yet: click again
                continue
        one.get_by_text("Your access to this tool was removed").wait_for(timeout=1_000)
        two.get_by_role("link", name="Diagnose").first.click()  # the other tab: its next click
        two.get_by_text("Your access to this tool was removed").wait_for()
        assert "Cases" not in main_text(two)
        assert [e for e in deployment.audit() if e["actor"] == "lena@example.test" and e["action"] == "sign_in"]
    finally:
        access.write_text(before, encoding="utf-8")
