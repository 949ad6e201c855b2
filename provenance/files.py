"""Atomic output: write to a temporary file beside the target, then rename."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from provenance.errors import BadInput


@contextlib.contextmanager
def atomic_output(target: str | os.PathLike, *, protect: tuple[str | os.PathLike, ...] = ()) -> Iterator[Path]:
    """Yield a temporary path; on success rename it onto `target`, on failure delete it.

    `protect` lists inputs that `target` must not be (never overwrite an input).
    """
    target = Path(target)
    for src in protect:
        if target.exists() and Path(src).exists() and os.path.samefile(target, src):
            raise BadInput(f"output {target} is the same file as input {src}; refusing to overwrite an input")
    if target.is_dir():
        raise BadInput(f"output {target} is a directory")
    if not target.parent.exists():
        raise BadInput(f"output folder {target.parent} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=target.suffix + ".part", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
