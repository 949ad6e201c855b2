"""The ledger: every credential issued, keyed by watermark payload, in SQLite (default) or PostgreSQL.

A signing is recorded in two steps so that a crash never leaves a file without its row or a row without
its file: `begin` commits the row as "pending" before the signed file is renamed into place, `complete`
marks it "done" after. `reconcile` (run by `Ledger.open`) settles the pending rows of processes that died:
the row is kept when its file is there with the recorded SHA-256, deleted otherwise.

Rows are never rewritten to describe another file: when a signing replaces the file at an output path, the
credentials issued earlier for that path stay (copies of those clips may live elsewhere) and are marked
`replaced_by` the new payload.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json
import os
import random
import socket
import sqlite3
import string
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from provenance.errors import BadInput, LedgerError
from provenance.files import sha256_file
from provenance.keys import default_home

if TYPE_CHECKING:
    from provenance.fingerprint import Second

__all__ = ["DONE", "PENDING", "Ledger", "LedgerBusy", "PostgresLedger", "Record", "SQLiteLedger"]

SCHEMA_VERSION = 3
BUSY_TIMEOUT_S = 5.0
MAX_LOCK_POLL_S = 0.002
CONNECT_TIMEOUT_S = 10
EXPORT_BATCH_ROWS = 500
PAYLOAD_BATCH_ROWS = 50000
FINGERPRINT_QUERY_HASHES = 100  # hashes looked up per query (each takes four parameters)
DEFAULT_FILE = "ledger.sqlite"
URL_ENV = "PROVENANCE_LEDGER"
PENDING, DONE = "pending", "done"
SHA256_HEX_CHARS = 64
MAX_SQL_INTEGER = 2**63 - 1  # the largest LIMIT or OFFSET that SQLite and PostgreSQL take
POSTGRES_SCHEMES = ("postgresql", "postgres")
# pg_advisory_xact_lock key that serialises schema creation between hosts opening a new database at once.
SCHEMA_LOCK_KEY = 0x70726F76
# pg_advisory_xact_lock key that serialises putting outputs in place, so signings to one path settle in order.
OUTPUT_LOCK_KEY = 0x70726F77

TABLE = "ledger_credentials"
META_TABLE = "ledger_meta"
FINGERPRINT_TABLE = "ledger_fingerprints"
HASH_SIGN_BIT = 1 << 63  # hashes are unsigned 64-bit; both databases store signed BIGINTs


class LedgerBusy(LedgerError):
    """Another process held the ledger's write lock for longer than the timeout."""


@dataclass(frozen=True)
class Record:
    """One credential issued: what signing a clip produced, keyed by its watermark payload (hex)."""

    payload: str
    sha256: str
    manifest_store: bytes = field(repr=False)
    signer: str
    signer_chain_pem: str = field(repr=False)
    model: str
    created_at: str
    path: str
    claim_generator: str
    state: str = PENDING
    replaced_by: str | None = None  # payload of a later signing whose file replaced this one at `path`

    def to_dict(self, include_manifest: bool = False) -> dict[str, Any]:
        """JSON-safe fields; with `include_manifest`, also the chain and the manifest store (base64)."""
        row = asdict(self)
        row["manifest_bytes"] = len(self.manifest_store)
        if include_manifest:
            row["manifest_store"] = base64.b64encode(self.manifest_store).decode("ascii")
        else:
            del row["manifest_store"], row["signer_chain_pem"]
        return row


