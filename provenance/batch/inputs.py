"""What a batch verifies: the clips named by a folder, a text file of paths, or a Parquet/CSV table's path column."""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from provenance.errors import BadInput
from provenance.verify import expand_paths

TABLE_BATCH_ROWS = 4096  # rows read from a Parquet table at a time


@dataclass(frozen=True, slots=True)
class Clip:
    """A clip to verify and what says whether it changed since a result was written: size and mtime."""

    path: str
    size: int | None
    mtime_ns: int | None

    @classmethod
    def at(cls, path: str) -> Clip:
        """The clip at `path` as it is now (size and mtime None when it cannot be looked at)."""
        try:
            stat = os.stat(path)
        except OSError:
            return cls(path, None, None)
        return cls(path, stat.st_size, stat.st_mtime_ns)


def read_clips(source: str | os.PathLike, path_column: str = "path") -> Iterator[Clip]:
    """Each clip `source` names once, with an absolute path: a folder is walked for videos and still images; a
    .parquet or .csv file is a table whose `path_column` names clips; any other file is a text file with one path a line
    (blank lines and lines starting with # are skipped). Relative paths are taken from the table's folder,
    and a folder named in a table or list is walked."""
    source = Path(source)
    if not source.exists():
        raise BadInput(f"input {source}: no such file or folder")
    if source.is_dir():
        names: Iterator[str] = iter(["."])
    elif source.suffix.lower() == ".parquet":
        names = _parquet_paths(source, path_column)
    elif source.suffix.lower() == ".csv":
        names = _csv_paths(source, path_column)
    else:
        names = _listed_paths(source)
    seen: set[str] = set()
    base = source if source.is_dir() else source.parent
    for name in names:
        for path in expand_paths([base / name]):
            absolute = os.path.abspath(path)
            if absolute not in seen:
                seen.add(absolute)
                yield Clip.at(absolute)


def _parquet_paths(table: Path, column: str) -> Iterator[str]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(table)
    except (pa.ArrowException, OSError) as exc:
        raise BadInput(f"input {table}: not a readable Parquet table ({exc})") from None
    _check_column(table, column, parquet.schema_arrow.names)
    for batch in parquet.iter_batches(batch_size=TABLE_BATCH_ROWS, columns=[column]):
        yield from (str(value) for value in batch.column(0).to_pylist() if value)


def _csv_paths(table: Path, column: str) -> Iterator[str]:
    try:
        with table.open(newline="", encoding="utf-8") as stream:
            reader = csv.DictReader(stream)
            _check_column(table, column, reader.fieldnames or [])
            yield from (row[column] for row in reader if row.get(column))
    except UnicodeDecodeError:
        raise BadInput(f"input {table}: not a UTF-8 CSV table") from None


def _listed_paths(listing: Path) -> Iterator[str]:
    try:
        with listing.open(encoding="utf-8") as stream:
            for line in stream:
                line = line.strip()
                if line and not line.startswith("#"):
                    yield line
    except UnicodeDecodeError:
        raise BadInput(f"input {listing}: not a text file of paths (use a folder, .parquet, .csv or .txt)") from None


def _check_column(table: Path, column: str, names: list[str]) -> None:
    if column not in names:
        raise BadInput(f"input {table}: no column {column!r} (columns: {', '.join(names) or 'none'})")
