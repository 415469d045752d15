"""Shared test fixtures."""

from __future__ import annotations

import os

import pytest

from knowledge.loader import load_knowledge
from rules.model import load_rulebase


@pytest.fixture(autouse=True, scope="session")
def _private_data_dir(tmp_path_factory):
    """No test writes a case store into the working tree: the default data folder is temporary."""
    mp = pytest.MonkeyPatch()
    mp.setenv("TRIAGE_DATA_DIR", str(tmp_path_factory.mktemp("data")))
    mp.delenv("TRIAGE_DATABASE_URL", raising=False)
    yield
    mp.undo()


@pytest.fixture(autouse=True, scope="session")
def _components_scanned_once():
    """Each new ``AppTest`` scans every installed distribution for Streamlit components (about 0.4 s of
    its 0.5 s start). Nothing is installed while the suite runs, so a worker scans once and every
    AppTest registers what that scan found. The served app (``streamlit run``) is not touched."""
    from streamlit.components.v2 import manifest_scanner

    found = manifest_scanner.scan_component_manifests()
    mp = pytest.MonkeyPatch()
    mp.setattr(manifest_scanner, "scan_component_manifests", lambda max_workers=None: list(found))
    yield
    mp.undo()


@pytest.fixture(scope="session")
def kb():
    return load_knowledge()


@pytest.fixture(scope="session")
def rb():
    return load_rulebase()


# --------------------------------------------------------------------------- PostgreSQL


@pytest.fixture(scope="session")
def postgres_server():
    """A SQLAlchemy URL of one PostgreSQL server for the whole session (see pg_util.py): started
    once, however many modules use it."""
    from pg_util import postgres_server as server

    with server() as url:
        yield url


@pytest.fixture
def new_database(postgres_server):
    """A factory of empty databases (see :func:`pg_util.databases`), dropped after the test."""
    from pg_util import databases

    with databases(postgres_server) as make:
        yield make


# --------------------------------------------------------------------------- browser (headless system Chromium)


@pytest.fixture(scope="module")
def chromium():
    """A headless system Chromium for a module's browser tests (never a downloaded browser);
    skipped when /usr/bin/chromium is absent, unless CI asks for it (TRIAGE_REQUIRE_BROWSER).
    Module-scoped: Playwright's sync API runs one instance at a time, and other modules start their own."""
    from browser_util import CHROMIUM, screens_mod

    if not CHROMIUM.exists() and not os.environ.get("TRIAGE_REQUIRE_BROWSER"):
        pytest.skip("no system Chromium at /usr/bin/chromium (apt-get install -y chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = screens_mod().launch_chromium(p)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def app_url(tmp_path_factory, _private_data_dir):
    """The app served on a free loopback port for the session's browser tests (its case store in a
    temporary folder); only the process started here is stopped."""
    from browser_util import screens_mod

    log = tmp_path_factory.mktemp("streamlit") / "streamlit.log"
    with screens_mod().serve_app(log_path=log) as (url, _proc, _):
        yield url


@pytest.fixture(scope="module")
def tabs(chromium):
    """The module's browser pages, kept open and lent to one test after another (see
    :class:`browser_util.Tabs`): a new app session each time, without compiling Streamlit's scripts again."""
    from browser_util import Tabs

    pool = Tabs(chromium, viewport={"width": 1280, "height": 900})
    yield pool
    pool.close()


@pytest.fixture
def browser_page(tabs, app_url):
    """A page on ``about:blank`` with no cookies, ready for a new app session on the served app."""
    yield tabs.take()
    tabs.give_back()


# --------------------------------------------------------------------------- markers

# The fixtures that bring up each outside component: a test using one (directly or through another
# fixture) gets the component's marker, so that ``-m "not browser"`` and the like select by need.
NEEDS = {
    "browser": {"chromium", "tabs", "browser_page", "browser", "new_page", "phone", "audited", "deployment"},
    "postgres": {"postgres_server", "new_database", "deployment"},
    "oidc": {"deployment"},
}


# The modules that take longest, longest first (measured per module with four workers on a quiet 2-core
# machine, 2026-12-08; a timeline of that run showed test_report and test_explain, not in the list then,
# starting last and one worker ending 20 s after the others). Workers take modules in collection order
# (``--dist loadfile --no-loadscope-reorder``), so these start first and the many short modules fill in at
# the end, instead of one worker being left with a long module while the others wait. A stale list costs
# only balance, never a test.
LONGEST_FIRST = [
    "test_browser_offline_a11y", "test_access_hostile", "test_access_oidc", "test_verify", "test_dialogue",
    "test_consistency", "test_properties", "test_batch", "test_explain", "test_app", "test_consult",
    "test_access_store", "test_browser", "test_summary", "test_report", "test_browser_cases",
    "test_browser_practice", "test_cases_page", "test_tree", "test_engine_equivalence", "test_reliability_concurrency",
]


def pytest_collection_modifyitems(config, items):
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        params = getattr(getattr(item, "callspec", None), "params", {})
        for marker, fixtures in NEEDS.items():
            if used & fixtures:
                item.add_marker(marker)
        # a store fixture parametrised over the back ends asks for new_database only for PostgreSQL
        if params.get("store") == "postgresql":
            item.add_marker("postgres")
        if used & NEEDS["browser"]:  # a browser test starts a session, renders and audits: never quick
            item.add_marker("slow")
    # the longest modules first (a stable sort: every module keeps its own order)
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.stem, len(rank)))


# --------------------------------------------------------------------------- parallel runs


def pytest_xdist_auto_num_workers(config):
    """``-n auto`` (pyproject's addopts): two workers per core, at most four. The browser modules wait on
    the app, its servers and Chromium more than they compute, so a core has room for a second worker: on
    a quiet 2-core machine the suite took 8 min 43 s with four workers, 9 min 32 s with three (measured
    the same day; docs/tests.md). Each worker starts the outside components its tests need (PostgreSQL,
    the OpenID provider, app servers) on free ports; ``--dist loadfile`` keeps a module's tests, and so
    its browser and servers, on one worker."""
    return max(2, min(2 * (os.cpu_count() or 1), 4))