RECORD_COLUMNS = tuple(column.name for column in fields(Record))
SELECT_RECORD = f"SELECT {', '.join(RECORD_COLUMNS)} FROM {TABLE}"
INSERT_RECORD = (
    f"INSERT INTO {TABLE} ({', '.join(RECORD_COLUMNS)}, owner) VALUES ({', '.join('?' * (len(RECORD_COLUMNS) + 1))})"
    " ON CONFLICT (payload) DO NOTHING"
)
SCHEMA = (
    f"CREATE TABLE {META_TABLE} (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    f"""CREATE TABLE {TABLE} (
        seq {{serial}},
        payload TEXT NOT NULL UNIQUE,
        sha256 TEXT NOT NULL,
        manifest_store {{blob}} NOT NULL,
        signer TEXT NOT NULL,
        signer_chain_pem TEXT NOT NULL,
        model TEXT NOT NULL,
        created_at TEXT NOT NULL,
        path TEXT NOT NULL,
        claim_generator TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('{PENDING}', '{DONE}')),
        owner TEXT NOT NULL,
        replaced_by TEXT)""",
    f"CREATE INDEX {TABLE}_pending ON {TABLE} (state) WHERE state = '{PENDING}'",
    f"CREATE INDEX {TABLE}_path ON {TABLE} (path)",
    f"INSERT INTO {META_TABLE} (name, value) VALUES ('schema_version', '{SCHEMA_VERSION}')",
)
# A credential's fingerprint: one row per hashed second, with the hash's four 16-bit chunks indexed (see
# provenance.fingerprint: a hash within three bits of another agrees with it on one chunk at least).
FINGERPRINT_SCHEMA = (
    f"""CREATE TABLE {FINGERPRINT_TABLE} (
        payload TEXT NOT NULL,
        start_ms INTEGER NOT NULL,
        end_ms INTEGER NOT NULL,
        hash BIGINT NOT NULL,
        c0 INTEGER NOT NULL, c1 INTEGER NOT NULL, c2 INTEGER NOT NULL, c3 INTEGER NOT NULL,
        PRIMARY KEY (payload, start_ms))""",
    *(f"CREATE INDEX {FINGERPRINT_TABLE}_c{i} ON {FINGERPRINT_TABLE} (c{i})" for i in range(4)),
)
SCHEMA += FINGERPRINT_SCHEMA
INSERT_FINGERPRINT = (f"INSERT INTO {FINGERPRINT_TABLE} (payload, start_ms, end_ms, hash, c0, c1, c2, c3)"
                      " VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
# Statements that bring a ledger from the schema version given to the next one.
UPGRADES = {1: (f"ALTER TABLE {TABLE} ADD COLUMN replaced_by TEXT", f"CREATE INDEX {TABLE}_path ON {TABLE} (path)"),
            2: FINGERPRINT_SCHEMA}


def _signed(value: int) -> int:
    """An unsigned 64-bit hash as the signed BIGINT that stores it."""
    return value - (1 << 64) if value & HASH_SIGN_BIT else value


def _is_hex(text: str) -> bool:
    return bool(text) and all(char in string.hexdigits for char in text)


def normalise_payload(payload: str) -> str:
    """A payload as stored: lower-case hex."""
    text = str(payload).strip().lower()
    if not _is_hex(text):
        raise BadInput(f"payload {payload!r} is not hexadecimal")
    return text


def _check_record(record: Record) -> None:
    """Refuse a record the ledger could not serve back or reconcile."""
    if not (len(record.sha256) == SHA256_HEX_CHARS and _is_hex(record.sha256)):
        raise LedgerError(f"record {record.payload}: sha256 must be {SHA256_HEX_CHARS} hex digits")
    if not os.path.isabs(record.path):
        raise LedgerError(f"record {record.payload}: output path {record.path!r} must be absolute")
    try:
        created = dt.datetime.fromisoformat(record.created_at)
    except ValueError:
        raise LedgerError(f"record {record.payload}: created_at {record.created_at!r} is not ISO 8601") from None
    if created.tzinfo is None:
        raise LedgerError(f"record {record.payload}: created_at {record.created_at!r} has no time zone")


def _process_start(pid: int) -> str | None:
    """A live process's start time, which tells a reused pid apart.

    None if there is no such live process; "" if it is alive but this system cannot tell when it started.
    """
    if os.name != "posix":  # os.kill(pid, 0) would terminate it elsewhere
        return ""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    try:
        after_name = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return ""
    state, start_ticks = after_name[0], after_name[19]
    return None if state in ("Z", "X") else start_ticks


def _owner() -> str:
    """Who holds a pending row: host, pid and process start time of this process."""
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{_process_start(pid) or ''}"


def _host(owner: str) -> str:
    """The host part of an owner (host:pid:start)."""
    return owner.rsplit(":", 2)[0]


def _owner_alive(owner: str) -> bool:
    """Whether the process that began a row may still finish it; rows of other hosts are left to them."""
    host, pid, start = owner.rsplit(":", 2)
    if host != socket.gethostname():
        return True
    current = _process_start(int(pid))
    if current is None:
        return False
    return current == start or "" in (current, start)  # an unknown start time: assume the same process


def _file_matches(path: str, sha256: str) -> bool | None:
    """Whether `path` holds the signed file; None when it exists but cannot be read."""
    try:
        return sha256_file(path) == sha256
    except FileNotFoundError:
        return False
    except OSError:
        return None


class Ledger:
    """Credentials issued, keyed by watermark payload. Open with `Ledger.open(url, home)`."""

    placeholder = "?"

    def __init__(self, connection: Any, where: str, timeout_s: float, writable: bool = True) -> None:
        self._connection = connection
        self._lock = threading.RLock()
        self.where = where
        self.timeout_s = timeout_s
        self.writable = writable

    @classmethod
    def open(
        cls,
        url: str | os.PathLike | None = None,
        home: str | os.PathLike | None = None,
        *,
        timeout_s: float = BUSY_TIMEOUT_S,
        create: bool = True,
    ) -> Ledger:
        """Open (creating on first use, unless not `create`) the ledger at `url`: a SQLite path, sqlite:///path or
        postgresql://...

        With no url: `PROVENANCE_LEDGER` if set (e.g. one PostgreSQL ledger for several generation hosts), else
        the SQLite file `ledger.sqlite` under `home` (default: the per-user home).
        `timeout_s` is how long to wait for another writer's lock before giving up.
        A SQLite file this process may not write (or in a folder it may not write) is opened read-only.
        """
        url = url if url is not None else os.environ.get(URL_ENV) or None
        if url is None:
            ledger: Ledger = SQLiteLedger.connect(Path(home or default_home()) / DEFAULT_FILE, timeout_s, create)
        else:
            text = os.fspath(url)
            scheme = urlsplit(text).scheme.lower() if "://" in text else ""
            if scheme in POSTGRES_SCHEMES:
                ledger = PostgresLedger.connect(text, timeout_s)
            elif scheme in ("", "sqlite"):
                ledger = SQLiteLedger.connect(Path(text.removeprefix("sqlite://")), timeout_s, create)
            else:
                raise LedgerError(
                    f"unsupported ledger URL scheme {scheme!r}: use a file path, sqlite:///path or postgresql://..."
                )
        try:
            ledger._ensure_schema(create)
            if ledger.writable:
                ledger.reconcile()
        except BaseException:
            ledger.close()
            raise
        return ledger

    # -- backend hooks -----------------------------------------------------------------------------------------

    def _errors(self) -> contextlib.AbstractContextManager[None]:
        """Turn the driver's exceptions into one-line LedgerErrors."""
        raise NotImplementedError

    def _transaction(self) -> contextlib.AbstractContextManager[None]:
        """A write transaction around the `_execute` calls in its block, committed if the block succeeds."""
        raise NotImplementedError

    def _tables(self) -> set[str]:
        raise NotImplementedError

    def _schema_statements(self, existing_tables: set[str]) -> list[str]:
        raise NotImplementedError

    def _serialise(self, key: int) -> None:
        """Serialise the rest of this write transaction with other processes taking the same `key`."""

    # -- shared logic ------------------------------------------------------------------------------------------

    @classmethod
    def _configured(cls, connection: Any, where: str, timeout_s: float, settings: list[tuple[str, tuple]],
                    writable: bool = True) -> Ledger:
        """A ledger over a new connection once its session `settings` ran; the connection is closed if they fail."""
        ledger = cls(connection, where, timeout_s, writable)
        try:
            with ledger._errors():
                for sql, params in settings:
                    ledger._execute(sql, params)
        except BaseException:
            ledger.close()
            raise
        return ledger

    def _sql(self, text: str) -> str:
        return text.replace("?", self.placeholder)

    def _open_connection(self) -> Any:
        if self._connection is None:
            raise LedgerError(f"ledger {self.where} is closed")
        return self._connection

    def _execute(self, sql: str, params: tuple = ()) -> Any:
        """Run one statement on the connection; returns its cursor."""
        return self._open_connection().execute(self._sql(sql), params)

    def _rows(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self._lock, self._errors():
            return self._execute(sql, params).fetchall()

    def _write(self, sql: str, params: tuple = ()) -> int:
        """Run one statement in its own write transaction; returns the number of rows changed."""
        with self._transaction():
            return self._execute(sql, params).rowcount

    def _schema_version(self) -> int:
        [(value,)] = self._rows(f"SELECT value FROM {META_TABLE} WHERE name = 'schema_version'") or [("0",)]
        try:
            return int(value)
        except ValueError:
            raise LedgerError(f"{self.where} is not a ledger database (schema version {value!r})") from None

    def _ensure_schema(self, create: bool) -> None:
        if META_TABLE not in self._tables():
            if not (create and self.writable):
                raise LedgerError(f"no ledger in {self.where} (nothing has been signed with it)")
            with self._transaction():
                self._serialise(SCHEMA_LOCK_KEY)
                tables = self._tables()
                if META_TABLE not in tables:
                    for statement in self._schema_statements(tables):
                        self._execute(statement)
        version = self._schema_version()
        if version > SCHEMA_VERSION:
            raise LedgerError(
                f"ledger {self.where} has schema version {version}, newer than this program's ({SCHEMA_VERSION});"
                " upgrade provenance"
            )
        if version < 1:
            raise LedgerError(f"{self.where} is not a ledger database (no schema version)")
        if version < SCHEMA_VERSION:
            if not self.writable:
                raise LedgerError(f"ledger {self.where} has schema version {version}, older than this program's "
                                  f"({SCHEMA_VERSION}), and is read-only here: open it once with write access")
            self._upgrade()

    def _upgrade(self) -> None:
        """Bring an older ledger to this program's schema version, once, whoever else opens it at the same time."""
        with self._transaction():
            self._serialise(SCHEMA_LOCK_KEY)
            version = self._schema_version()
            for step in range(version, SCHEMA_VERSION):
                for statement in UPGRADES[step]:
                    self._execute(statement)
            self._execute(f"UPDATE {META_TABLE} SET value = ? WHERE name = 'schema_version'", (str(SCHEMA_VERSION),))

    def begin(self, record: Record, fingerprint: Sequence[Second] = ()) -> None:
        """Record a signing, with its clip's fingerprint, as pending before its output file is put in place
        (committed on return)."""
        from provenance.fingerprint import chunks

        record = replace(record, payload=normalise_payload(record.payload), state=PENDING, replaced_by=None)
        _check_record(record)
        values = (*(getattr(record, name) for name in RECORD_COLUMNS), _owner())
        with self._transaction():
            if self._execute(INSERT_RECORD, values).rowcount != 1:
                raise LedgerError(f"payload {record.payload} already recorded in the ledger")
            for second in fingerprint:
                self._execute(INSERT_FINGERPRINT, (record.payload, second.start_ms, second.end_ms,
                                                   _signed(second.hash), *chunks(second.hash)))

    def complete(self, payload: str, put_in_place: Callable[[], object] | None = None) -> None:
        """Mark a pending signing done once its output file is in place; earlier credentials for its path are
        marked replaced by it.

        `put_in_place` (the output's rename) runs inside the same write transaction, so signings that write one
        path settle in the order their files land there.
        """
        payload = normalise_payload(payload)
        with self._transaction():
            self._serialise(OUTPUT_LOCK_KEY)
            pending = self._execute(f"SELECT path, owner FROM {TABLE} WHERE payload = ? AND state = ?",
                                    (payload, PENDING)).fetchall()
            if not pending:
                if self._execute(f"SELECT 1 FROM {TABLE} WHERE payload = ? AND state = ?", (payload, DONE)).fetchall():
                    return
                raise LedgerError(f"no pending signing with payload {payload} in the ledger")
            if put_in_place is not None:
                put_in_place()
            self._settle(payload, *pending[0])

    def _settle(self, payload: str, path: str, owner: str) -> int:
        """Inside a write transaction: mark a pending row done and the earlier credentials for its file replaced.

        Returns 1 if the row was still pending, else 0.
        """
        if not self._execute(f"UPDATE {TABLE} SET state = ? WHERE payload = ? AND state = ?",
                             (DONE, payload, PENDING)).rowcount:
            return 0
        earlier = self._execute(
            f"SELECT payload, owner FROM {TABLE} WHERE path = ? AND state = ? AND payload <> ? AND replaced_by IS NULL",
            (path, DONE, payload),
        ).fetchall()
        for replaced, replaced_owner in earlier:
            if _host(replaced_owner) == _host(owner):  # the same path on another host is another file
                self._execute(f"UPDATE {TABLE} SET replaced_by = ? WHERE payload = ?", (payload, replaced))
        return 1

    def abandon(self, payload: str) -> None:
        """Forget a pending signing whose output was never put in place."""
        self._forget(normalise_payload(payload))

    def _forget(self, payload: str) -> int:
        """Delete a pending row and its fingerprint; returns 1 if it was still pending, else 0."""
        with self._transaction():
            if not self._execute(f"DELETE FROM {TABLE} WHERE payload = ? AND state = ?", (payload, PENDING)).rowcount:
                return 0
            self._execute(f"DELETE FROM {FINGERPRINT_TABLE} WHERE payload = ?", (payload,))
            return 1

    def reconcile(self) -> int:
        """Settle pending rows left by dead processes: done if the file is there as signed, else deleted.

        Returns the number of rows settled; rows of live processes and of other hosts are left alone. While
        another process holds the write lock past the timeout, what is left stays pending for a later open (a
        pending row is no credential yet, so readers see the same either way).
        """
        settled = 0
        # The state is spelled out, not a parameter, so the partial index on pending rows serves the query.
        for payload, sha256, path, owner in self._rows(
            f"SELECT payload, sha256, path, owner FROM {TABLE} WHERE state = '{PENDING}'"
        ):
            matches = _file_matches(path, sha256)
            try:
                if matches:
                    with self._transaction():
                        self._serialise(OUTPUT_LOCK_KEY)
                        settled += self._settle(payload, path, owner)
                elif matches is False and not _owner_alive(owner):
                    settled += self._forget(payload)
            except LedgerBusy:
                break
        return settled

    @staticmethod
    def _record(row: tuple) -> Record:
        values = dict(zip(RECORD_COLUMNS, row, strict=True))
        values["manifest_store"] = bytes(values["manifest_store"])
        return Record(**values)

    def get(self, payload: str) -> Record | None:
        """The credential recorded for a watermark payload (hex), or None."""
        rows = self._rows(f"{SELECT_RECORD} WHERE payload = ? AND state = ?", (normalise_payload(payload), DONE))
        return self._record(rows[0]) if rows else None

    def fingerprint_candidates(self, hashes: Iterable[int]) -> list[tuple[str, int, int]]:
        """(payload, start_ms, hash) of every completed credential's second that shares a 16-bit chunk with one of
        `hashes`: all those within three bits of one, and a few more."""
        from provenance.fingerprint import chunks

        keys = sorted({chunks(value) for value in hashes})
        found: set[tuple[str, int, int]] = set()
        for start in range(0, len(keys), FINGERPRINT_QUERY_HASHES):
            batch = keys[start:start + FINGERPRINT_QUERY_HASHES]
            marks = ", ".join("?" * len(batch))
            where = " OR ".join(f"f.c{i} IN ({marks})" for i in range(4))
            rows = self._rows(
                f"SELECT f.payload, f.start_ms, f.hash FROM {FINGERPRINT_TABLE} f JOIN {TABLE} c"
                f" ON c.payload = f.payload WHERE c.state = ? AND ({where})",
                (DONE, *(key[i] for i in range(4) for key in batch)))
            found.update((payload, int(start_ms), int(value) % (1 << 64)) for payload, start_ms, value in rows)
        return sorted(found)

    def list(self, limit: int = 50, offset: int = 0) -> list[Record]:
        """Credentials, most recently recorded first."""
        if not (0 <= limit <= MAX_SQL_INTEGER and 0 <= offset <= MAX_SQL_INTEGER):
            raise BadInput(f"limit and offset must be between 0 and {MAX_SQL_INTEGER}")
        rows = self._rows(f"{SELECT_RECORD} WHERE state = ? ORDER BY seq DESC LIMIT ? OFFSET ?", (DONE, limit, offset))
        return [self._record(row) for row in rows]

    def _done_rows(self, columns: str, batch_rows: int, after_seq: int = 0) -> Iterator[tuple]:
        """(seq, *columns) of every completed credential after `after_seq`, oldest first, read in bounded batches."""
        last_seq = after_seq
        while batch := self._rows(
            f"SELECT seq, {columns} FROM {TABLE} WHERE state = ? AND seq > ? ORDER BY seq LIMIT ?",
            (DONE, last_seq, batch_rows),
        ):
            yield from batch
            last_seq = batch[-1][0]

    def payloads(self) -> Iterator[str]:
        """The watermark payload (hex) of every credential, oldest first."""
        return (payload for _, payload in self.payload_rows())

    def payload_rows(self, after_seq: int = 0) -> Iterator[tuple[int, str]]:
        """(sequence number, payload hex) of every credential completed, with a number above `after_seq`, oldest
        first."""
        return ((row[0], row[1]) for row in self._done_rows("payload", PAYLOAD_BATCH_ROWS, after_seq))

    def issued_extent(self) -> tuple[int, int]:
        """(completed credentials, the highest sequence number among them): changes whenever one is added.

        Counted as all rows less the pending ones, so that both counts come from indexes (about 20 ms for a
        million credentials in SQLite) rather than from reading every row.
        """
        count, newest_seq = self._rows(
            f"SELECT (SELECT COUNT(*) FROM {TABLE}) - (SELECT COUNT(*) FROM {TABLE} WHERE state = ?),"
            f" (SELECT MAX(seq) FROM {TABLE} WHERE state = ?)", (PENDING, DONE))[0]
        return int(count), int(newest_seq or 0)

    def __iter__(self) -> Iterator[Record]:
        """Every credential, oldest first, read in bounded batches."""
        return (self._record(row[1:]) for row in self._done_rows(", ".join(RECORD_COLUMNS), EXPORT_BATCH_ROWS))

    def export(self, fp: IO[str]) -> int:
        """Write every credential as JSON Lines (manifest store in base64); returns how many."""
        count = 0
        for record in self:
            fp.write(json.dumps(record.to_dict(include_manifest=True), sort_keys=True) + "\n")
            count += 1
        return count

    def close(self) -> None:
        """Close the connection (idempotent)."""
        with self._lock:
            if self._connection is not None:
                with contextlib.suppress(Exception):
                    self._connection.close()
                self._connection = None

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.where!r})"


