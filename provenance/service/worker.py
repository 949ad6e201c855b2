"""What runs in a service's worker process: one Verifier, loaded once, and what a job returns."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import TYPE_CHECKING

from provenance.keys import default_home
from provenance.ledger import DEFAULT_FILE, URL_ENV
from provenance.manifest import IMAGE_MIME
from provenance.service.manifest_view import VIDEO_MIME, view_of_file, view_of_store

if TYPE_CHECKING:
    from provenance.verify import Report

THUMBNAIL_PX = 320

_setup: tuple[dict, str | None] | None = None  # this worker's Verifier options, kept to load it again
_awaited_ledger: Path | None = None  # the default ledger, when it did not exist yet as this worker started


def start_worker(options: dict, detector_dir: str | None) -> None:
    """Set up a worker process's Verifier (see provenance.verify), noting a default ledger still to come."""
    global _setup, _awaited_ledger
    from provenance import verify

    _setup = (options, detector_dir)
    verify.init_pool_worker(options, detector_dir)
    ledger = Path(options["home"] or default_home()) / DEFAULT_FILE
    no_ledger_set = options["ledger"] is None and not os.environ.get(URL_ENV)
    _awaited_ledger = ledger if no_ledger_set and not ledger.exists() else None


def _pick_up_new_ledger() -> None:
    """The first signing after the service started created the ledger: load the Verifier again to use it."""
    global _awaited_ledger
    from provenance import verify

    if _awaited_ledger is not None and _awaited_ledger.exists():
        _awaited_ledger = None
        verify.init_pool_worker(*_setup)


def examine(path: str, name: str) -> tuple[dict, bytes | None]:
    """In a worker: the clip's (or still image's) Report (by the worker's Verifier, reported under `name`) with
    what the page shows, and a thumbnail."""
    from provenance import verify

    _pick_up_new_ledger()
    report = verify.pool_worker_verifier().verify(path)
    report.path = name
    if report.error is not None:  # the upload's place on the server is no business of the client's
        report.error = report.error.replace(path, name)
        report.evidence = verify.explain(report)
    return {"report": report.to_dict(), "manifest_view": _manifest_view(path, report)}, _thumbnail(path, report)


def describe() -> dict:
    """In a worker: what it verifies with (raises the worker's setup error, so a bad option stops the start)."""
    from provenance import verify

    return {"detector": getattr(verify.pool_worker_verifier().detector, "name", None)}


def _manifest_view(path: str, report: Report) -> dict | None:
    """The page's view of the clip's manifest: the one it carries, else the one the ledger kept for its watermark."""
    if report.c2pa.present and not report.c2pa.tampered:
        return view_of_file(path, IMAGE_MIME.get(report.container, VIDEO_MIME))
    if report.ledger.get("found"):
        record = _worker_ledger().get(report.ledger["record"]["payload"])
        return view_of_store(record.manifest_store) if record is not None else None
    return None


_ledger = None  # this worker's own connection to the ledger, for the stores the page shows


def _worker_ledger():
    global _ledger
    if _ledger is None:
        from provenance.ledger import Ledger

        options = _setup[0]
        _ledger = Ledger.open(options["ledger"], home=options["home"], create=False)
    return _ledger


def _thumbnail(path: str, report: Report) -> bytes | None:
    """A JPEG of the still image, or of the clip's first frame, at most THUMBNAIL_PX on a side; None when none
    decodes."""
    from PIL import Image

    from provenance import media
    from provenance.errors import ProvenanceError

    if report.container in IMAGE_MIME:
        try:
            with Image.open(path) as opened:
                opened.draft("RGB", (THUMBNAIL_PX, THUMBNAIL_PX))  # a JPEG is decoded at a fraction of its size
                image = opened.convert("RGB")
        except (OSError, Image.DecompressionBombError):  # OSError: not an image Pillow reads
            return None
    else:
        frames = media.iter_frames(path)
        try:
            image = Image.fromarray(next(frames))
        except (ProvenanceError, StopIteration):
            return None
        finally:
            frames.close()
    image.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()
