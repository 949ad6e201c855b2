"""The ledger, the same tests on SQLite and on a real PostgreSQL server: records, concurrency, crashes, bad files."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import multiprocessing
import multiprocessing.pool
import os
import random
import signal
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest
from cli_helpers import run, run_json, run_obeying_permissions

from conftest import scene_frames
from provenance import media, signing
from provenance.errors import LedgerError
from provenance.files import WORK_TAG
from provenance.ledger import Ledger, Record
from provenance.signing import Generation, Stamper

WRITERS = 8
RECORDS_PER_WRITER = 50
CONTESTED_PAYLOADS = 10
KILL_ROUNDS = 5
SIGNINGS_PER_WRITER = 10
MAX_KILL_DELAY_S = 0.4
LOCK_TIMEOUT_S = 0.5
SPAWN = multiprocessing.get_context("spawn")




@pytest.fixture(scope="module")
def workers() -> Iterator[multiprocessing.pool.Pool]:
    """WRITERS spawned processes, started once for the concurrency tests."""
    with SPAWN.Pool(WRITERS) as pool:
        yield pool


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A one-second 128x96 H.264 clip: enough for a real signing in a few tens of milliseconds."""
    path = tmp_path_factory.mktemp("ledger-clips") / "tiny.mp4"
    media.write_video(path, scene_frames(128, 96, 24, seed=5), fps=24)
    return path


def make_record(path: Path, payload: str) -> Record:
    """A record of signing a clip into `path` whose content is the payload itself (see `write_clip`)."""
    return Record(
        payload=payload, sha256=hashlib.sha256(payload.encode()).hexdigest(),
        manifest_store=b"\x00c2pa" + payload.encode(),
        signer="CN=Test signing,O=Test", signer_chain_pem="-----BEGIN CERTIFICATE-----\n...", model="procedural-1",
        created_at="2026-11-24T05:00:00+00:00", path=str(path.resolve()), claim_generator="provenance 0.1.0",
    )


def write_clip(record: Record) -> None:
    """Put the signed file of `make_record` in place."""
    Path(record.path).write_bytes(record.payload.encode())


def raw_execute(url: str, sql: str) -> None:
    """Run one statement on the ledger's database behind its back."""
    if url.startswith("postgresql://"):
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute(sql)
    else:
        with contextlib.closing(sqlite3.connect(url, isolation_level=None)) as connection:
            connection.execute(sql)


@contextlib.contextmanager
def write_lock_held(url: str) -> Iterator[None]:
    """Another client holding the ledger's write lock until the block ends."""
    if url.startswith("postgresql://"):
        with psycopg.connect(url) as connection:
            connection.execute("LOCK TABLE ledger_credentials IN ACCESS EXCLUSIVE MODE")
            yield
            connection.rollback()
    else:
        with contextlib.closing(sqlite3.connect(url, isolation_level=None)) as connection:
            connection.execute("BEGIN IMMEDIATE")
            yield
            connection.execute("ROLLBACK")


def count_rows(url: str, state: str) -> int:
    query = "SELECT count(*) FROM ledger_credentials WHERE state = %s"
    if url.startswith("postgresql://"):
        with psycopg.connect(url) as connection:
            return connection.execute(query, (state,)).fetchone()[0]
    with contextlib.closing(sqlite3.connect(url)) as connection:
        return connection.execute(query.replace("%s", "?"), (state,)).fetchone()[0]


# -- workers run in separate processes (spawned: no state shared with the test process) ---------------------------


def begin_and_exit(url: str, records: list[Record]) -> None:
    """Begin signings, then die before completing them."""
    ledger = Ledger.open(url)
    for record in records:
        ledger.begin(record)
    os._exit(0)


def write_records(url: str, out_dir: Path, writer: int) -> int:
    """Record RECORDS_PER_WRITER signings of its own, then race for the contested payloads; returns how many won."""
    with Ledger.open(url) as ledger:
        for index in range(RECORDS_PER_WRITER):
            record = make_record(out_dir / f"w{writer}-{index}.mp4", f"{writer:04x}{index:012x}")
            ledger.begin(record)
            ledger.complete(record.payload)
        won = 0
        for index in range(CONTESTED_PAYLOADS):
            record = make_record(out_dir / f"w{writer}-contested-{index}.mp4", f"ffff{index:012x}")
            try:
                ledger.begin(record)
            except LedgerError:
                continue
            ledger.complete(record.payload)
            won += 1
        return won


