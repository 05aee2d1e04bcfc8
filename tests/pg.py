"""A real PostgreSQL server for the tests (import the fixtures into a test module: ``from pg import pg_url``).

``CXNLP_TEST_PG_URL`` (a SQLAlchemy URL of a user allowed to create databases) uses an existing server.
Otherwise one is started for the session from the PostgreSQL binaries on this machine (``initdb``/``pg_ctl``
on PATH or in /usr/lib/postgresql/*/bin; as root without them, Debian's ``postgresql`` package is installed
with apt-get): a data directory in a fresh temporary folder, trust authentication, listening only on
127.0.0.1 on a free port with its unix socket in that folder, no fsync. PostgreSQL refuses to run as root, so
as root the server runs as the ``postgres`` system user. It is stopped and removed at the end of the session.
Without binaries (and no way to install them) the tests that need it are skipped, saying why.

Every test gets its own empty database (``pg_url``), dropped afterwards.
"""
from __future__ import annotations

import atexit
import glob
import os
import shlex
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

ENV_URL = "CXNLP_TEST_PG_URL"


def _bin_dir() -> Path | None:
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).resolve().parent
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name or 0)
                    if Path(p).parent.name.isdigit() else 0, reverse=True):
        if (Path(d) / "initdb").exists() and (Path(d) / "pg_ctl").exists():
            return Path(d)
    return None


def _install() -> str | None:
    """apt-get install postgresql (root only). Returns why it could not, or None."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or not shutil.which("apt-get"):
        return "no PostgreSQL binaries (initdb, pg_ctl) and no root apt-get to install them"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        subprocess.run(["apt-get", "update", "-qq"], env=env, check=True, capture_output=True, timeout=600)
        subprocess.run(["apt-get", "install", "-y", "-qq", "postgresql"], env=env, check=True, capture_output=True,
                       timeout=900)
    except (subprocess.SubprocessError, OSError) as e:
        return f"apt-get install postgresql failed: {e}"
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalPostgres:
    """One throw-away PostgreSQL server (initdb + pg_ctl)."""

    def __init__(self, bindir: Path):
        self.bindir = bindir
        self.dir = Path(tempfile.mkdtemp(prefix="cxnlp-pg-"))
        self.data = self.dir / "data"
        self.port = 0
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            import pwd

            try:
                pw = pwd.getpwnam("postgres")
            except KeyError as e:
                raise RuntimeError("running as root and there is no 'postgres' system user to run the server") from e
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
            runuser = shutil.which("runuser")
            self.as_user = [runuser, "-u", "postgres", "--"] if runuser else ["su", "postgres", "-s", "/bin/sh", "-c"]

    def _run(self, args: list[str], timeout: float = 120) -> subprocess.CompletedProcess:
        args = [str(a) for a in args]
        cmd = self.as_user + [shlex.join(args)] if self.as_user[:1] == ["su"] else self.as_user + args
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)

    def start(self) -> str:
        r = self._run([self.bindir / "initdb", "-D", self.data, "-A", "trust", "-U", "postgres", "-E", "UTF8",
                       "--no-locale", "--no-sync"])
        if r.returncode:
            raise RuntimeError(f"initdb failed: {r.stderr.strip()[-500:]}")
        for _ in range(5):  # a free port can be taken between choosing and binding it
            self.port = _free_port()
            opts = (f"-h 127.0.0.1 -p {self.port} -k {self.dir} -F -c fsync=off -c synchronous_commit=off "
                    "-c full_page_writes=off -c max_connections=60")
            r = self._run([self.bindir / "pg_ctl", "-D", self.data, "-l", self.dir / "server.log", "-w", "-t", "60",
                           "-o", opts, "start"])
            if r.returncode == 0:
                atexit.register(self.stop)
                return self.url("postgres")
        log = (self.dir / "server.log").read_text(errors="replace")[-800:] if (self.dir / "server.log").exists() else ""
        raise RuntimeError(f"pg_ctl start failed: {r.stderr.strip()[-300:]} {log}")

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        if self.data.exists():
            self._run([self.bindir / "pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop"], timeout=60)
        shutil.rmtree(self.dir, ignore_errors=True)


def start_local_server() -> LocalPostgres:
    """Start a server from the local binaries (installing them as root if needed). Raises RuntimeError with the
    reason when it cannot."""
    bindir = _bin_dir()
    if bindir is None:
        why = _install()
        bindir = _bin_dir()
        if bindir is None:
            raise RuntimeError(why or "PostgreSQL binaries not found after installing")
    server = LocalPostgres(bindir)
    server.start()
    return server


def _admin(url: str):
    import psycopg
    from sqlalchemy.engine import make_url

    u = make_url(url).set(drivername="postgresql")
    return psycopg.connect(u.render_as_string(hide_password=False), autocommit=True)


def create_database(server_url: str) -> str:
    """A new, empty database on the server; returns its URL."""
    from sqlalchemy.engine import make_url

    name = f"cxnlp_test_{uuid.uuid4().hex[:12]}"
    with _admin(server_url) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_database(server_url: str, db_url: str) -> None:
    from sqlalchemy.engine import make_url

    name = make_url(db_url).database
    with _admin(server_url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_server():
    """(server URL, None), or (None, why there is no server). Never skips: a test that can do without
    PostgreSQL (a DuckDB-parametrised one) stays runnable."""
    url = os.environ.get(ENV_URL)
    if url:
        yield url, None
        return
    try:
        server = start_local_server()
    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
        yield None, f"PostgreSQL tests skipped: {e}. Set {ENV_URL} to use an existing server."
        return
    yield server.url("postgres"), None
    server.stop()


@pytest.fixture(scope="session")
def pg_server_url(pg_server):
    """The URL of a PostgreSQL server (its maintenance database) for this test session."""
    url, why = pg_server
    if url is None:
        pytest.skip(why)
    return url


@pytest.fixture
def pg_url(pg_server_url):
    """A fresh, empty database for one test (dropped afterwards)."""
    url = create_database(pg_server_url)
    yield url
    drop_database(pg_server_url, url)
