"""A throw-away PostgreSQL server for the tests that run uav on PostgreSQL.

`postgres_url` starts a cluster of its own (initdb in a temporary folder, a Unix socket
there, no TCP) and stops it afterwards; it is skipped, saying why, when PostgreSQL's server
programs or the psycopg driver are missing (`.ci/run` installs both). PostgreSQL refuses to
run as root: as root, the server runs as the `postgres` user (the Debian package makes it).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

START_TIMEOUT_S = 60.0


def server_programs() -> Path | None:
    """The folder holding initdb and pg_ctl, or None."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).resolve().parent
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if (Path(folder) / "initdb").exists() and (Path(folder) / "pg_ctl").exists():
            return Path(folder)
    return None


def _as_server_user(argv: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return argv
    if not shutil.which("runuser"):
        pytest.skip("PostgreSQL cannot run as root and runuser is missing")
    return ["runuser", "-u", "postgres", "--", *argv]


def _run(argv: list[str], what: str) -> None:
    done = subprocess.run(
        _as_server_user(argv), capture_output=True, text=True, timeout=START_TIMEOUT_S
    )
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed ({done.returncode}): {done.stderr or done.stdout}")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Path]:
    """A running PostgreSQL server; yields the folder of its Unix socket."""
    programs = server_programs()
    if programs is None:
        pytest.skip("PostgreSQL's server programs (initdb, pg_ctl) are not installed")
    pytest.importorskip("psycopg", reason="the psycopg driver is not installed")
    folder = Path(tempfile.mkdtemp(prefix="uav-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    data = folder / "data"
    _run(
        [str(programs / "initdb"), "-D", str(data), "-U", "uav", "--auth=trust", "-E", "UTF8"],
        "initdb",
    )
    options = f"-k {folder} -c listen_addresses='' -p 5432 -c fsync=off"
    pg_ctl = str(programs / "pg_ctl")
    _run(
        [pg_ctl, "-D", str(data), "-o", options, "-l", str(folder / "log"), "-w", "start"], "start"
    )
    try:
        yield folder
    finally:
        _run([pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"], "stop")
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: Path) -> Iterator[str]:
    """An empty database of its own on the server, as an SQLAlchemy URL."""
    import psycopg

    name = f"uav_{os.getpid()}_{next(_counter)}"
    admin = f"host={postgres_server} port=5432 user=uav dbname=postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://uav@/{name}?host={postgres_server}&port=5432"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def _numbers() -> Iterator[int]:
    n = 0
    while True:
        n += 1
        yield n


_counter = _numbers()