def sign_clips(home: Path, url: str, src: Path, out_dir: Path, prefix: str, count: int, ready=None) -> list[str]:
    """Really sign `src` `count` times into `out_dir`; set `ready` once the first signing is done."""
    payloads = []
    with Stamper(home, ledger=url) as stamper:
        for index in range(count):
            payloads.append(stamper.sign_clip(src, out_dir / f"{prefix}{index}.mp4", Generation(model="m")).payload)
            if ready is not None:
                ready.set()
    return payloads


def sign_and_die(home: Path, url: str, src: Path, dst: Path, when: str) -> None:
    """Really sign `src` into `dst`, SIGKILLing this process just `when` ("before"/"after") its output is placed."""
    real_move = signing.move_into_place

    def move_then_die(source: Path, target: Path, overwrite: bool) -> None:
        if when == "after":
            real_move(source, target, overwrite)
        os.kill(os.getpid(), signal.SIGKILL)

    signing.move_into_place = move_then_die
    with Stamper(home, ledger=url) as stamper:
        stamper.sign_clip(src, dst, Generation(model="m"))


# -- records -------------------------------------------------------------------------------------------------------


def test_a_completed_signing_is_found_by_its_payload(ledger_url: str, tmp_path: Path) -> None:
    record = make_record(tmp_path / "a.mp4", "0123abcd0123abcd")
    with Ledger.open(ledger_url) as ledger:
        ledger.begin(record)
        assert ledger.get(record.payload) is None and ledger.list() == []  # pending is not yet a credential
        ledger.complete(record.payload)
    with Ledger.open(ledger_url) as ledger:
        found = ledger.get("0123ABCD0123ABCD")
    assert found == replace(record, state="done")
    summary = json.loads(json.dumps(found.to_dict()))
    assert summary["payload"] == record.payload and summary["manifest_bytes"] == len(record.manifest_store)
    assert "manifest_store" not in summary
    full = found.to_dict(include_manifest=True)
    assert base64.b64decode(full["manifest_store"]) == record.manifest_store
    assert full["signer_chain_pem"] == record.signer_chain_pem


def test_a_payload_is_recorded_only_once(ledger_url: str, tmp_path: Path) -> None:
    first = make_record(tmp_path / "a.mp4", "00000000000000aa")
    second = make_record(tmp_path / "b.mp4", "00000000000000AA")
    with Ledger.open(ledger_url) as ledger:
        ledger.begin(first)
        with pytest.raises(LedgerError, match="payload 00000000000000aa already recorded"):
            ledger.begin(second)
        ledger.complete(first.payload)
        with pytest.raises(LedgerError, match="already recorded"):
            ledger.begin(second)
        assert ledger.get(first.payload).path == first.path


def test_an_abandoned_signing_leaves_no_row(ledger_url: str, tmp_path: Path) -> None:
    record = make_record(tmp_path / "a.mp4", "00000000000000bb")
    with Ledger.open(ledger_url) as ledger:
        ledger.begin(record)
        ledger.abandon(record.payload)
        assert count_rows(ledger_url, "pending") == 0
        with pytest.raises(LedgerError, match="no pending signing"):
            ledger.complete(record.payload)
        ledger.begin(record)  # the payload is free again
        ledger.complete(record.payload)
        assert ledger.get(record.payload) is not None


def test_records_that_cannot_be_served_back_are_refused(ledger_url: str, tmp_path: Path) -> None:
    record = make_record(tmp_path / "a.mp4", "00000000000000cc")
    with Ledger.open(ledger_url) as ledger:
        for bad in (replace(record, path="relative.mp4"), replace(record, sha256="xyz"),
                    replace(record, created_at="yesterday"), replace(record, created_at="2026-11-24T05:00:00")):
            with pytest.raises(LedgerError):
                ledger.begin(bad)
        assert count_rows(ledger_url, "pending") == 0


