"""Jobs run in a pool of verifier processes that keep keys, ledger and detector loaded between uploads."""

from __future__ import annotations

import asyncio
import contextlib
import io
import math
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from provenance.keys import default_home
from provenance.ledger import DEFAULT_FILE, URL_ENV
from provenance.service.jobs import JobStore
from provenance.service.settings import Settings

MAX_ATTEMPTS = 3  # a job whose worker dies (or whose service is killed) this many times is reported failed
THUMBNAIL_PX = 320
FIRST_GUESS_JOB_S = 5.0  # how long a job takes, until one has been timed
MAX_RETRY_AFTER_S = 3600
TIMING_WEIGHT = 0.2  # weight of the newest job in the running mean of job durations


_setup: tuple[dict, str | None] | None = None  # this worker's Verifier options, kept to load it again
_awaited_ledger: Path | None = None  # the default ledger, when it did not exist yet as this worker started


def start_worker(options: dict, detector_dir: str | None) -> None:
    """Set up a worker process's Verifier (see provenance.verify), noting a default ledger still to come."""
    global _setup, _awaited_ledger
    from provenance import verify

    _setup = (options, detector_dir)
    verify._init_pool_worker(options, detector_dir)
    ledger = Path(options["home"] or default_home()) / DEFAULT_FILE
    no_ledger_set = options["ledger"] is None and not os.environ.get(URL_ENV)
    _awaited_ledger = ledger if no_ledger_set and not ledger.exists() else None


def _pick_up_new_ledger() -> None:
    """The first signing after the service started created the ledger: load the Verifier again to use it."""
    global _awaited_ledger
    from provenance import verify

    if _awaited_ledger is not None and _awaited_ledger.exists():
        _awaited_ledger = None
        verify._init_pool_worker(*_setup)


def examine(path: str, name: str) -> tuple[dict, bytes | None]:
    """In a worker: the clip's Report (by the worker's Verifier, reported under `name`) with what the page shows,
    and a thumbnail."""
    from provenance import verify

    _pick_up_new_ledger()
    if verify._worker_error is not None:
        raise verify._worker_error
    report = verify._worker.verify(path)
    report.path = name
    if report.error is not None:  # the upload's place on the server is no business of the client's
        report.error = report.error.replace(path, name)
        report.evidence = verify.explain(report)
    return {"report": report.to_dict(), "manifest_view": _manifest_view(path, report)}, _thumbnail(path)


def describe() -> dict:
    """In a worker: what it verifies with (raises the worker's setup error, so a bad option stops the start)."""
    from provenance import verify

    if verify._worker_error is not None:
        raise verify._worker_error
    return {"detector": getattr(verify._worker.detector, "name", None)}


def _manifest_view(path: str, report) -> dict | None:
    """The page's view of the clip's manifest: the one it carries, else the one the ledger kept for its watermark."""
    from provenance.service.manifest_view import view_of_file, view_of_store

    if report.c2pa.present and not report.c2pa.tampered:
        return view_of_file(path)
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


def _thumbnail(path: str) -> bytes | None:
    """A JPEG of the clip's first frame, at most THUMBNAIL_PX on a side; None when no frame decodes."""
    from PIL import Image

    from provenance import media
    from provenance.errors import ProvenanceError

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


class Runner:
    """Admits jobs up to the queue limit, runs them `workers` at a time, records each state in the store."""

    def __init__(self, settings: Settings, store: JobStore) -> None:
        self.settings = settings
        self.store = store
        self.active = 0  # accepted, not finished (running included)
        self.running = 0
        self.mean_job_s = FIRST_GUESS_JOB_S
        self.worker_info: dict = {}
        self._pool: ProcessPoolExecutor | None = None
        self._slots = asyncio.Semaphore(settings.workers)
        self._done: dict[str, asyncio.Event] = {}
        self._tasks: set[asyncio.Task] = set()

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            self.settings.workers, mp_context=multiprocessing.get_context("spawn"), initializer=start_worker,
            initargs=(self.settings.verifier_options(), self.settings.detector))

    async def start(self) -> None:
        """Start the workers (all of them begin loading at once) and resume the jobs a stopped service left."""
        self._pool = self._new_pool()
        loop = asyncio.get_running_loop()
        calls = [loop.run_in_executor(self._pool, describe) for _ in range(self.settings.workers)]
        self.worker_info = (await asyncio.gather(*calls))[0]
        for job in self.store.unfinished():
            if not Path(job.upload).exists():
                self.store.fail(job.id, "the upload was lost when the service stopped; send the clip again")
            elif job.attempts >= MAX_ATTEMPTS:
                self._discard(Path(job.upload))
                self.store.fail(job.id, f"interrupted {job.attempts} times (the service or its worker stopped)")
            else:
                self.store.requeue(job.id)
                self.active += 1
                self.submit(job.id, Path(job.upload))

    def reserve(self) -> bool:
        """Take a place in the queue for an upload about to arrive; False when the queue is full."""
        if self.active >= self.settings.queue_limit:
            return False
        self.active += 1
        return True

    def release(self) -> None:
        """Give back a place reserved for an upload that was refused."""
        self.active -= 1

    def retry_after_s(self) -> int:
        """Seconds until a place is likely to free up."""
        ahead = max(1, self.active - self.settings.workers + 1)
        return max(1, min(MAX_RETRY_AFTER_S, math.ceil(self.mean_job_s * ahead / self.settings.workers)))

    def submit(self, job_id: str, upload: Path) -> None:
        """Run a stored job (its place already reserved) in the background."""
        self._done[job_id] = asyncio.Event()
        task = asyncio.create_task(self._run(job_id, upload))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def wait(self, job_id: str, timeout_s: float) -> None:
        """Return when the job finishes or `timeout_s` passes, whichever is first."""
        event = self._done.get(job_id)
        if event is not None and timeout_s > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), timeout_s)

    async def _run(self, job_id: str, upload: Path) -> None:
        ended = False  # a job cancelled by a shutdown keeps its upload and state, and is resumed at the next start
        try:
            async with self._slots:
                self.running += 1
                try:
                    await self._attempt(job_id, upload)
                    ended = True
                finally:
                    self.running -= 1
        finally:
            if ended:
                self._discard(upload)
            self.active -= 1
            self._done.pop(job_id).set()

    async def _attempt(self, job_id: str, upload: Path) -> None:
        name = self.store.get(job_id).filename
        for attempt in range(1, MAX_ATTEMPTS + 1):
            pool = self._pool
            self.store.start(job_id)
            began = time.monotonic()
            try:
                result, thumbnail = await asyncio.wrap_future(pool.submit(examine, str(upload), name))
            except BrokenProcessPool:
                self._replace(pool)
                if attempt == MAX_ATTEMPTS:
                    self.store.fail(job_id, "its worker process stopped abruptly (killed, out of memory or crashed)")
                continue
            except Exception as exc:  # one clip's failure is that job's error, never the service's
                self.store.fail(job_id, f"verification failed: {exc}")
                return
            self.mean_job_s += TIMING_WEIGHT * (time.monotonic() - began - self.mean_job_s)
            self.store.finish(job_id, result, thumbnail)
            return

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        """A worker died: every job in that pool fails with it, and the first to notice starts a new pool."""
        if self._pool is broken:
            broken.shutdown(wait=False, cancel_futures=True)
            self._pool = self._new_pool()

    @staticmethod
    def _discard(upload: Path) -> None:
        upload.unlink(missing_ok=True)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
