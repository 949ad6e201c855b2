"""A throwaway PostgreSQL server on loopback for the ledger tests: initdb in a temp dir, a free port, stopped after.

The server binaries come from the Debian package `postgresql` (`make postgres` installs it). PostgreSQL refuses to
run as root, so as root the cluster is owned by and run as the `postgres` system user.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SUPERUSER = "ledger"
SERVER_USER = "postgres"
START_TIMEOUT_S = 60
INSTALL_HINT = "PostgreSQL server binaries not found; run `make postgres` (installs the Debian package postgresql)"


def _bin_dir() -> Path:
    """The folder holding initdb and pg_ctl: on PATH, else the newest under /usr/lib/postgresql."""
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(on_path).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[-3]))
    if not candidates:
        raise RuntimeError(INSTALL_HINT)
    return Path(candidates[-1]).parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _run_as_server_user(args: list[str], log: Path | None = None) -> None:
    user = SERVER_USER if os.geteuid() == 0 else None
    result = subprocess.run(args, user=user, capture_output=True, text=True, timeout=START_TIMEOUT_S, check=False)
    if result.returncode != 0:
        server_log = log.read_text()[-2000:] if log and log.exists() else ""
        raise RuntimeError(f"{Path(args[0]).name} failed: {(result.stderr or result.stdout).strip()} {server_log}")


def _give_to_server_user(path: Path) -> None:
    """As root, hand `path` to the system user PostgreSQL will run as."""
    if os.geteuid() != 0:
        return
    try:
        server = pwd.getpwnam(SERVER_USER)
    except KeyError:
        raise RuntimeError(f"no {SERVER_USER!r} system user to run PostgreSQL as; {INSTALL_HINT}") from None
    os.chown(path, server.pw_uid, server.pw_gid)


@contextmanager
def postgres_server() -> Iterator[str]:
    """Start a PostgreSQL server on 127.0.0.1 and a free port; yield its URL; stop it and delete its files."""
    bin_dir = _bin_dir()
    root = Path(tempfile.mkdtemp(prefix="provenance-postgres-"))
    data, log, port = root / "data", root / "log", _free_port()
    try:
        _give_to_server_user(root)
        _run_as_server_user([str(bin_dir / "initdb"), "-D", str(data), "-U", SUPERUSER, "-A", "trust",
                             "-E", "UTF8", "--no-sync"])
        # fsync off: a throwaway server; the ledger's crash tests kill clients, not the server.
        options = f"-h 127.0.0.1 -p {port} -k {root} -F"
        _run_as_server_user([str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(log),
                             "-w", "-t", str(START_TIMEOUT_S), "start"], log)
        yield f"postgresql://{SUPERUSER}@127.0.0.1:{port}/postgres"
    finally:
        if (data / "postmaster.pid").exists():
            _run_as_server_user([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"])
        shutil.rmtree(root, ignore_errors=True)


def fresh_schema_url(server_url: str) -> str:
    """A URL to the server whose tables live in a new, empty schema: one isolated ledger per test."""
    import psycopg

    schema = f"ledger_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {schema}")
    return f"{server_url}?options=-csearch_path%3D{schema}"
