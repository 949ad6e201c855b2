"""A generation service in miniature: one worker holds a backend and the signing keys, takes jobs, returns receipts.

    .venv/bin/python examples/generation_service.py [JOBS.jsonl] [--out DIR] [--home HOME] [--backend NAME|PATH]

Each job is one JSON object per line, e.g.
    {"prompt": "a boat on the sea at sunset", "seconds": 3, "size": [640, 360]}
    {"prompt": "snow, zoom in", "image": "photo.jpg"}
    {"prompt": "rain", "extend": "out/job-0.mp4", "seconds": 2}
    {"fill": "choppy.mp4", "fps": 48}
Without a jobs file a small built-in queue runs. Every clip the worker hands back is already watermarked,
C2PA-signed and recorded in the ledger; the receipt says how to trace it (the watermark payload).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from generator import ClipSpec, Generator
from provenance.errors import ProvenanceError
from provenance.keys import keygen
from provenance.verify import verify

SAMPLE_JOBS = [
    {"prompt": "a boat on the sea at sunset, birds", "seconds": 2, "size": [640, 360]},
    {"prompt": "a city skyline at night with cars, rain, pan left", "seconds": 2, "size": [640, 360], "seed": 4},
    {"prompt": "the boat sails on", "extend": "job-0.mp4", "seconds": 1},
    {"fill": "job-1.mp4", "fps": 48},
]


def run_job(generator: Generator, job: dict, output: Path, inputs: Path) -> dict:
    """Do one job; returns a receipt (or the one-line error) instead of raising, so the queue keeps moving."""
    prompt, seed = job.get("prompt", ""), int(job.get("seed", 0))
    try:
        if "fill" in job:
            result = generator.fill(inputs / job["fill"], output, fps=job.get("fps"), seed=seed)
        elif "extend" in job:
            result = generator.extend(inputs / job["extend"], float(job.get("seconds", 2)), prompt, output, seed=seed)
        else:
            width, height = job.get("size", (1280, 720))
            spec = ClipSpec(width, height, float(job.get("fps", 24)), float(job.get("seconds", 4)))
            if "image" in job:
                result = generator.image_to_video(inputs / job["image"], prompt, output, spec, seed=seed)
            else:
                result = generator.text_to_video(prompt, output, spec, seed=seed)
    except ProvenanceError as exc:
        return {"job": job, "error": str(exc)}
    return {"job": job, "clip": str(result.path), "payload": result.payload, "sha256": result.sha256,
            "frames": result.frames, "model": generator.backend.model}


def serve(jobs: Iterable[dict], out_dir: Path, home: Path, backend: str) -> Iterator[dict]:
    """Run jobs in order with one generator (the model and keys load once); yield a receipt per job."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with Generator(backend, home=home) as generator:
        for number, job in enumerate(jobs):
            yield run_job(generator, job, out_dir / f"job-{number}.mp4", out_dir)


def read_jobs(path: Path | None) -> list[dict]:
    if path is None:
        return SAMPLE_JOBS
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("jobs", nargs="?", type=Path, help="JSON Lines file of jobs")
    parser.add_argument("--out", type=Path, help="folder for the clips [default: a new temporary folder]")
    parser.add_argument("--home", type=Path, help="keys from `provenance keygen` [default: fresh demo keys]")
    parser.add_argument("--backend", default="procedural")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="generated-"))
    home = args.home
    failed = 0
    try:
        if home is None:
            home = out / "demo-home"
            keygen(home)
        for receipt in serve(read_jobs(args.jobs), out, home, args.backend):
            if "error" in receipt:
                failed += 1
            else:
                report = verify(receipt["clip"], trust_anchors=home / "ca.pem", home=home)
                receipt["verdict"] = report.verdict
            print(json.dumps(receipt))
    except ProvenanceError as exc:  # the worker could not start: no keys (or old ones), an unknown backend...
        sys.exit(f"error: {exc}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
