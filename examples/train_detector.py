"""Train a detector on your own clips, evaluate it, and score a clip with it.

Usage: .venv/bin/python examples/train_detector.py DATA OUT_DIR [CLIP]
  DATA: a folder with real/<source>/*.mp4 and generated/<source>/*.mp4, or a CSV path,label,source
"""

from __future__ import annotations

import sys
from pathlib import Path

import detector
from detector.metrics import format_table
from provenance.errors import ProvenanceError


def main(data: str, out_dir: str, clip: str | None = None) -> None:
    dataset = detector.load_dataset(data)
    print(f"{len(dataset)} clips: {dataset.summary()['real']} real, {dataset.summary()['generated']} generated")
    model = detector.train(dataset, out_dir, detector.TrainConfig(name="my-detector"))
    print(f"threshold {model.threshold:.4f} (at most 1% of the real clips, scored out of fold, above it)")
    report = detector.evaluate(model, dataset, conditions=["clean", "h264-crf28"], out_json=Path(out_dir) / "eval.json")
    print(format_table(report["per_distortion"]))
    if clip is not None:
        print(detector.load(out_dir).score(clip).to_dict())


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    try:
        main(*sys.argv[1:])
    except ProvenanceError as exc:  # bad data, an unreadable clip, ...
        sys.exit(f"error: {exc}")
