"""The FastAPI application: one Service (jobs store, runner, ledger, token) behind the API and the page."""

from __future__ import annotations

import contextlib
import fcntl
import hmac
import os
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse

from provenance import __version__
from provenance.errors import LedgerError, ProvenanceError
from provenance.service.jobs import JobStore, new_job_id
from provenance.service.runner import Runner
from provenance.service.settings import Settings, read_token
from provenance.service.uploads import UploadRefused, receive_upload


class Service:
    """What the routes share: settings, the jobs store, the runner and (opened when first needed) the ledger."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.token = read_token(settings.token_file) if settings.token_file else None
        self._lock = _lock_state(settings.state_dir)
        settings.uploads_dir.mkdir(mode=0o700, exist_ok=True)
        self.store = JobStore(settings.jobs_path)
        self.runner = Runner(settings, self.store)
        self._ledger = None

    def ledger(self):
        """The issuer's ledger, or None while nothing has been signed into it."""
        if self._ledger is None:
            from provenance.ledger import Ledger

            with contextlib.suppress(LedgerError):
                self._ledger = Ledger.open(self.settings.ledger, home=self.settings.home_dir, create=False)
        return self._ledger

    def check_token(self, request: Request) -> None:
        """Refuse (401) a request without the API token; the comparison takes the same time however it differs."""
        if self.token is None:
            raise HTTPException(403, "this service has no API token: start it with --token-file to use this route")
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), self.token.encode()):
            raise HTTPException(401, "missing or wrong API token", headers={"WWW-Authenticate": "Bearer"})

    async def accept(self, request: Request, kind: str) -> str:
        """Take the upload in `request` as a new job of `kind` and start it; returns the job id."""
        runner = self.runner
        if not runner.reserve():
            raise HTTPException(429, "the queue is full; try again later",
                                headers={"Retry-After": str(runner.retry_after_s())})
        job_id = new_job_id()
        upload = self.settings.uploads_dir / f"{job_id}.upload"
        try:
            filename = await receive_upload(request, upload, self.settings.max_upload_bytes,
                                            self.settings.upload_idle_s)
        except UploadRefused as exc:
            runner.release()
            raise HTTPException(exc.status, str(exc), headers={"Connection": "close"}) from None
        except BaseException:
            runner.release()
            raise
        self.store.add(job_id, kind, filename, upload)
        runner.submit(job_id, upload)
        return job_id

    def clear_stale_uploads(self) -> None:
        """Remove uploads that no unfinished job owns (a service killed while receiving them)."""
        owned = {Path(job.upload).name for job in self.store.unfinished()}
        for path in self.settings.uploads_dir.iterdir():
            if path.name not in owned:
                path.unlink(missing_ok=True)

    async def start(self) -> None:
        self.clear_stale_uploads()
        await self.runner.start()

    async def close(self) -> None:
        await self.runner.close()
        self.store.close()
        if self._ledger is not None:
            self._ledger.close()
        os.close(self._lock)


def _lock_state(folder: Path) -> int:
    """Hold the lock on a jobs store for this process's life: two services would run each other's jobs."""
    path = folder / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise ProvenanceError(f"another provenance serve is using the jobs store in {folder}") from None
    return fd


LOCK_FILE = "service.lock"
MAX_HEADER_BYTES = 16 * 1024  # request headers beyond this are refused with 431 (uvicorn stops reading at 64 KiB)


class HeaderLimit:
    """ASGI middleware: refuse requests whose headers, all together, are over MAX_HEADER_BYTES."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and sum(len(k) + len(v) for k, v in scope["headers"]) > MAX_HEADER_BYTES:
            response = JSONResponse({"detail": "request headers too large"}, status_code=431,
                                    headers={"Connection": "close"})
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def create_app(settings: Settings) -> FastAPI:
    """The service as an ASGI app (run it with uvicorn); workers start when the app starts."""
    from fastapi.staticfiles import StaticFiles

    from provenance.service import api, page, resolution

    service = Service(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await service.start()
        try:
            yield
        finally:
            await service.close()

    # No /docs or /redoc: those pages load scripts from a CDN. The OpenAPI schema is served at /openapi.json.
    app = FastAPI(title="provenance", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Verify video clips (C2PA manifest, watermark, ledger, detector) and resolve soft "
                              "bindings to the manifests in the issuer's ledger.")
    app.state.service = service
    app.include_router(api.router)
    app.include_router(resolution.router)
    app.include_router(page.router)
    app.add_middleware(HeaderLimit)
    app.mount("/static", StaticFiles(directory=Path(__file__).with_name("static")), name="static")
    return app
