"""Jobs admitted up to the queue limit and run in a pool of worker processes (provenance.service.worker)."""

from __future__ import annotations

import asyncio
import contextlib
import math
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from provenance.service.jobs import JobStore
from provenance.service.settings import Settings
from provenance.service.worker import describe, examine, start_worker

MAX_ATTEMPTS = 3  # a job whose worker dies (or whose service is killed) this many times is reported failed
FIRST_GUESS_JOB_S = 5.0  # how long a job takes, until one has been timed
MAX_RETRY_AFTER_S = 3600
TIMING_WEIGHT = 0.2  # weight of the newest job in the running mean of job durations


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