class SQLiteLedger(Ledger):
    """One SQLite file in WAL mode: concurrent readers, one writer at a time, durable commits."""

    @classmethod
    def connect(cls, path: Path, timeout_s: float, create: bool = True) -> SQLiteLedger:
        path = path.expanduser().absolute()
        if not path.parent.is_dir():
            raise LedgerError(f"cannot open ledger {path}: folder {path.parent} does not exist")
        if path.is_dir():
            raise LedgerError(f"cannot open ledger {path}: it is a directory")
        if not create and not path.exists():
            raise LedgerError(f"no ledger at {path} (nothing has been signed with it)")
        folder_writable = os.access(path.parent, os.W_OK | os.X_OK)
        writable = folder_writable and (not path.exists() or os.access(path, os.W_OK))
        target: str | Path = path
        if not writable:
            # Without a write-ahead log beside it the file holds every commit, so it can be read as it is even
            # where SQLite could not create its shared-memory file.
            wal_pending = path.with_name(path.name + "-wal").exists()
            target = f"{path.as_uri()}?mode=ro" + ("" if folder_writable or wal_pending else "&immutable=1")
        try:
            # No busy handler of SQLite's own: `_execute` waits for locks itself, see there.
            connection = sqlite3.connect(target, timeout=0, isolation_level=None, check_same_thread=False,
                                         uri=not writable)
        except sqlite3.Error as exc:
            raise LedgerError(f"cannot open ledger {path}: {exc}") from None
        settings = [("PRAGMA journal_mode = WAL", ()), ("PRAGMA synchronous = FULL", ())] if writable else []
        return cls._configured(connection, str(path), timeout_s, settings, writable)

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.OperationalError as exc:
            if _is_busy(exc):
                raise LedgerBusy(
                    f"ledger {self.where} is locked by another process (gave up after {self.timeout_s:g} s)"
                ) from None
            raise LedgerError(f"ledger {self.where}: {exc}") from None
        except sqlite3.DatabaseError as exc:
            raise LedgerError(f"{self.where} is not a ledger database ({exc})") from None

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        with self._lock, self._errors():
            # IMMEDIATE takes the write lock up front, so two writers never deadlock upgrading a read lock.
            self._execute("BEGIN IMMEDIATE")
            try:
                yield
                self._connection.execute("COMMIT")
            except BaseException:
                if self._connection.in_transaction:
                    self._connection.execute("ROLLBACK")
                raise

    def _execute(self, sql: str, params: tuple = ()) -> sqlite3.Cursor:
        # SQLite's busy handler backs off to 100 ms sleeps, so a writer waiting behind busy writers can starve
        # for seconds; polling every millisecond or two, with jitter, gives every waiter its turn.
        deadline = time.monotonic() + self.timeout_s
        while True:
            try:
                return self._open_connection().execute(sql, params)
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or time.monotonic() >= deadline:
                    raise
            time.sleep(random.uniform(0, MAX_LOCK_POLL_S))

    def _tables(self) -> set[str]:
        return {name for (name,) in self._rows("SELECT name FROM sqlite_master WHERE type = 'table'")}

    def _schema_statements(self, existing_tables: set[str]) -> list[str]:
        if existing_tables:
            raise LedgerError(f"{self.where} is not a ledger database (it holds other tables)")
        return [s.format(serial="INTEGER PRIMARY KEY AUTOINCREMENT", blob="BLOB") for s in SCHEMA]


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    return "locked" in str(exc) or "busy" in str(exc)