def test_list_is_newest_first_and_export_is_json_lines(ledger_url: str, tmp_path: Path) -> None:
    records = [make_record(tmp_path / f"{index}.mp4", f"{index:016x}") for index in range(5)]
    with Ledger.open(ledger_url) as ledger:
        for record in records:
            ledger.begin(record)
            ledger.complete(record.payload)
        assert [r.payload for r in ledger.list()] == [r.payload for r in reversed(records)]
        assert [r.payload for r in ledger.list(limit=2, offset=1)] == [records[3].payload, records[2].payload]
        stream = io.StringIO()
        assert ledger.export(stream) == len(records)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["payload"] for line in lines] == [r.payload for r in records]
    assert [base64.b64decode(line["manifest_store"]) for line in lines] == [r.manifest_store for r in records]


def test_a_replaced_file_keeps_its_credential_marked_replaced(ledger_url: str, tmp_path: Path) -> None:
    first, second, third = (make_record(tmp_path / "a.mp4", f"{index:016x}") for index in (0xe1, 0xe2, 0xe3))
    elsewhere = make_record(tmp_path / "b.mp4", "00000000000000e4")
    with Ledger.open(ledger_url) as ledger:
        for record in (first, elsewhere, second, third):
            ledger.begin(record)
            ledger.complete(record.payload, put_in_place=lambda record=record: write_clip(record))
        replaced_by = {record.payload: ledger.get(record.payload).replaced_by for record in ledger}
    assert replaced_by == {first.payload: second.payload, second.payload: third.payload, third.payload: None,
                           elsewhere.payload: None}  # every credential still found, the file's own unmarked


def test_a_version_1_ledger_is_upgraded_when_opened(ledger_url: str, tmp_path: Path) -> None:
    old, new = make_record(tmp_path / "a.mp4", "00000000000000f5"), make_record(tmp_path / "a.mp4", "00000000000000f6")
    with Ledger.open(ledger_url) as ledger:
        ledger.begin(old)
        ledger.complete(old.payload)
    for statement in ("DROP INDEX ledger_credentials_path", "ALTER TABLE ledger_credentials DROP COLUMN replaced_by",
                      "DROP TABLE ledger_fingerprints",
                      "UPDATE ledger_meta SET value = '1' WHERE name = 'schema_version'"):
        raw_execute(ledger_url, statement)
    with Ledger.open(ledger_url) as ledger:
        assert ledger.get(old.payload) == replace(old, state="done")
        ledger.begin(new)
        ledger.complete(new.payload)
        assert ledger.get(old.payload).replaced_by == new.payload


@pytest.mark.parametrize("option", ["--limit", "--offset"])
def test_a_page_beyond_what_a_database_counts_is_one_clear_line(option: str, ledger_url: str) -> None:
    Ledger.open(ledger_url).close()
    result = run("ledger", "list", option, str(2**64), "--ledger", ledger_url)
    assert result.exit_code == 1 and result.stderr == f"error: limit and offset must be between 0 and {2**63 - 1}\n"


def test_issued_payloads_are_the_completed_ones_oldest_first(ledger_url: str, tmp_path: Path) -> None:
    records = [make_record(tmp_path / f"{index}.mp4", f"{index + 100:016x}") for index in range(4)]
    with Ledger.open(ledger_url) as ledger:
        for record in records:
            ledger.begin(record)
        for record in records[:3]:
            ledger.complete(record.payload)
        assert list(ledger.payloads()) == [r.payload for r in records[:3]], "a pending signing issued nothing yet"


# -- crashes and concurrency --------------------------------------------------------------------------------------


def test_reconcile_settles_the_pending_rows_of_a_dead_process(ledger_url: str, tmp_path: Path) -> None:
    renamed = make_record(tmp_path / "renamed.mp4", "00000000000000d1")  # died after the rename
    write_clip(renamed)
    missing = make_record(tmp_path / "missing.mp4", "00000000000000d2")  # died before the rename
    stale = make_record(tmp_path / "stale.mp4", "00000000000000d3")  # an older file still at the output path
    Path(stale.path).write_bytes(b"an older clip")
    in_flight = make_record(tmp_path / "in-flight.mp4", "00000000000000d4")  # this live process, still signing
    with Ledger.open(ledger_url) as ledger:
        ledger.begin(in_flight)
    child = SPAWN.Process(target=begin_and_exit, args=(ledger_url, [renamed, missing, stale]))
    child.start()
    child.join()
    assert count_rows(ledger_url, "pending") == 4
    with Ledger.open(ledger_url) as ledger:  # opening reconciles
        assert ledger.get(renamed.payload) == replace(renamed, state="done")
        assert ledger.get(missing.payload) is None and ledger.get(stale.payload) is None
        assert count_rows(ledger_url, "pending") == 1
        ledger.complete(in_flight.payload)
        assert [r.payload for r in ledger.list()] == [renamed.payload, in_flight.payload]


