"""The case store on a real PostgreSQL server: the same test-suite as SQLite (``StoreContract``).

The server: the session's ``postgres_server`` (conftest.py, started by ``pg_util.py``):
``TRIAGE_TEST_POSTGRES_URL`` if set, otherwise a throwaway cluster started with the PostgreSQL
binaries on the machine, stopped and removed at the end of the session. Each test gets an empty
database of its own (a schema on the server). Skipped only when no binaries exist.
"""

from __future__ import annotations

import pytest
from pg_util import _free_port

from casework.store import Store, StoreError

try:  # how pytest imports test modules depends on whether tests/ is a package
    from tests.test_store import StoreContract
except ImportError:  # pragma: no cover - rootdir-less layout
    from test_store import StoreContract


class TestStorePostgres(StoreContract):
    @pytest.fixture
    def store(self, new_database):
        s = Store(new_database())
        assert s.backend == "postgresql"
        yield s
        s.close()

    @pytest.fixture
    def fresh_url(self, new_database):
        return new_database()


def test_two_stores_migrating_the_same_new_database_at_once(new_database):
    """Two processes (here: two stores) starting on an empty database: the migration lock lets one
    create the schema and the other find it done."""
    import threading

    url = new_database()
    stores = [Store(url) for _ in range(2)]
    errors: list[Exception] = []
    gate = threading.Barrier(2)

    def first_use(s: Store) -> None:
        try:
            gate.wait()
            s.list_cases()
        except Exception as exc:  # noqa: BLE001 - asserted below
            errors.append(exc)

    threads = [threading.Thread(target=first_use, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert stores[0].create_case({"title": "after"}, {}) > 0
    for s in stores:
        s.close()


def test_unreachable_server_gives_a_clear_message():
    port = _free_port()  # nothing listens there
    s = Store(f"postgresql+psycopg://someone:secret-pw@127.0.0.1:{port}/cases", timeout=2)
    with pytest.raises(StoreError) as info:
        s.list_cases()
    text = str(info.value)
    assert "cannot use the case database" in text and str(port) in text
    assert "secret-pw" not in text  # the password never appears in a message
    s.close()


def test_plain_postgresql_url_uses_psycopg(new_database):
    url = new_database().replace("postgresql+psycopg://", "postgresql://")
    s = Store(url)
    assert s.create_case({"title": "plain"}, {}) > 0
    assert s.engine.dialect.driver == "psycopg"
    s.close()