def _redact(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


class PostgresLedger(Ledger):
    """A PostgreSQL database shared by several generation hosts (psycopg 3)."""

    placeholder = "%s"

    @classmethod
    def connect(cls, url: str, timeout_s: float) -> PostgresLedger:
        import psycopg

        where = _redact(url)
        try:
            connection = psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S)
        except psycopg.Error as exc:
            raise LedgerError(f"cannot connect to ledger {where}: {_first_line(exc)}") from None
        lock_timeout = f"{round(timeout_s * 1000)}ms"
        return cls._configured(connection, where, timeout_s,
                               [("SELECT set_config('lock_timeout', ?, false)", (lock_timeout,))])

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        import psycopg

        try:
            yield
        except psycopg.errors.LockNotAvailable:
            raise LedgerBusy(
                f"ledger {self.where} is locked by another session (gave up after {self.timeout_s:g} s)"
            ) from None
        except psycopg.Error as exc:
            raise LedgerError(f"ledger {self.where}: {_first_line(exc)}") from None

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        with self._lock, self._errors(), self._open_connection().transaction():
            yield

    def _tables(self) -> set[str]:
        rows = self._rows(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
            " AND table_name IN (?, ?)", (META_TABLE, TABLE),
        )
        return {name for (name,) in rows}

    def _serialise(self, key: int) -> None:
        self._execute("SELECT pg_advisory_xact_lock(?)", (key,))

    def _schema_statements(self, existing_tables: set[str]) -> list[str]:
        # A shared database may hold other tables; only a half-made ledger of our own is a problem.
        if TABLE in existing_tables:
            raise LedgerError(f"ledger {self.where} has a {TABLE} table but no schema version")
        return [s.format(serial="BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY", blob="BYTEA") for s in SCHEMA]


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
