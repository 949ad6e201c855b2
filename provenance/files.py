"""Safe outputs: never overwrite an input; write to a temporary file beside the target, then rename."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from provenance.errors import BadInput

HASH_CHUNK_BYTES = 1 << 20


def check_output(target: str | os.PathLike, inputs: Iterable[str | os.PathLike] = ()) -> Path:
    """Refuse an output path that is a folder, lies in a missing folder, or is one of the inputs."""
    target = Path(target)
    if target.is_dir():
        raise BadInput(f"output {target} is a directory")
    if not target.parent.exists():
        raise BadInput(f"output folder {target.parent} does not exist")
    for src in inputs:
        if target.exists() and Path(src).exists() and os.path.samefile(target, src):
            raise BadInput(f"output {target} is the input {src}; refusing to overwrite an input")
    return target


@contextlib.contextmanager
def atomic_output(target: str | os.PathLike, *, protect: Iterable[str | os.PathLike] = ()) -> Iterator[Path]:
    """Yield a temporary path beside `target`; rename it onto `target` on success, delete it on failure."""
    target = check_output(target, protect)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=".part" + target.suffix, dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()


def sha256_file(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(HASH_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()
