"""The verification API under /v1: verify (wait, or 202 and a job to poll), jobs, health, version."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response

from provenance import __version__
from provenance.service.jobs import DONE, FAILED
from provenance.service.settings import Settings

MAX_WAIT_S = 300.0

router = APIRouter(prefix="/v1", tags=["verification"])


def service_of(request: Request):
    return request.app.state.service


def verify_token(request: Request) -> None:
    """The API token, when the service was started with --token-for-verify."""
    service = service_of(request)
    if service.settings.token_for_verify:
        service.check_token(request)


def job_or_404(request: Request, job_id: str):
    job = service_of(request).store.get(job_id)
    if job is None:
        raise HTTPException(404, "no such job")
    return job


def job_response(job) -> JSONResponse:
    """A finished job answers with its report (the `verify --json` object), a failed one with 500, others with 202;
    the job's own address is in Content-Location or Location."""
    href = f"/v1/jobs/{job.id}"
    if job.state == DONE:
        return JSONResponse(job.result["report"], headers={"Content-Location": href})
    if job.state == FAILED:
        return JSONResponse(job.to_dict(), status_code=500, headers={"Content-Location": href})
    return JSONResponse({"id": job.id, "state": job.state, "href": href}, status_code=202, headers={"Location": href})


@router.post("/verify", dependencies=[Depends(verify_token)], summary="Verify a clip",
             responses={202: {"description": "Accepted; poll the job"}, 413: {}, 415: {}, 429: {}})
async def post_verify(
    request: Request,
    wait: Annotated[float | None, Query(ge=0, le=MAX_WAIT_S, description="Seconds to wait for the report")] = None,
) -> Response:
    """Upload a clip (multipart field `file`, or the raw body): its report when it is ready within `wait` seconds,
    otherwise 202 with the job to poll."""
    service = service_of(request)
    job_id = await service.accept(request, "verify")
    await service.runner.wait(job_id, service.settings.default_wait_s if wait is None else wait)
    return job_response(service.store.get(job_id))


@router.get("/jobs/{job_id}", dependencies=[Depends(verify_token)], summary="A job: state, and report when done")
async def get_job(request: Request, job_id: str) -> dict:
    return job_or_404(request, job_id).to_dict()


@router.get("/jobs/{job_id}/thumbnail", dependencies=[Depends(verify_token)], summary="The clip's first frame",
            response_class=Response, responses={200: {"content": {"image/jpeg": {}}}})
async def get_thumbnail(request: Request, job_id: str) -> Response:
    job_or_404(request, job_id)
    thumbnail = service_of(request).store.thumbnail(job_id)
    if thumbnail is None:
        raise HTTPException(404, "no thumbnail for this job")
    return Response(thumbnail, media_type="image/jpeg")


@router.get("/health", summary="Liveness and queue")
async def health(request: Request) -> dict:
    runner = service_of(request).runner
    return {"status": "ok", "workers": runner.settings.workers, "running": runner.running,
            "queued": runner.active - runner.running, "queue_limit": runner.settings.queue_limit}


@router.get("/version", summary="Versions: service, watermark algorithm, detector model, trust lists")
async def version(request: Request) -> dict:
    from provenance.watermark import ALGORITHM_ID

    service = service_of(request)
    return {"version": __version__, "api": "v1", "watermark": {"algorithm": ALGORITHM_ID},
            "detector": {"model": service.runner.worker_info.get("detector")},
            "trust_anchors": anchor_fingerprints(service.settings.trust_anchors),
            "trust_lists": trust_list_fingerprints(service.settings)}


def trust_list_fingerprints(settings: Settings) -> dict[str, list[dict]]:
    """The official and interim trust lists' certificates (subject, SHA-256), by list."""
    return {"official": [entry for path in settings.trust_lists for entry in anchor_fingerprints(path)],
            "interim": anchor_fingerprints(settings.interim_trust_list)}


def anchor_fingerprints(path) -> list[dict]:
    """Subject and SHA-256 fingerprint of each certificate in a PEM file."""
    if path is None:
        return []
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    certificates = x509.load_pem_x509_certificates(Path(path).read_bytes())
    return [{"subject": cert.subject.rfc4514_string(), "sha256": cert.fingerprint(hashes.SHA256()).hex()}
            for cert in certificates]
