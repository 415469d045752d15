"""Sign-in against a real OpenID Connect provider, in a real browser, on a real PostgreSQL.

One provider (the npm package ``oidc-provider``, ``tests/oidc/provider.mjs``) on a free loopback
port, two app instances (``streamlit run app.py`` on two more ports) sharing one PostgreSQL
database and one cookie secret, and headless system Chromium signing in as each test user through
the provider's login form (each user has a password, checked by the provider). The users (see
provider.mjs) and their roles (``ACCESS`` below):

    alice     team leader, unit sales (by the "team-leaders" group)
    bob       team leader, unit service (by his email)
    lena      L&D staff for sales (by the "ld-sales" group)
    ada       administrator (by the "triage-admins" group)
    stranger  can sign in at the provider, but the access configuration does not know them

Skipped when node, the provider's packages (``npm ci`` in tests/oidc), Chromium or PostgreSQL are
missing — unless ``TRIAGE_REQUIRE_OIDC=1`` (set by ``.ci/run``), which turns the skip into a failure.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from browser_util import Tabs, click, rerun, wait_idle
from pg_util import databases

from casework.access import Actor
from casework.store import Store
from knowledge.loader import load_knowledge

ROOT = Path(__file__).resolve().parents[1]
OIDC = ROOT / "tests" / "oidc"
CHROMIUM = Path("/usr/bin/chromium")
ACCESS = """
[users]
"bob@example.test" = { role = "team_leader", unit = "service" }
[groups]
"team-leaders" = { role = "team_leader", unit = "sales" }
"ld-sales" = { role = "ld", units = ["sales"] }
"triage-admins" = { role = "admin" }
"""
ALICE = Actor("alice@example.test", "team_leader", units=("sales",))
BOB = Actor("bob@example.test", "team_leader", units=("service",))
ADA = Actor("ada@example.test", "admin")
LEARN = ["Interventions compared", "Study the topic", "Processes", "Decision table", "Rule map",
         "Worked cases", "Practice"]
OUTCOME_PAGES = ["Outcomes", "Organisation profile"]
PAGES = {
    "alice": ["Diagnose", *LEARN, "Cases", *OUTCOME_PAGES],
    "bob": ["Diagnose", *LEARN, "Cases", *OUTCOME_PAGES],
    "lena": ["Diagnose", *LEARN, "Cases", "Batch", *OUTCOME_PAGES, "Summary across cases"],
    "ada": ["Diagnose", *LEARN, "Cases", "Batch", *OUTCOME_PAGES, "Summary across cases", "Access and audit"],
}


def unavailable(why: str):
    if os.environ.get("TRIAGE_REQUIRE_OIDC"):
        pytest.fail(f"TRIAGE_REQUIRE_OIDC is set but {why}")
    pytest.skip(why)


def _screens():
    import importlib.util

    spec = importlib.util.spec_from_file_location("screenshots", ROOT / "scripts" / "screenshots.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@contextlib.contextmanager
def oidc_provider(port: int, redirect_uris: list[str], log_path: Path):
    """Start tests/oidc/provider.mjs on 127.0.0.1:port; yield its issuer URL; stop it."""
    node = shutil.which("node")
    if node is None:
        unavailable("node is not installed (the test OpenID provider runs on node)")
    if not (OIDC / "node_modules" / "oidc-provider").is_dir():
        unavailable("the test OpenID provider is not installed: run 'npm ci' in tests/oidc")
    log = open(log_path, "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([node, str(OIDC / "provider.mjs"), str(port), *redirect_uris],
                            cwd=OIDC, stdout=subprocess.PIPE, stderr=log)
    try:
        line = b""
        deadline = time.monotonic() + 30
        while not line.startswith(b"ready") and time.monotonic() < deadline and proc.poll() is None:
            line = proc.stdout.readline()
        if not line.startswith(b"ready"):
            log.flush()
            unavailable(f"the test OpenID provider did not start: {log_path.read_text(errors='replace')[-800:]}")
        yield line.split()[1].decode()
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


class Deployment:
    """The running provider, the two app instances and the shared database."""

    def __init__(self, urls: list[str], db_url: str, cases: dict[str, int]):
        self.a, self.b = urls
        self.db_url = db_url
        self.cases = cases
        self.engine = sa.create_engine(db_url)

    def audit(self) -> list[dict]:
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(sa.text("SELECT * FROM audit_log ORDER BY id"))]

    def case_rows(self, where: str = "1=1", **params) -> list[dict]:
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(sa.text(f"SELECT * FROM cases WHERE {where}"), params)]


@pytest.fixture(scope="module")
def deployment(postgres_server, tmp_path_factory):
    if not CHROMIUM.exists():
        unavailable("no system Chromium at /usr/bin/chromium")
    screens = _screens()
    tmp = tmp_path_factory.mktemp("access")
    ports = [screens.free_port(), screens.free_port()]
    idp_port = screens.free_port()
    redirects = [f"http://127.0.0.1:{p}/oauth2callback" for p in ports]
    (tmp / "access.toml").write_text(ACCESS, encoding="utf-8")
    (tmp / "secrets.toml").write_text(
        "[auth]\n"
        'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
        'cookie_secret = "access-test-cookie-secret-0123456789abcdef"\n'
        'client_id = "triage-test"\n'
        'client_secret = "triage-test-secret"\n'
        f'server_metadata_url = "http://127.0.0.1:{idp_port}/.well-known/openid-configuration"\n'
        'client_kwargs = { prompt = "login" }\n',
        encoding="utf-8",
    )
    kb = load_knowledge()
    answers = next(c for c in kb.cases if c.id == "call-centre").answers
    with databases(postgres_server) as new_db, oidc_provider(idp_port, redirects, tmp / "oidc.log"):
        db = new_db()
        seed = Store(db, actor=None)
        cases = {
            "alice": seed.create_case({"title": "Alice sales case", "who": "Avery Sales"}, answers, actor=ALICE),
            "bob": seed.create_case({"title": "Bob service case", "who": "Blake Service"}, answers, actor=BOB),
            "unowned": seed.create_case({"title": "Old unowned case", "who": "Ursula Old"}, answers, actor=ADA,
                                        owner="", org_unit=""),
        }
        exported = seed.export_case(cases["bob"], actor=BOB)
        (tmp / "bob-case.json").write_text(json.dumps(exported), encoding="utf-8")
        seed.close()
        # the access file is read again every 3 s (30 by default), so a removed role applies soon
        env = {"TRIAGE_DATABASE_URL": db, "TRIAGE_ACCESS": str(tmp / "access.toml"), "TRIAGE_ACCESS_RELOAD_SECONDS": "3"}
        args = ["--secrets.files", str(tmp / "secrets.toml")]
        with (
            screens.serve_app(ports[0], tmp / "app-a.log", extra_args=args, env=env) as (url_a, _, _),
            screens.serve_app(ports[1], tmp / "app-b.log", extra_args=args, env=env) as (url_b, _, _),
        ):
            d = Deployment([url_a, url_b], db, cases)
            d.tmp = tmp
            yield d
            d.engine.dispose()


@pytest.fixture(scope="module")
def browser(deployment):
    sync_api = pytest.importorskip("playwright.sync_api")
    screens = _screens()
    with sync_api.sync_playwright() as p:
        b = screens.launch_chromium(p)
        yield b
        b.close()


@pytest.fixture(scope="module")
def tabs(browser):
    """The module's pages, each in its own context (its own cookies: one person each), kept open and
    lent again (browser_util.Tabs)."""
    pool = Tabs(browser, viewport={"width": 1280, "height": 1000})
    yield pool
    pool.close()


@pytest.fixture
def new_page(tabs):
    """``new_page()``: a page of its own for one person (its own cookies), on about:blank."""
    yield tabs.take
    tabs.give_back()


def main_text(page) -> str:
    return page.locator('[data-testid="stMain"]').inner_text()


def sign_in(page, app: str, login: str, expect: str = "Signed in as", password: str | None = None) -> None:
    """Through the provider's login form, as a person would."""
    page.goto(app + "/")
    page.get_by_role("button", name="Sign in").wait_for()
    wait_idle(page)  # a click while the page is still running can be lost
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/interaction/**")
    page.get_by_label("Login").fill(login)
    page.get_by_label("Password").fill(password or f"{login}-password")
    page.get_by_role("button", name="Sign-in").click()
    if password is not None:
        return
    page.wait_for_url(app + "/**")
    page.get_by_text(expect).first.wait_for()
    wait_idle(page)
    if expect == "Signed in as":
        SIGNED_IN[(app, login)] = page.context.cookies()


# The cookies of each sign-in, by app and login: signed_in() restores them instead of signing in again
SIGNED_IN: dict[tuple[str, str], list[dict]] = {}


def signed_in(page, app: str, login: str, path: str = "") -> None:
    """``page`` signed in as ``login`` on ``app``, showing ``app/path``, for a test whose subject is not
    the sign-in: with the cookies of this person's last sign-in on that app when the server still honours
    them (a sign-out ends them), else through the provider's form (:func:`sign_in`). The page is loaded
    once where the cookies hold (each load of the app costs the browser about a second of CPU)."""
    saved = SIGNED_IN.get((app, login))
    if saved:
        page.context.clear_cookies()
        page.context.add_cookies(saved)
        page.goto(f"{app}/{path}")
        page.get_by_text("Signed in as").or_(page.get_by_role("button", name="Sign in")).first.wait_for()
        wait_idle(page)
        if page.get_by_text("Signed in as").count():
            return
        page.context.clear_cookies()
    sign_in(page, app, login)
    if path:
        page.goto(f"{app}/{path}")


def nav_pages(page) -> list[str]:
    page.locator('[data-testid="stSidebarNavLink"]').first.wait_for()  # drawn after "Signed in as" (a race under load)
    more = page.locator('[data-testid="stSidebarNavViewButton"]')
    if more.count() and "more" in more.inner_text().lower():
        more.click()
    return [t.strip().splitlines()[-1] for t in page.locator('[data-testid="stSidebarNavLink"]').all_inner_texts()]


def open_case_options(page) -> list[str]:
    """The cases the Cases page offers to open (the options of its "Open case" box)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    box = page.locator('[data-testid="stSelectbox"]', has_text="Open case")
    box.wait_for()
    for attempt in range(3):  # a click that lands while the page is still rerunning opens nothing
        box.click()
        try:
            page.get_by_role("option").first.wait_for(timeout=10_000)
            break
        except PlaywrightTimeout:
            if attempt == 2:
                raise
            page.keyboard.press("Escape")
    options = page.get_by_role("option").all_inner_texts()
    page.keyboard.press("Escape")
    return options


# --------------------------------------------------------------------------- the tests


def test_every_page_requires_sign_in(deployment, new_page):
    """Each address on one of the two instances in turn (they run the same app with the same settings)."""
    page = new_page()
    for n, path in enumerate(("", "cases", "batch", "learn_interventions", "practice", "access_admin",
                              f"cases?case={deployment.cases['alice']}", "?gap_defined=yes")):
        app = (deployment.a, deployment.b)[n % 2]
        page.goto(f"{app}/{path}")
        page.get_by_role("button", name="Sign in").wait_for()
        text = main_text(page)
        assert "sign in with your organisation's account" in text
        assert "Alice sales case" not in text and "performance gap" not in text.lower()
        assert page.locator('[data-testid="stSidebarNavLink"]').count() == 0


def test_each_role_sees_exactly_its_pages_and_cases(deployment, new_page):
    c = deployment.cases
    seen = {}
    for login, app in (("alice", deployment.a), ("bob", deployment.b), ("lena", deployment.a), ("ada", deployment.b)):
        page = new_page()
        sign_in(page, app, login)
        assert nav_pages(page) == PAGES[login], login
        page.goto(app + "/cases")
        page.get_by_role("heading", name="Cases").wait_for()
        seen[login] = open_case_options(page)
        if login == "lena":  # the summary counts only the cases of her unit
            page.goto(app + "/case_summary")
            page.get_by_text("1 case(s) you may see").wait_for()
    assert seen["alice"] == [f"#{c['alice']} Alice sales case"]
    assert seen["bob"] == [f"#{c['bob']} Bob service case"]
    assert seen["lena"] == [f"#{c['alice']} Alice sales case"]  # her unit only
    assert sorted(seen["ada"]) == sorted([f"#{c['alice']} Alice sales case", f"#{c['bob']} Bob service case",
                                          f"#{c['unowned']} Old unowned case"])
    audit = deployment.audit()
    signed = {(e["actor"], e["role"]) for e in audit if e["action"] == "sign_in"}
    assert {("alice@example.test", "team_leader"), ("bob@example.test", "team_leader"),
            ("lena@example.test", "ld"), ("ada@example.test", "admin")} <= signed


def test_outcomes_and_the_profile_respect_the_role(deployment, new_page):
    """Outcomes counts only the cases the user may see; the organisation profile is editable by an
    administrator only, and read-only to everyone else."""
    for login, app, n, edits in (("alice", deployment.a, 1, False), ("lena", deployment.a, 1, False),
                                 ("ada", deployment.b, 3, True)):
        page = new_page()
        signed_in(page, app, login, "outcomes")
        page.get_by_text(f"{n} case{'s' if n > 1 else ''} you may see").wait_for()
        if login != "ada":
            assert "Bob service case" not in main_text(page) and "Old unowned" not in main_text(page)
        page.goto(app + "/org_profile")
        page.get_by_role("heading", name="Organisation profile").wait_for()
        wait_idle(page)  # the page drawn in full: the editor is there or not
        assert (page.get_by_label("Profile (YAML)").count() == 1) is edits, login
        if not edits:
            page.get_by_text("Only an administrator can change the profile.").wait_for()


def test_no_way_to_someone_elses_case(deployment, new_page):
    """By the page address (?case=), and by uploading their export to the import: refused in the
    same words as a case that does not exist; the refusals are audited."""
    c = deployment.cases
    page = new_page()
    signed_in(page, deployment.a, "alice", f"cases?case={c['alice']}")
    page.get_by_role("heading", name=f"#{c['alice']} Alice sales case").wait_for()
    for cid in (c["bob"], c["unowned"], 987654):
        page.goto(f"{deployment.a}/cases?case={cid}")
        page.get_by_text(f"No case with id {cid}.").wait_for()
        assert "Bob service case" not in main_text(page) and "Old unowned" not in main_text(page)
    # the batch page is not hers: the address shows her pages, never the batch
    page.goto(f"{deployment.a}/batch")
    page.get_by_text("Signed in as").wait_for()
    assert "Batch triage" not in main_text(page)
    # an upload of Bob's exported case into the import
    page.goto(f"{deployment.a}/cases")
    page.get_by_text("Import a case").click()  # an expander: no run
    upload = page.locator('[data-testid="stFileUploaderDropzoneInput"]')
    rerun(page, lambda: upload.set_input_files(str(deployment.tmp / "bob-case.json")))
    click(page, page.get_by_role("button", name="Import"))
    page.get_by_text(f"no case with id {c['bob']}").wait_for()
    assert len(deployment.case_rows("title = :t", t="Bob service case")) == 1  # nothing imported
    refused = {(e["actor"], e["case_id"]) for e in deployment.audit() if e["action"] == "refused"}
    assert {("alice@example.test", c["bob"]), ("alice@example.test", c["unowned"])} <= refused
    views = [e for e in deployment.audit() if e["action"] == "view" and e["actor"] == "alice@example.test"]
    assert [e["case_id"] for e in views] == [c["alice"]]


def test_a_wrong_password_signs_no_one_in(deployment, new_page):
    page = new_page()
    sign_in(page, deployment.a, "ada", password="not-her-password")
    page.get_by_role("alert").filter(has_text="Wrong login or password.").wait_for()
    assert page.url.startswith(deployment.a) is False  # still at the provider
    page.goto(deployment.a + "/access_admin")
    page.get_by_role("button", name="Sign in").wait_for()
    assert "Access and audit" not in main_text(page)


def test_unknown_user_gets_only_ask_your_administrator(deployment, new_page):
    page = new_page()
    sign_in(page, deployment.b, "stranger", expect="No access yet")
    page.get_by_text("Ask your administrator").wait_for()
    page.get_by_role("button", name="Sign out").wait_for()
    for path in ("cases", "batch", "access_admin", ""):
        page.goto(f"{deployment.b}/{path}")
        page.get_by_text("No access yet").wait_for()
        page.get_by_text("Ask your administrator").wait_for()
        assert page.locator('[data-testid="stSidebarNavLink"]').count() == 0
        assert "Choose a case" not in main_text(page)
    assert any(e["action"] == "unknown_user" and e["actor"] == "stranger@example.test" for e in deployment.audit())


def test_sign_out_clears_the_session(deployment, new_page):
    page = new_page()
    signed_in(page, deployment.a, "lena")
    page.get_by_text("Case details:").click()
    page.get_by_label("Title").first.fill("Typed before signing out")
    page.get_by_label("Title").first.press("Tab")
    page.get_by_text("Case details: Typed before signing out").wait_for()
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="Yes, sign me out").click()  # the provider ends its session too
    page.get_by_role("button", name="Sign in").wait_for()
    assert not [ck for ck in page.context.cookies() if ck["name"].startswith("_streamlit_user")]
    page.goto(f"{deployment.a}/cases")
    page.get_by_role("button", name="Sign in").wait_for()
    assert "Typed before signing out" not in page.content()


def test_two_instances_one_database(deployment, new_page):
    """A case saved on instance A by Alice is Lena's (same unit) on instance B, never Bob's; three
    users signed in at once on two instances each see exactly their own."""
    kb = load_knowledge()
    answers = next(c for c in kb.cases if c.id == "call-centre").answers
    alice = new_page()
    signed_in(alice, deployment.a, "alice", "?" + "&".join(f"{k}={v}" for k, v in answers.items()))
    alice.get_by_role("button", name="Save this case").wait_for()
    click(alice, alice.get_by_role("button", name="Save this case"))
    alice.get_by_text("Saved as case").wait_for()
    new_id = int(alice.get_by_text("Saved as case").inner_text().split("Saved as case ")[1].split(".")[0])
    row = deployment.case_rows("id = :i", i=new_id)[0]
    assert (row["owner"], row["org_unit"]) == ("alice@example.test", "sales")
    lena, bob = new_page(), new_page()
    signed_in(lena, deployment.b, "lena", f"cases?case={new_id}")
    signed_in(bob, deployment.b, "bob", f"cases?case={new_id}")
    lena.get_by_role("heading", name=f"#{new_id}").wait_for()
    bob.get_by_text(f"No case with id {new_id}.").wait_for()
    # Alice's sign-in is bound to instance A's origin (the identity cookie names it): instance B, on
    # another port here, asks her to sign in; then she sees her pages and cases, nobody else's
    alice.goto(deployment.b + "/cases")
    alice.get_by_role("button", name="Sign in").wait_for()
    sign_in(alice, deployment.b, "alice")
    alice.goto(deployment.b + "/cases")
    alice.get_by_text("Alice Leader").first.wait_for()
    assert nav_pages(alice) == PAGES["alice"]
    options = open_case_options(alice)
    assert f"#{new_id} (untitled)" in options and not any("Bob" in o for o in options)
    created = [e for e in deployment.audit() if e["action"] == "create" and e["case_id"] == new_id]
    assert [(e["actor"], e["role"]) for e in created] == [("alice@example.test", "team_leader")]


def test_admin_erases_a_persons_cases_and_the_audit_holds_no_content(deployment, new_page):
    page = new_page()
    signed_in(page, deployment.b, "ada", "access_admin")
    page.get_by_role("heading", name="Access and audit").wait_for()
    page.get_by_role("tab", name="Erasure").click()
    wait_idle(page)
    page.get_by_label("Person").fill("ursula old")
    rerun(page, lambda: page.get_by_label("Person").press("Enter"))
    page.get_by_text("1 case(s)", exact=True).wait_for()
    click(page, page.get_by_text("Yes, erase these 1 case(s) for good"))  # a checkbox: a run
    click(page, page.get_by_role("button", name="Erase"))
    page.get_by_text("Erased 1 case(s).").wait_for()
    cid = deployment.cases["unowned"]
    assert deployment.case_rows("id = :i", i=cid) == []
    with deployment.engine.connect() as conn:
        for t in ("answers", "consultations", "plans", "monitoring_entries"):
            assert conn.execute(sa.text(f"SELECT count(*) FROM {t} WHERE case_id = :i"), {"i": cid}).scalar() == 0
    audit = deployment.audit()
    assert any(e["action"] == "erase" and e["case_id"] == cid and e["actor"] == "ada@example.test" for e in audit)
    blob = json.dumps(audit, default=str)
    for content in ("Alice sales case", "Avery Sales", "Bob service case", "Blake Service", "Ursula", "targets"):
        assert content not in blob


def axe_violations(page) -> list[str]:
    """WCAG 2.1 A and AA violations axe-core finds on the page (its id and the elements)."""
    from axe_playwright_python.sync_playwright import Axe

    wait_idle(page)  # audit the page the run drew in full, not one half drawn
    # Streamlit's own page navigation is left out: its markup is the framework's, not the app's
    result = Axe().run(
        page,
        context={"exclude": [['[data-testid="stSidebarNav"]']]},
        options={"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}},
    )
    return [f"{v['id']}: {[(n['target'], n['html'][:120]) for n in v['nodes']][:3]}" for v in result.response["violations"]]


def test_access_pages_pass_axe(deployment, new_page):
    """The sign-in page, the "ask your administrator" page, the admin's page and the summary."""
    found = {}
    page = new_page()
    page.goto(deployment.a + "/")
    page.get_by_role("button", name="Sign in").wait_for()
    found["sign-in"] = axe_violations(page)
    stranger = new_page()
    sign_in(stranger, deployment.a, "stranger", expect="No access yet")
    stranger.get_by_text("Ask your administrator").wait_for()
    found["no access"] = axe_violations(stranger)
    ada = new_page()
    signed_in(ada, deployment.a, "ada", "access_admin")
    ada.get_by_text("Download the audit log (CSV)").wait_for()
    found["access and audit"] = axe_violations(ada)
    ada.goto(deployment.a + "/case_summary")
    ada.get_by_text("you may see").wait_for()
    found["summary"] = axe_violations(ada)
    assert found == {k: [] for k in found}
