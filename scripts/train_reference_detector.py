"""Train the shipped reference detector on every clip of ../shared/data and write it to detector/reference/.

Usage: .venv/bin/python scripts/train_reference_detector.py [--steps N] [--workers N]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from detector.cli import progress_bar
from detector.config import TrainConfig
from detector.model import REFERENCE_DIR
from detector.sample_data import sample_dataset
from detector.training import train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=TrainConfig.max_steps)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=REFERENCE_DIR)
    args = parser.parse_args()
    started = time.monotonic()
    config = TrainConfig(max_steps=args.steps, seed=args.seed, name="provenance-reference-detector", version="1")
    model = train(sample_dataset(), args.out, config, resume=True, progress=progress_bar,
                  workers=args.workers)
    for leftover in ("checkpoint.safetensors", "checkpoint.json"):
        (args.out / leftover).unlink(missing_ok=True)
    metrics = model.card["metrics"]["calibration_clean_and_augmented"]
    real = model.card["data"]["calibration"]["real"]
    print(f"{model.name}: out-of-fold AUC {metrics['auc']:.3f}, threshold {model.threshold:.4f} "
          f"(FPR {metrics['fpr_at_threshold']:.3f} on {real} real clips, clean and augmented), "
          f"{(time.monotonic() - started) / 60:.1f} min")


if __name__ == "__main__":
    main()
