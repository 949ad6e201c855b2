"""Moderation pipeline: label every clip in an incoming folder, one JSON line per clip.

    .venv/bin/python examples/moderation_pipeline.py INCOMING_DIR labels.jsonl \\
        [--trust-anchors ca.pem] [--home HOME] [--workers 2] [--detector builtin]

Uses the Python API (`provenance.verify.verify_many`): clips are verified in worker processes as they
arrive from the folder walk, each label is written as soon as its clip finishes, and a clip that cannot
be read is labelled `error` without stopping the batch.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from provenance.verify import verify_many

# What a moderation queue does with each verdict.
ACTIONS = {
    "ai-generated": "label as AI-generated",
    "likely-ai-generated": "send to human review",
    "tampered": "send to human review",
    "no-evidence": "publish",
    "error": "reject upload (unreadable)",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("incoming", type=Path)
    parser.add_argument("labels", type=Path)
    parser.add_argument("--trust-anchors", type=Path)
    parser.add_argument("--home", type=Path)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--detector", help="model folder, or 'builtin'")
    args = parser.parse_args()

    counts: Counter[str] = Counter()
    reports = verify_many([args.incoming], workers=args.workers, detector_dir=args.detector,
                          trust_anchors=args.trust_anchors, home=args.home)
    with args.labels.open("w") as out:
        for report in reports:
            label = {"path": report.path, "verdict": report.verdict, "action": ACTIONS[report.verdict],
                     "evidence": report.evidence, "payload": report.watermark.get("payload")}
            out.write(json.dumps(label) + "\n")
            out.flush()
            counts[report.verdict] += 1
    print(f"{sum(counts.values())} clips labelled in {args.labels}: {dict(counts)}")


if __name__ == "__main__":
    main()
