"""The case store on a real PostgreSQL server: the same test-suite as SQLite (``StoreContract``).

The server: ``TRIAGE_TEST_POSTGRES_URL`` if set (a SQLAlchemy URL of a role that may create
databases), otherwise a throwaway cluster started here with the PostgreSQL binaries on the machine
(initdb into a temporary folder, pg_ctl on a free loopback port, the unix socket inside that folder;
as root the server runs as the ``postgres`` system user, created if missing), stopped and removed at
the end of the session. Each test gets an empty database of its own (a schema on the server). Skipped only when no binaries exist.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from casework.store import Store, StoreError

try:  # how pytest imports test modules depends on whether tests/ is a package
    from tests.test_store import StoreContract
except ImportError:  # pragma: no cover - rootdir-less layout
    from test_store import StoreContract

PG_USER = "postgres"


def _bin_dir() -> Path | None:
    """The newest PostgreSQL bin folder holding initdb and pg_ctl (or the one on PATH)."""
    found = sorted(
        (Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin")),
        key=lambda p: int(re.sub(r"\D", "", p.parent.name) or 0),
        reverse=True,
    )
    on_path = shutil.which("initdb")
    if on_path:
        found.append(Path(on_path).parent)
    for d in found:
        if (d / "initdb").is_file() and (d / "pg_ctl").is_file():
            return d
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server_user() -> tuple[int, int] | None:
    """(uid, gid) to run the server as: the postgres system user when we are root, else None."""
    if os.geteuid() != 0:
        return None
    try:
        pw = pwd.getpwnam(PG_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_USER],
            check=True,
            capture_output=True,
        )
        pw = pwd.getpwnam(PG_USER)
    return pw.pw_uid, pw.pw_gid


@pytest.fixture(scope="session")
def postgres_server():
    """A SQLAlchemy URL of a PostgreSQL server for the whole session."""
    given = os.environ.get("TRIAGE_TEST_POSTGRES_URL", "").strip()
    if given:
        yield given
        return
    bindir = _bin_dir()
    if bindir is None:
        if os.environ.get("TRIAGE_REQUIRE_POSTGRES"):
            pytest.fail("TRIAGE_REQUIRE_POSTGRES is set but no PostgreSQL binaries (initdb, pg_ctl) were found")
        pytest.skip(
            "PostgreSQL binaries (initdb, pg_ctl) not found; set TRIAGE_TEST_POSTGRES_URL to use a server"
        )
    try:
        owner = _server_user()
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.fail(f"cannot create the '{PG_USER}' system user to run PostgreSQL as root: {exc}")
    tmp = Path(tempfile.mkdtemp(prefix="triage-pg-"))
    data = tmp / "data"
    kw: dict = {
        "cwd": tmp,
        "capture_output": True,
        "text": True,
        "env": {"PATH": os.environ.get("PATH", ""), "LC_ALL": "C"},
    }
    if owner:
        os.chown(tmp, *owner)
        kw.update(user=owner[0], group=owner[1], extra_groups=[])
    tmp.chmod(0o700)
    port = _free_port()
    try:
        run = subprocess.run(
            [
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                PG_USER,
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
            **kw,
        )
        if run.returncode:
            pytest.fail(f"initdb failed: {run.stderr.strip()}")
        opts = (
            f"-p {port} -k {tmp} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
            "-c full_page_writes=off -c max_connections=50 -c wal_recycle=off"
        )
        run = subprocess.run(
            [
                str(bindir / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(tmp / "server.log"),
                "-o",
                opts,
                "-w",
                "-t",
                "60",
                "start",
            ],
            **kw,
        )
        if run.returncode:
            log = (tmp / "server.log").read_text(errors="replace") if (tmp / "server.log").exists() else ""
            pytest.fail(f"pg_ctl start failed: {run.stderr.strip()} {log[-2000:]}")
        yield f"postgresql+psycopg://{PG_USER}@127.0.0.1:{port}/postgres"
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"], **kw)
        shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def databases(server_url: str):
    """A factory of empty databases, dropped at the end. Each is a schema of its own on the
    server's database, reached through ``search_path`` (creating a schema takes milliseconds, a
    whole database half a second); to the store it is an empty database."""
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    made: list[str] = []

    def make() -> str:
        name = f"triage_test_{uuid.uuid4().hex[:12]}"
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{name}"')
        made.append(name)
        url = sa.make_url(server_url)
        return url.set(query={**url.query, "options": f"-csearch_path={name}"}).render_as_string(
            hide_password=False
        )

    try:
        yield make
    finally:
        with admin.connect() as conn:
            for name in made:
                conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        admin.dispose()


@pytest.fixture
def new_database(postgres_server):
    """A factory of empty databases (see :func:`databases`), dropped after the test."""
    with databases(postgres_server) as make:
        yield make


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
