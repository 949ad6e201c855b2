"""The page at `/`: pick or drop a clip (or still image), watch it upload and be read, then see why it got its
verdict; the words for the evidence are `provenance.verify`'s."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from provenance.manifest import IMAGE_MIME
from provenance.service.api import service_of
from provenance.service.jobs import DONE
from provenance.verify import SIGNER_TRUST_WORDS, explain_other_mark, explain_signals, fingerprint_words

templates = Jinja2Templates(directory=Path(__file__).with_name("templates"))
templates.env.globals.update(trust_words=SIGNER_TRUST_WORDS, explain_other_mark=explain_other_mark,
                             explain_signals=explain_signals, fingerprint_words=fingerprint_words,
                             image_containers=tuple(IMAGE_MIME))
router = APIRouter(include_in_schema=False)

VERDICT_WORDS = {
    "ai-generated": "AI-generated",
    "near-copy-of-credentialed": "A near copy of a credentialed AI-generated clip (fingerprint only)",
    "likely-ai-generated": "Likely AI-generated (detector only)",
    "no-evidence": "No evidence of AI generation",
    "tampered": "Tampered: the Content Credential does not validate",
    "error": "Could not be read",
}


@router.get("/", response_class=HTMLResponse)
async def index(request: Request) -> HTMLResponse:
    settings = service_of(request).settings
    return templates.TemplateResponse(request, "index.html", {"max_upload_bytes": settings.max_upload_bytes,
                                                              "token_required": settings.token_for_verify})


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
async def result(request: Request, job_id: str) -> HTMLResponse:
    service = service_of(request)
    if service.settings.token_for_verify:
        service.check_token(request)
    job = service.store.get(job_id)
    if job is None:
        raise HTTPException(404, "no such job")
    report = job.result["report"] if job.state == DONE else None
    context = {"job": job, "report": report, "verdict_words": VERDICT_WORDS,
               "view": (job.result.get("manifest_view") or {}) if report else {},
               "has_thumbnail": report is not None and service.store.thumbnail(job_id) is not None}
    return templates.TemplateResponse(request, "result.html", context)
