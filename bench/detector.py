"""Detector benchmarks, each printed as a table beside the statistics baseline measured in the same run.

  speed     clips/s scoring 10-second 720p clips (real sample clips scaled up to 1280x720, said so)
  accuracy  leave-one-generator-out on ../shared/data: AUC clean and after H.264 CRF 28 + 50% downscale

Usage: .venv/bin/python bench/detector.py speed [--clips N] [--model DIR]
       .venv/bin/python bench/detector.py accuracy [--steps N] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

# This file shares its name with the package it measures: keep its own folder off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import cv2  # noqa: E402

from detector.baseline import clip_features  # noqa: E402
from detector.config import TrainConfig  # noqa: E402
from detector.data import load_dataset  # noqa: E402
from detector.evaluation import leave_one_generator_out, logo_table  # noqa: E402
from detector.model import load  # noqa: E402
from detector.normalise import normalise  # noqa: E402
from provenance import media  # noqa: E402

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
CACHE = Path(__file__).resolve().parent / ".cache"
HD_SIZE = (1280, 720)
PAIRS = {
    "text2video-zero-input-videos": "text2video-zero",
    "motiondirector-reference-motion-clip": "motiondirector",
}


def hd_clips(count: int) -> list[Path]:
    """10-second 720p H.264 clips made by scaling up 10-second real sample clips (built once, cached)."""
    fps = 25.0  # the UCF101 sample clips: 250 frames at 25 fps
    sources = sorted((SHARED_DATA / "clips" / "real" / "ucf101").glob("*.mp4"))[:count]
    CACHE.mkdir(exist_ok=True)
    clips = []
    for source in sources:
        target = CACHE / f"hd-{source.stem}.mp4"
        if not target.exists():
            frames = (cv2.resize(f, HD_SIZE, interpolation=cv2.INTER_CUBIC) for f in media.iter_frames(source))
            media.write_video(target, frames, fps, crf=20, preset="veryfast")
        clips.append(target)
    return clips


def speed(args: argparse.Namespace) -> None:
    clips = hd_clips(args.clips)
    model = load(args.model, threads=args.threads)
    next(model.score_many(clips[:1]))  # warm-up: first-call allocation is not steady-state cost
    started = time.perf_counter()
    scores = list(model.score_many(clips))
    network_s = time.perf_counter() - started
    started = time.perf_counter()
    for clip in clips:
        clip_features(normalise(clip).frames[:: model.card["input"]["frame_stride"]])
    baseline_s = time.perf_counter() - started
    info = media.probe(clips[0])
    print(f"{len(clips)} clips of {info.width}x{info.height}, {info.duration_s:.1f} s at {info.fps:.0f} fps "
          f"(real UCF101 clips scaled up to 720p); model {scores[0].model}")
    print(f"{'method':<22}{'clips/s':>10}{'s/clip':>10}{'vs baseline':>14}")
    for name, seconds in (("network (score_many)", network_s), ("statistics baseline", baseline_s)):
        print(f"{name:<22}{len(clips) / seconds:>10.2f}{seconds / len(clips):>10.3f}{baseline_s / seconds:>14.2f}")


def accuracy(args: argparse.Namespace) -> None:
    dataset = load_dataset(SHARED_DATA / "clips.csv", PAIRS)
    shutil.rmtree(args.out / "folds", ignore_errors=True)  # folds left by an earlier version would be resumed
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    config = TrainConfig(max_steps=args.steps, representation=args.representation, tile_px=args.tile,
                         backbone=args.backbone, learning_rate=args.learning_rate, seed=args.seed,
                         min_gain_auc=args.min_gain_auc)
    report = leave_one_generator_out(dataset, args.out / "folds", config,
                                     out_json=args.out / "logo.json", roc_png=args.out / "logo-roc.png",
                                     workers=args.workers)
    print(logo_table(report))
    print(json.dumps(report["summary"], indent=1))
    print(f"{(time.perf_counter() - started) / 60:.1f} min")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    speed_parser = commands.add_parser("speed")
    speed_parser.add_argument("--clips", type=int, default=6)
    speed_parser.add_argument("--model", type=Path, default=None)
    speed_parser.add_argument("--threads", type=int, default=1)
    accuracy_parser = commands.add_parser("accuracy")
    accuracy_parser.add_argument("--steps", type=int, default=TrainConfig.max_steps)
    accuracy_parser.add_argument("--workers", type=int, default=2)
    accuracy_parser.add_argument("--representation", default=TrainConfig.representation,
                                 choices=["residual+statistics", "rgb+residual", "residual", "residual-spectrum"])
    accuracy_parser.add_argument("--tile", type=int, default=TrainConfig.tile_px,
                                 help="tile side in px (128 = the whole frame)")
    accuracy_parser.add_argument("--backbone", default=TrainConfig.backbone)
    accuracy_parser.add_argument("--learning-rate", type=float, default=TrainConfig.learning_rate)
    accuracy_parser.add_argument("--seed", type=int, default=TrainConfig.seed,
                                 help="fold k trains with seed + k (inner split, initialisation, batches)")
    accuracy_parser.add_argument("--min-gain-auc", type=float, default=TrainConfig.min_gain_auc,
                                 help="a trained backbone is kept only if it beats the untrained one by this inner AUC")
    accuracy_parser.add_argument("--out", type=Path, default=CACHE / "logo")
    args = parser.parse_args()
    {"speed": speed, "accuracy": accuracy}[args.command](args)


if __name__ == "__main__":
    main()