def test_concurrent_writers_lose_no_row_and_duplicate_no_payload(ledger_url: str, workers, tmp_path: Path) -> None:
    won = workers.starmap(write_records, [(ledger_url, tmp_path, writer) for writer in range(WRITERS)])
    assert sum(won) == CONTESTED_PAYLOADS
    with Ledger.open(ledger_url) as ledger:
        payloads = [record.payload for record in ledger.list(limit=10 * WRITERS * RECORDS_PER_WRITER)]
    assert len(payloads) == len(set(payloads)) == WRITERS * RECORDS_PER_WRITER + CONTESTED_PAYLOADS
    assert count_rows(ledger_url, "pending") == 0


def test_concurrent_real_signings_all_land_in_one_ledger(ledger_url: str, workers, home: Path, tiny_clip: Path,
                                                         tmp_path: Path) -> None:
    payloads = workers.starmap(sign_clips, [(home, ledger_url, tiny_clip, tmp_path, f"w{writer}-", SIGNINGS_PER_WRITER)
                                            for writer in range(WRITERS)])
    flat = [payload for batch in payloads for payload in batch]
    assert len(set(flat)) == WRITERS * SIGNINGS_PER_WRITER
    with Ledger.open(ledger_url) as ledger:
        for payload in flat:
            record = ledger.get(payload)
            assert record is not None and hashlib.sha256(Path(record.path).read_bytes()).hexdigest() == record.sha256


def test_a_signing_killed_anywhere_leaves_file_and_row_or_neither(ledger_url: str, home: Path, tiny_clip: Path,
                                                                  tmp_path: Path) -> None:
    rng = random.Random(20261124)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    for round_index in range(KILL_ROUNDS):
        ready = SPAWN.Event()
        child = SPAWN.Process(target=sign_clips,
                              args=(home, ledger_url, tiny_clip, out_dir, f"r{round_index}-", 10_000, ready))
        child.start()
        assert ready.wait(60), "the signing process did not start"
        time.sleep(rng.uniform(0, MAX_KILL_DELAY_S))
        child.kill()
        child.join()
        with Ledger.open(ledger_url) as ledger:  # opening reconciles what the killed process left
            recorded = {record.path: record.sha256 for record in ledger}
        on_disk = {str(path.resolve()): hashlib.sha256(path.read_bytes()).hexdigest()
                   for path in out_dir.glob("*.mp4")}
        assert len(on_disk) > round_index and recorded == on_disk, f"round {round_index}"
        assert count_rows(ledger_url, "pending") == 0


@pytest.mark.parametrize("when", ["before", "after"])
def test_a_signing_killed_around_the_rename_leaves_file_and_row_or_neither(
        ledger_url: str, home: Path, tiny_clip: Path, tmp_path: Path, when: str) -> None:
    dst = tmp_path / "clip.mp4"
    child = SPAWN.Process(target=sign_and_die, args=(home, ledger_url, tiny_clip, dst, when))
    child.start()
    child.join()
    assert child.exitcode == -signal.SIGKILL
    assert count_rows(ledger_url, "pending") == 1
    with Ledger.open(ledger_url) as ledger:
        records = list(ledger)
    assert count_rows(ledger_url, "pending") == 0
    if when == "before":
        assert not dst.exists() and records == []
    else:
        [record] = records
        assert record.path == str(dst) and hashlib.sha256(dst.read_bytes()).hexdigest() == record.sha256
    assert any(WORK_TAG in path.name for path in tmp_path.iterdir())  # the killed process's work folder
    sign_clips(home, ledger_url, tiny_clip, tmp_path, "next-", 1)
    assert [path.name for path in tmp_path.iterdir() if path.name.startswith(".")] == []  # tidied by the next


def test_a_locked_ledger_gives_a_clear_error(ledger_url: str, tmp_path: Path) -> None:
    record = make_record(tmp_path / "a.mp4", "00000000000000ee")
    with Ledger.open(ledger_url, timeout_s=LOCK_TIMEOUT_S) as ledger:
        with write_lock_held(ledger_url):
            started = time.monotonic()
            with pytest.raises(LedgerError, match="is locked by another") as error:
                ledger.begin(record)
            assert time.monotonic() - started < LOCK_TIMEOUT_S + 5
            assert "\n" not in str(error.value)
        ledger.begin(record)  # usable again once the lock is gone
        ledger.complete(record.payload)
        assert ledger.get(record.payload) is not None


