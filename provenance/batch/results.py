"""The batch's output table: one row per clip, written as each clip finishes, so a run can be resumed.

Finished rows are appended at once to journals (JSON Lines) in OUTPUT.parts/ beside OUTPUT; at the end of a
run, OUTPUT and the journals are merged into a new OUTPUT (written beside it, then renamed) and the journals
are removed. A run that is killed leaves its journals: the next run with the same OUTPUT counts their rows as
done. A clip is done when a row has its path, size and mtime; the newest row for a path is the one kept.
Rows of tables written before the outside-evidence columns (OUTSIDE_COLUMNS) get them from their `report`.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from provenance.batch.inputs import Clip
from provenance.errors import BadInput
from provenance.files import atomic_output, check_output

if TYPE_CHECKING:
    import pyarrow as pa

PARQUET_SUFFIXES = (".parquet",)
JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")
JOURNAL_ROWS = 1000  # rows per journal file before the next one is started
WRITE_BATCH_ROWS = 1000  # rows held in memory while OUTPUT is written
OUTSIDE_COLUMNS = ("c2pa_trust", "c2pa_issuer", "other_marks", "ledger_match")  # see `outside_evidence`


def schema() -> pa.Schema:
    """The Parquet schema of a result row (the JSON Lines rows have the same fields)."""
    import pyarrow as pa

    text, real, flag = pa.string(), pa.float64(), pa.bool_()
    return pa.schema([
        ("path", text), ("size", pa.int64()), ("mtime_ns", pa.int64()), ("verdict", text),
        ("evidence", pa.list_(text)),
        ("watermark", pa.struct([("detected", flag), ("state", text), ("p_value", real), ("frames", pa.int64())])),
        ("payload", text),
        ("manifest", pa.struct([("source", text), ("validation_state", text), ("ai_generated", flag),
                                ("generator", text), ("signer", text), ("signer_trusted", flag),
                                ("claim_generator", text), ("created_at", text)])),
        ("c2pa_trust", text), ("c2pa_issuer", text),
        ("other_marks", pa.list_(pa.struct([("issuer", text), ("algorithm", text), ("state", text),
                                            ("frames", pa.int64()), ("marked_frames", pa.int64())]))),
        ("ledger_match", text),
        ("detector_score", real), ("detector_model", text), ("error", text),
        ("timing", pa.struct([("seconds", real), ("cpu_seconds", real), ("worker", text), ("started_at", text)])),
        ("report", text),
    ])


def to_row(clip: Clip, result: dict) -> dict:
    """The row for one clip from its `verify_clip` object (`report` holds that object whole, as JSON)."""
    report = {key: value for key, value in result.items() if key != "timing"}
    watermark = result["watermark"]
    return {
        "path": clip.path, "size": clip.size, "mtime_ns": clip.mtime_ns, "verdict": result["verdict"],
        "evidence": result["evidence"],
        "watermark": {key: watermark.get(key) for key in ("detected", "state", "p_value", "frames")},
        "payload": watermark.get("payload"), "manifest": manifest_summary(result), **outside_evidence(result),
        "detector_score": result["detector"].get("score"), "detector_model": result["detector"].get("model"),
        "error": result["error"], "timing": result.get("timing"), "report": json.dumps(report),
    }


def outside_evidence(result: dict) -> dict:
    """The OUTSIDE_COLUMNS of a `verify_clip` object: which trust list trusts the embedded manifest's signer
    (`c2pa.trust`) and its issuer, other issuers' marks (`watermark.others`), and how the ledger matched the clip
    ("watermark" or "fingerprint")."""
    return {"c2pa_trust": result["c2pa"].get("trust"), "c2pa_issuer": result["c2pa"].get("issuer"),
            "other_marks": result["watermark"].get("others", []), "ledger_match": result["ledger"].get("match")}


def _completed(row: dict) -> dict:
    """A row with the OUTSIDE_COLUMNS, taken from its report when it was written before they existed."""
    if all(column in row for column in OUTSIDE_COLUMNS):
        return row
    return {**row, **outside_evidence(json.loads(row["report"]))}


def manifest_summary(result: dict) -> dict | None:
    """The manifest a clip carries ("embedded"), else the one the ledger holds for its watermark ("ledger")."""
    if result["c2pa"]["present"]:
        source, manifest = "embedded", result["c2pa"]
    elif result["ledger"].get("found"):
        source, manifest = "ledger", result["ledger"]["manifest"]
    else:
        return None
    fields = ("validation_state", "ai_generated", "generator", "signer", "signer_trusted", "claim_generator",
              "created_at")
    return {"source": source, **{key: manifest.get(key) for key in fields}}


class Results:
    """OUTPUT and its journals: what is done, appending rows as they finish, and the final merge."""

    def __init__(self, output: str | os.PathLike, protect: Iterable[str | os.PathLike] = ()) -> None:
        self.output = Path(output)
        suffix = self.output.suffix.lower()
        if suffix not in PARQUET_SUFFIXES + JSONL_SUFFIXES:
            raise BadInput(f"output {self.output}: name it .parquet (a Parquet table) or .jsonl (JSON Lines)")
        self.parquet = suffix in PARQUET_SUFFIXES
        self.protect = list(protect)
        check_output(self.output, self.protect)
        self.parts = self.output.with_name(self.output.name + ".parts")
        self._stream = None
        self._rows_in_journal = 0
        self._winners: dict[str, tuple[int, int]] = {}  # path -> (source, row) of its newest row

    def done(self) -> dict[str, tuple[int | None, int | None]]:
        """Path -> (size, mtime_ns) of every clip with a row in OUTPUT or a journal (the newest row counts)."""
        done: dict[str, tuple[int | None, int | None]] = {}
        self._winners = {}
        for source, rows in enumerate(self._sources()):
            for index, row in enumerate(rows):
                done[row["path"]] = (row["size"], row["mtime_ns"])
                self._winners[row["path"]] = (source, index)
        return done

    def append(self, row: dict) -> None:
        """Add a finished clip's row to this run's journal at once (a killed run keeps it)."""
        if self._stream is None or self._rows_in_journal >= JOURNAL_ROWS:
            self._start_journal()
        self._stream.write(json.dumps(row) + "\n")
        self._stream.flush()
        self._rows_in_journal += 1

    def merge(self) -> int:
        """Write OUTPUT anew from OUTPUT and the journals (one row per path, the newest); returns the row count."""
        self._close_journal()
        self.done()
        rows = (row for source, stream in enumerate(self._sources()) for index, row in enumerate(stream)
                if self._winners[row["path"]] == (source, index))
        with atomic_output(self.output, protect=self.protect) as tmp:
            count = self._write_parquet(tmp, rows) if self.parquet else self._write_jsonl(tmp, rows)
        shutil.rmtree(self.parts, ignore_errors=True)
        return count

    def _sources(self) -> Iterator[Iterator[dict]]:
        """Rows of OUTPUT, then of each journal, oldest first (a journal cut short by a kill ends early)."""
        if self.output.exists():
            yield map(_completed, self._read_output())
        if self.parts.is_dir():
            for journal in sorted(self.parts.glob("*.jsonl")):
                yield map(_completed, _read_jsonl(journal, torn_ok=True))

    def _read_output(self) -> Iterator[dict]:
        if not self.parquet:
            return _read_jsonl(self.output, torn_ok=False)
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            table = pq.ParquetFile(self.output)
        except (pa.ArrowException, OSError) as exc:
            raise BadInput(f"output {self.output} exists and is not a Parquet table ({exc})") from None
        missing = set(schema().names) - set(OUTSIDE_COLUMNS) - set(table.schema_arrow.names)
        if missing:
            raise BadInput(f"output {self.output} exists and is not a batch result table "
                           f"(no {', '.join(sorted(missing))})")
        return (row for batch in table.iter_batches(batch_size=WRITE_BATCH_ROWS) for row in batch.to_pylist())

    def _start_journal(self) -> None:
        self._close_journal()
        self.parts.mkdir(exist_ok=True)
        name = f"run-{time.time_ns():020d}-{os.getpid()}.jsonl"
        self._stream = (self.parts / name).open("x", encoding="utf-8")
        self._rows_in_journal = 0

    def _close_journal(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None

    def _write_parquet(self, path: Path, rows: Iterator[dict]) -> int:
        import pyarrow as pa
        import pyarrow.parquet as pq

        count, table_schema = 0, schema()
        with pq.ParquetWriter(path, table_schema) as writer:
            for chunk in _chunks(rows, WRITE_BATCH_ROWS):
                writer.write_table(pa.Table.from_pylist(chunk, schema=table_schema))
                count += len(chunk)
        return count

    @staticmethod
    def _write_jsonl(path: Path, rows: Iterator[dict]) -> int:
        count = 0
        with path.open("w", encoding="utf-8") as stream:
            for row in rows:
                stream.write(json.dumps(row) + "\n")
                count += 1
        return count


def _read_jsonl(path: Path, torn_ok: bool) -> Iterator[dict]:
    """Rows of a JSON Lines file; a journal's last line may be cut short by a kill and is then skipped."""
    with path.open(encoding="utf-8") as stream:
        for number, line in enumerate(stream, 1):
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                if torn_ok and not line.endswith("\n"):
                    return
                raise BadInput(f"{path}, line {number}: not a batch result row") from None
            if not isinstance(row, dict) or not {"path", "size", "mtime_ns"} <= row.keys():
                raise BadInput(f"{path}, line {number}: not a batch result row")
            yield row


def _chunks(rows: Iterator[dict], size: int) -> Iterator[list[dict]]:
    chunk: list[dict] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
