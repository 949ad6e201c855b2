"""The soft-binding resolution API, in the shape of the open cai-soft-binding-api: find the manifests that a
watermark payload, a fingerprint hash (or a clip carrying either) binds to, and fetch them. It reads the issuer's
ledger: token only."""

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
FINGERPRINT_HEX_CHARS = 16
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


def fingerprint_hash_of(value: str) -> int:
    """The 64-bit hash a fingerprint binding value names: one block's value, 16 hex digits."""
    text = value.strip()
    if len(text) != FINGERPRINT_HEX_CHARS or any(char not in "0123456789abcdefABCDEF" for char in text):
        raise HTTPException(400, f"value must be one fingerprint block's hash, {FINGERPRINT_HEX_CHARS} hex digits")
    return int(text, 16)


def fingerprint_matches(request: Request, value: int, max_results: int) -> dict:
    """The credentials with a second within the fingerprint's match distance of `value`, closest first."""
    from provenance.fingerprint import HASH_BITS, MAX_DISTANCE_BITS, hamming

    ledger = service_of(request).ledger()
    closest: dict[str, int] = {}
    for payload, _, stored in ledger.fingerprint_candidates([value]) if ledger is not None else ():
        distance = hamming(stored, value)
        if distance <= MAX_DISTANCE_BITS:
            closest[payload] = min(distance, closest.get(payload, distance))
    ranked = sorted(closest.items(), key=lambda item: (item[1], item[0]))[:max_results]
    return {"matches": [{"manifestId": payload, "similarityScore": round(EXACT_MATCH_SCORE * (1 - d / HASH_BITS))}
                        for payload, d in ranked]}


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
    from provenance import fingerprint
    from provenance.watermark import ALGORITHM_ID

    return {"watermarks": [{"alg": ALGORITHM_ID}], "fingerprints": [{"alg": fingerprint.ALGORITHM_ID}]}


@router.get("/matches/byBinding", summary="Manifests bound to a soft-binding value")
async def by_binding(
    request: Request,
    alg: Annotated[str, Query(description="Soft-binding algorithm")],
    value: Annotated[str, Query(description="The watermark payload (hex, or base64 as in the manifest's soft "
                                            "binding), or one fingerprint block's hash (16 hex digits)")],
    max_results: Annotated[int, Query(alias="maxResults", ge=1, le=MAX_RESULTS)] = 10,
) -> dict:
    from provenance import fingerprint
    from provenance.watermark import ALGORITHM_ID

    if alg == fingerprint.ALGORITHM_ID:
        return fingerprint_matches(request, fingerprint_hash_of(value), max_results)
    if alg != ALGORITHM_ID:
        raise HTTPException(400, f"unsupported algorithm {alg!r}; this service resolves {ALGORITHM_ID} and "
                                 f"{fingerprint.ALGORITHM_ID}")
    return matches_for(request, payload_of(value), max_results)


@router.post("/matches/byContent", summary="Manifests bound to the watermark a clip carries",
             responses={413: {}, 415: {}, 429: {}})
async def by_content(
    request: Request,
    max_results: Annotated[int, Query(alias="maxResults", ge=1, le=MAX_RESULTS)] = 10,
) -> dict:
    """Upload a clip (raw body, or multipart field `file`): its watermark is read and looked up, or, without
    one, its fingerprint."""
    service = service_of(request)
    job_id = await service.accept(request, "match")
    await service.runner.wait(job_id, MAX_WAIT_S)
    job = service.store.get(job_id)
    if job.state != DONE:
        raise HTTPException(503 if job.error is None else 500, job.error or "the clip was not read in time")
    report = job.result["report"]
    if report["ledger"].get("match") == "fingerprint":
        near = report["ledger"]["fingerprint"]
        score = round(EXACT_MATCH_SCORE * near["seconds_matched"] / near["seconds_compared"])
        return {"matches": [{"manifestId": report["ledger"]["record"]["payload"], "similarityScore": score}]}
    return matches_for(request, report["watermark"].get("payload"), max_results)


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