def test_a_held_write_lock_leaves_dead_signings_pending_but_the_ledger_readable(tmp_path: Path) -> None:
    url = str(tmp_path / "ledger.sqlite")
    done = make_record(tmp_path / "a.mp4", "00000000000000d8")
    dead = make_record(tmp_path / "b.mp4", "00000000000000d9")
    with Ledger.open(url) as ledger:
        ledger.begin(done)
        ledger.complete(done.payload)
    child = SPAWN.Process(target=begin_and_exit, args=(url, [dead]))  # died before its rename
    child.start()
    child.join()
    with write_lock_held(url), Ledger.open(url, timeout_s=LOCK_TIMEOUT_S) as ledger:
        assert [record.payload for record in ledger.list()] == [done.payload]
        assert count_rows(url, "pending") == 1  # left for a later open
    Ledger.open(url).close()
    assert count_rows(url, "pending") == 0


def test_a_newer_schema_is_refused(ledger_url: str) -> None:
    Ledger.open(ledger_url).close()
    raw_execute(ledger_url, "UPDATE ledger_meta SET value = '99' WHERE name = 'schema_version'")
    with pytest.raises(LedgerError, match="schema version 99, newer"):
        Ledger.open(ledger_url)


# -- the command --------------------------------------------------------------------------------------------------


def test_a_stripped_clip_is_traced_back_and_the_ledger_commands_show_it(ledger_url: str, home: Path, clip: Path,
                                                                         tmp_path: Path) -> None:
    signed = [run_json("sign", clip, "-o", tmp_path / f"signed{index}.mp4", "--model", f"model-{index}",
                       "--ledger", ledger_url, home=home)[0] for index in range(2)]
    stripped = tmp_path / "stripped.mp4"
    media.remux(signed[0]["path"], stripped)  # manifest gone: only the watermark and the ledger remain
    [report] = run_json("verify", stripped, "--ledger", ledger_url, "--trust-anchors", home / "ca.pem", home=home)
    assert report["watermark"]["payload"] == signed[0]["payload"]
    assert report["ledger"]["found"] and report["ledger"]["manifest"]["generator"] == "model-0"

    listed = run_json("ledger", "list", "--ledger", ledger_url, home=home)
    assert [(row["payload"], row["model"]) for row in listed] == [(signed[1]["payload"], "model-1"),
                                                                  (signed[0]["payload"], "model-0")]
    shown = run("ledger", "show", signed[0]["payload"].upper(), "--ledger", ledger_url, home=home)
    assert shown.exit_code == 0
    record = json.loads(shown.stdout)
    assert run_json("ledger", "show", signed[0]["payload"], "--ledger", ledger_url, home=home) == [record]
    assert record["sha256"] == signed[0]["sha256"] and base64.b64decode(record["manifest_store"])
    export = tmp_path / "ledger.jsonl"
    assert run("ledger", "export", "-o", export, "--ledger", ledger_url, home=home).exit_code == 0
    assert sorted(json.loads(line)["payload"] for line in export.read_text().splitlines()) == sorted(
        row["payload"] for row in signed)
    missing = run("ledger", "show", "ffffffffffffffff", "--ledger", ledger_url, home=home)
    assert missing.exit_code != 0 and len(missing.stderr.strip().splitlines()) == 1


# -- SQLite files and URLs -----------------------------------------------------------------------------------------


def test_the_default_ledger_is_a_wal_sqlite_file_in_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    record = make_record(tmp_path / "a.mp4", "00000000000000f1")
    with Ledger.open(home=tmp_path) as ledger:
        ledger.begin(record)
        ledger.complete(record.payload)
    path = tmp_path / "ledger.sqlite"
    with contextlib.closing(sqlite3.connect(path)) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    monkeypatch.setenv("PROVENANCE_HOME", str(tmp_path))
    for url in (None, path, f"sqlite://{path}"):
        with Ledger.open(url) as ledger:
            assert ledger.get(record.payload) is not None
    elsewhere = tmp_path / "shared.sqlite"
    monkeypatch.setenv("PROVENANCE_LEDGER", str(elsewhere))  # configured once for every signing on this host
    with Ledger.open(home=tmp_path) as ledger:
        assert ledger.get(record.payload) is None
    assert elsewhere.exists()


