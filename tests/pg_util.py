"""A PostgreSQL server for the tests (the ``postgres_server`` and ``new_database`` fixtures in
conftest.py): ``TRIAGE_TEST_POSTGRES_URL`` if set (a SQLAlchemy URL of a role that may create
schemas), otherwise a throwaway cluster started with the PostgreSQL binaries on the machine (initdb
into a temporary folder, pg_ctl on a free loopback port, the unix socket inside that folder; as root
the server runs as the ``postgres`` system user, created if missing). One server for the whole
session; each test gets empty databases of its own (schemas on that server)."""

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


@contextlib.contextmanager
def postgres_server():
    """A SQLAlchemy URL of a PostgreSQL server: ``TRIAGE_TEST_POSTGRES_URL`` if set, otherwise a
    throwaway cluster started here and removed at the end (the session fixture of conftest.py)."""
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
