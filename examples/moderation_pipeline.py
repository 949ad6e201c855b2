"""Moderation pipeline: label every clip in an incoming folder, one JSON line per clip.

    .venv/bin/python examples/moderation_pipeline.py INCOMING_DIR labels.jsonl \\
        [--trust-anchors ca.pem] [--trust-list C2PA-TRUST-LIST.pem] [--interim-trust-list anchors.pem]
        [--home HOME] [--workers 2] [--detector builtin]

Uses the Python API (`provenance.verify.verify_many`): clips are verified in worker processes as they
arrive from the folder walk, each label is written as soon as its clip finishes, and a clip that cannot
be read is labelled `error` without stopping the batch.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from provenance.errors import ProvenanceError
from provenance.files import check_output
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
    parser.add_argument("--trust-anchors", type=Path, help="your own CA (HOME/ca.pem)")
    parser.add_argument("--trust-list", type=Path, action="append", default=[], help="the official C2PA trust list")
    parser.add_argument("--interim-trust-list", type=Path, help="the interim known-certificate list's anchors")
    parser.add_argument("--home", type=Path)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--detector", help="model folder, or 'builtin'")
    args = parser.parse_args()
    try:
        counts = label_clips(args.incoming, args.labels, args)
    except ProvenanceError as exc:  # bad options (anchors, detector, keys): stopped before any clip
        sys.exit(f"error: {exc}")
    except OSError as exc:
        sys.exit(f"error: {exc.filename}: {exc.strerror}")
    print(f"{sum(counts.values())} clips labelled in {args.labels}: {dict(counts)}")


def label_clips(incoming: Path, labels: Path, args: argparse.Namespace) -> Counter[str]:
    """Write one label per clip under `incoming` to `labels` as each clip finishes; returns the verdict counts."""
    check_output(labels, [incoming])
    counts: Counter[str] = Counter()
    reports = verify_many([incoming], workers=args.workers, detector_dir=args.detector,
                          trust_anchors=args.trust_anchors, trust_lists=args.trust_list,
                          interim_trust_list=args.interim_trust_list, home=args.home)
    with labels.open("w") as out:
        for report in reports:
            label = {"path": report.path, "verdict": report.verdict, "action": ACTIONS[report.verdict],
                     "evidence": report.evidence, "payload": report.watermark.get("payload"),
                     "signer_trust": report.c2pa.trust}
            out.write(json.dumps(label) + "\n")
            out.flush()
            counts[report.verdict] += 1
    return counts


if __name__ == "__main__":
    main()