def test_a_corrupt_file_is_not_a_ledger(tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.sqlite"
    corrupt.write_bytes(random.Random(1).randbytes(8192))
    with pytest.raises(LedgerError, match="is not a ledger database") as error:
        Ledger.open(corrupt)
    assert "\n" not in str(error.value)
    damaged = tmp_path / "damaged.sqlite"
    with Ledger.open(damaged) as ledger:
        for index in range(50):
            ledger.begin(make_record(tmp_path / f"{index}.mp4", f"{index:016x}"))
    with open(damaged, "r+b") as stream:  # keep the header page, scramble the rest
        stream.seek(4096)
        stream.write(random.Random(2).randbytes(damaged.stat().st_size - 4096))
    with pytest.raises(LedgerError, match="is not a ledger database"):
        Ledger.open(damaged).list()
    other = tmp_path / "other.sqlite"
    raw_execute(str(other), "CREATE TABLE photos (id INTEGER)")
    with pytest.raises(LedgerError, match="is not a ledger database"):
        Ledger.open(other)


@pytest.mark.parametrize(("url", "message"), [
    ("mysql://ledger@db/ledger", "unsupported ledger URL scheme 'mysql'"),
    ("/no/such/folder/ledger.sqlite", "folder /no/such/folder does not exist"),
])
def test_a_ledger_that_cannot_be_opened_gives_a_clear_error(url: str, message: str) -> None:
    with pytest.raises(LedgerError, match=message):
        Ledger.open(url)


def test_an_unreachable_server_gives_one_line_without_the_password() -> None:
    with pytest.raises(LedgerError, match="cannot connect to ledger") as error:
        Ledger.open("postgresql://ledger:hunter2@127.0.0.1:1/postgres")
    assert "hunter2" not in str(error.value) and "\n" not in str(error.value)


def test_a_schema_version_that_is_not_a_number_is_not_a_ledger(tmp_path: Path) -> None:
    url = str(tmp_path / "odd.sqlite")
    raw_execute(url, "CREATE TABLE ledger_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
    raw_execute(url, "INSERT INTO ledger_meta VALUES ('schema_version', 'abc')")
    with pytest.raises(LedgerError, match="is not a ledger database \\(schema version 'abc'\\)"):
        Ledger.open(url)


def test_reading_commands_never_create_a_ledger(ledger_url: str) -> None:
    for command in (["list"], ["show", "00"], ["export"]):
        result = run("ledger", *command, "--ledger", ledger_url)
        assert result.exit_code == 1 and "(nothing has been signed with it)" in result.stderr
        assert len(result.stderr.splitlines()) == 1
    with pytest.raises(LedgerError, match="nothing has been signed with it"):  # still no ledger there
        Ledger.open(ledger_url, create=False)
    assert "://" in ledger_url or not Path(ledger_url).exists()  # not even an empty SQLite file
    Ledger.open(ledger_url).close()
    result = run("ledger", "list", "--ledger", ledger_url)
    assert result.exit_code == 0 and result.stdout == "" and result.stderr.startswith("no credentials in ")


def test_a_read_only_ledger_is_read_and_refuses_signings(home: Path, tiny_clip: Path, tmp_path: Path) -> None:
    folder = tmp_path / "read-only"
    folder.mkdir()
    url = folder / "ledger.sqlite"
    [payload] = sign_clips(home, str(url), tiny_clip, tmp_path, "ro-", 1)
    url.chmod(0o444)
    folder.chmod(0o555)
    try:
        listed = run_obeying_permissions("ledger", "list", "--json", "--ledger", url)
        signing = run_obeying_permissions("sign", tiny_clip, "-o", tmp_path / "more.mp4", "--ledger", url,
                                          "--home", home)
    finally:
        folder.chmod(0o755)
    assert listed.returncode == 0 and json.loads(listed.stdout)["payload"] == payload, listed.stderr
    assert signing.returncode == 1
    assert signing.stderr == f"error: ledger {url} is read-only here; every signing must be recorded in it\n"
    assert not (tmp_path / "more.mp4").exists()
