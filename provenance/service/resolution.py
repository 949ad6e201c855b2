"""The soft-binding resolution API, in the shape of the open cai-soft-binding-api: find the manifests that a
watermark payload (or a clip carrying one) binds to, and fetch them. It reads the issuer's ledger: token only."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response

from provenance.errors import BadInput
from provenance.service.api import MAX_WAIT_S, service_of
from provenance.service.jobs import DONE

EXACT_MATCH_SCORE = 100  # similarityScore of a payload found in the ledger (the spec's scale is 0-100)
MAX_RESULTS = 100


def token(request: Request) -> None:
    service_of(request).check_token(request)


router = APIRouter(tags=["soft-binding resolution"], dependencies=[Depends(token)],
                   responses={401: {"description": "missing or wrong API token"}})


def payload_of(value: str) -> str:
    """The payload (hex) a binding value names: our hex payload, or the soft-binding assertion's base64 value."""
    from provenance.watermark.issued import PAYLOAD_HEX_CHARS

    text = value.strip()
    if len(text) == PAYLOAD_HEX_CHARS and all(char in "0123456789abcdefABCDEF" for char in text):
        return text.lower()
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) * 2 != PAYLOAD_HEX_CHARS:
        raise HTTPException(400, f"value must be a payload of {PAYLOAD_HEX_CHARS} hex digits or its base64")
    return raw.hex()


def matches_for(request: Request, payload: str | None, max_results: int = MAX_RESULTS) -> dict:
    """`{matches: [{manifestId, similarityScore}]}` for a payload: the ledger's credential, when it has one."""
    ledger = service_of(request).ledger()
    if payload is None or ledger is None or max_results < 1:
        return {"matches": []}
    try:
        record = ledger.get(payload)
    except BadInput:
        return {"matches": []}
    return {"matches": [{"manifestId": record.payload, "similarityScore": EXACT_MATCH_SCORE}] if record else []}


@router.get("/services/supportedAlgorithms", summary="The soft-binding algorithms this service resolves")
async def supported_algorithms() -> dict:
    from provenance.watermark import ALGORITHM_ID

    return {"watermarks": [{"alg": ALGORITHM_ID}], "fingerprints": []}


@router.get("/matches/byBinding", summary="Manifests bound to a soft-binding value")
async def by_binding(
    request: Request,
    alg: Annotated[str, Query(description="Soft-binding algorithm")],
    value: Annotated[str, Query(description="The payload: hex, or base64 as in the manifest's soft binding")],
    max_results: Annotated[int, Query(alias="maxResults", ge=1, le=MAX_RESULTS)] = 10,
) -> dict:
    from provenance.watermark import ALGORITHM_ID

    if alg != ALGORITHM_ID:
        raise HTTPException(400, f"unsupported algorithm {alg!r}; this service resolves {ALGORITHM_ID}")
    return matches_for(request, payload_of(value), max_results)


@router.post("/matches/byContent", summary="Manifests bound to the watermark a clip carries",
             responses={413: {}, 415: {}, 429: {}})
async def by_content(
    request: Request,
    max_results: Annotated[int, Query(alias="maxResults", ge=1, le=MAX_RESULTS)] = 10,
) -> dict:
    """Upload a clip (raw body, or multipart field `file`): its watermark is read, then looked up."""
    service = service_of(request)
    job_id = await service.accept(request, "match")
    await service.runner.wait(job_id, MAX_WAIT_S)
    job = service.store.get(job_id)
    if job.state != DONE:
        raise HTTPException(503 if job.error is None else 500, job.error or "the clip was not read in time")
    return matches_for(request, job.result["report"]["watermark"].get("payload"), max_results)


@router.get("/manifests/{manifest_id}", summary="A manifest store, as recorded when the clip was signed",
            response_class=Response, responses={200: {"content": {"application/c2pa": {}}}, 404: {}})
async def manifest(request: Request, manifest_id: str) -> Response:
    ledger = service_of(request).ledger()
    try:
        record = ledger.get(manifest_id) if ledger is not None else None
    except BadInput:
        record = None
    if record is None:
        raise HTTPException(404, "no such manifest")
    return Response(record.manifest_store, media_type="application/c2pa")
