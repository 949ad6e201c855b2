"""Safe outputs: never overwrite an input; write to a temporary file beside the target, then rename."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from provenance.errors import BadInput, OutputExists

HASH_CHUNK_BYTES = 1 << 20
WORK_TAG = "provenance-work"  # hidden work files are named .STEM.provenance-work-PID.XXXX beside the output
_WORK_NAME = re.compile(rf"^\..*\.{WORK_TAG}-(\d+)\.")
_tidied_folders: set[Path] = set()  # folders this process has already cleared of stale work files


def check_output(target: str | os.PathLike, inputs: Iterable[str | os.PathLike] = (), overwrite: bool = True) -> Path:
    """Refuse an output path that is a folder, lies in a missing or read-only folder, or is one of the inputs.

    Without `overwrite`, an existing file is refused too.
    """
    target = Path(target)
    if target.is_dir():
        raise BadInput(f"output {target} is a directory")
    if not target.parent.exists():
        raise BadInput(f"output folder {target.parent} does not exist")
    if not os.access(target.parent, os.W_OK | os.X_OK):
        raise BadInput(f"output folder {target.parent} is not writable")
    for src in inputs:
        if target.exists() and Path(src).exists() and os.path.samefile(target, src):
            raise BadInput(f"output {target} is the input {src}; refusing to overwrite an input")
    if not overwrite and os.path.lexists(target):
        raise OutputExists(target)
    return target


@contextlib.contextmanager
def atomic_output(
    target: str | os.PathLike, *, protect: Iterable[str | os.PathLike] = (), overwrite: bool = True
) -> Iterator[Path]:
    """Yield a temporary path beside `target`; rename it onto `target` on success, delete it on failure.

    Without `overwrite`, an existing `target` is refused, before and at the rename.
    """
    target = check_output(target, protect, overwrite)
    remove_stale_work(target.parent)
    fd, tmp = tempfile.mkstemp(prefix=_work_prefix(target), suffix=".part" + target.suffix, dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        move_into_place(tmp_path, target, overwrite)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()


def move_into_place(src: Path, target: Path, overwrite: bool) -> None:
    """Rename `src` onto `target`; without `overwrite`, fail if `target` exists, even one created a moment ago."""
    if overwrite:
        os.replace(src, target)
        return
    try:
        os.link(src, target)  # unlike a rename, creating a link never replaces an existing file
    except FileExistsError:
        raise OutputExists(target) from None
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP):  # file systems without hard links (FAT, some shares)
            raise
        if os.path.lexists(target):
            raise OutputExists(target) from None
        os.replace(src, target)
        return
    os.unlink(src)


@contextlib.contextmanager
def work_dir(target: Path) -> Iterator[Path]:
    """A hidden temporary folder beside `target` (same file system, so results can be renamed into place)."""
    remove_stale_work(target.parent)
    with tempfile.TemporaryDirectory(prefix=_work_prefix(target), dir=target.parent) as work:
        yield Path(work)


def remove_stale_work(folder: Path) -> None:
    """Delete hidden work files and folders in `folder` left by processes that no longer run (e.g. killed).

    Each folder is scanned once per process: what a process leaves behind is its own until it exits.
    """
    folder = folder.resolve()
    if folder in _tidied_folders:
        return
    _tidied_folders.add(folder)
    for entry in folder.iterdir():
        match = _WORK_NAME.match(entry.name)
        if match is None or _process_alive(int(match.group(1))):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                entry.unlink()


def _work_prefix(target: Path) -> str:
    return f".{target.stem}.{WORK_TAG}-{os.getpid()}."


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def sha256_file(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(HASH_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()
