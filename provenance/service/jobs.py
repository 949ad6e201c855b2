"""The jobs store: every accepted upload and its result, in SQLite beside the ledger, so a restart loses none."""

from __future__ import annotations

import json
import re
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from provenance.errors import ProvenanceError

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
UNFINISHED = (QUEUED, RUNNING)
JOB_ID = re.compile(r"^[0-9a-f]{32}$")
BUSY_TIMEOUT_S = 10.0

SCHEMA = """CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    filename TEXT NOT NULL,
    upload TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL,
    result TEXT,
    thumbnail BLOB,
    error TEXT)"""
COLUMNS = "id, kind, state, filename, upload, attempts, created_at, started_at, finished_at, result, error"


@dataclass(frozen=True)
class Job:
    """One accepted upload: `result` is what the worker returned (the report and what the page shows)."""

    id: str
    kind: str
    state: str
    filename: str
    upload: str
    attempts: int
    created_at: float
    started_at: float | None
    finished_at: float | None
    result: dict | None
    error: str | None

    def to_dict(self) -> dict:
        """The job as `GET /v1/jobs/{id}` answers it: the report when done."""
        data = {"id": self.id, "state": self.state, "filename": self.filename, "created_at": self.created_at,
                "started_at": self.started_at, "finished_at": self.finished_at, "error": self.error}
        if self.result is not None:
            data["report"] = self.result["report"]
        return data


def new_job_id() -> str:
    return secrets.token_hex(16)


class JobStore:
    """Jobs in one SQLite file (WAL); used from the service's event loop, guarded by a lock all the same."""

    def __init__(self, path: Path) -> None:
        try:
            self._db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = FULL")
            self._db.execute(SCHEMA)
        except sqlite3.Error as exc:
            raise ProvenanceError(f"cannot open the jobs store {path}: {exc}") from None
        self._lock = threading.Lock()

    def _write(self, sql: str, params: tuple) -> None:
        with self._lock:
            self._db.execute(sql, params)

    def add(self, job_id: str, kind: str, filename: str, upload: Path) -> None:
        self._write("INSERT INTO jobs (id, kind, state, filename, upload, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (job_id, kind, QUEUED, filename, str(upload), time.time()))

    def start(self, job_id: str) -> None:
        self._write("UPDATE jobs SET state = ?, started_at = ?, attempts = attempts + 1 WHERE id = ?",
                    (RUNNING, time.time(), job_id))

    def requeue(self, job_id: str) -> None:
        self._write("UPDATE jobs SET state = ? WHERE id = ?", (QUEUED, job_id))

    def finish(self, job_id: str, result: dict, thumbnail: bytes | None) -> None:
        self._write("UPDATE jobs SET state = ?, finished_at = ?, result = ?, thumbnail = ? WHERE id = ?",
                    (DONE, time.time(), json.dumps(result), thumbnail, job_id))

    def fail(self, job_id: str, error: str) -> None:
        self._write("UPDATE jobs SET state = ?, finished_at = ?, error = ? WHERE id = ?",
                    (FAILED, time.time(), error, job_id))

    def get(self, job_id: str) -> Job | None:
        if not JOB_ID.match(job_id):
            return None
        with self._lock:
            row = self._db.execute(f"SELECT {COLUMNS} FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return _job(row) if row else None

    def thumbnail(self, job_id: str) -> bytes | None:
        if not JOB_ID.match(job_id):
            return None
        with self._lock:
            row = self._db.execute("SELECT thumbnail FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return row[0] if row else None

    def unfinished(self) -> list[Job]:
        """Jobs accepted and not finished, oldest first: those a stopped service left behind."""
        with self._lock:
            rows = self._db.execute(f"SELECT {COLUMNS} FROM jobs WHERE state IN (?, ?) ORDER BY created_at",
                                    UNFINISHED).fetchall()
        return [_job(row) for row in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _job(row: tuple) -> Job:
    values = list(row)
    values[9] = json.loads(values[9]) if values[9] else None
    return Job(*values)
