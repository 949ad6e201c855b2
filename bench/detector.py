"""Detector benchmarks, each printed as a table beside the statistics baseline measured in the same run.

  speed     clips/s scoring 10-second 720p clips (real sample clips scaled up to 1280x720, said so)
  accuracy  leave-one-generator-out on the development part of ../shared/data: AUC clean and after H.264 CRF 28
            + 50% downscale, and the share of the held-out generator's clips detected at each fold's threshold
  held-out  the final test: a model trained on the development clips scores the held-out sources
            (detector.sample_data.HELD_OUT_SOURCES), which no choice of method looked at
  false-positives  real clips scored by models that never saw their source, clean and after each of the
            platform transforms: false-positive rate at each model's own threshold, share inconclusive,
            and the generated clips' detection rate

Usage: .venv/bin/python bench/detector.py speed [--clips N] [--model DIR]
       .venv/bin/python bench/detector.py accuracy [--steps N] [--out DIR]
       .venv/bin/python bench/detector.py held-out [--steps N] [--out DIR]
       .venv/bin/python bench/detector.py false-positives [--folds K] [--steps N] [--out DIR]
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import itertools
import json
import os
import shutil
import sys
import time
from pathlib import Path

# This file shares its name with the package it measures: keep its own folder off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from detector.baseline import StatisticsBaseline, clip_features  # noqa: E402
from detector.cache import DEFAULT_CACHE_DIR, augment_variants, load_window, warm_cache  # noqa: E402
from detector.calibration import MAX_FALSE_POSITIVE_RATE, threshold_for_fpr  # noqa: E402
from detector.config import TrainConfig  # noqa: E402
from detector.data import Dataset  # noqa: E402
from detector.distortions import TRANSFORMS  # noqa: E402
from detector.evaluation import evaluate, leave_one_generator_out, logo_table  # noqa: E402
from detector.frames import FrameStore  # noqa: E402
from detector.metrics import clip_metrics  # noqa: E402
from detector.model import load  # noqa: E402
from detector.network import REPRESENTATIONS  # noqa: E402
from detector.normalise import normalise  # noqa: E402
from detector.sample_data import SAMPLE_DATA, development_and_held_out, sample_dataset  # noqa: E402
from detector.training import train  # noqa: E402
from provenance import media  # noqa: E402

CACHE = Path(__file__).resolve().parent / ".cache"
HD_SIZE = (1280, 720)


def hd_clips(count: int) -> list[Path]:
    """10-second 720p H.264 clips made by scaling up 10-second real sample clips (built once, cached)."""
    fps = 25.0  # the UCF101 sample clips: 250 frames at 25 fps
    sources = sorted((SAMPLE_DATA / "clips" / "real" / "ucf101").glob("*.mp4"))[:count]
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


def recipe(args: argparse.Namespace) -> TrainConfig:
    """The training settings of the run: the reference recipe unless the arguments change it."""
    return TrainConfig(max_steps=args.steps, representation=args.representation, tile_px=args.tile,
                       backbone=args.backbone, learning_rate=args.learning_rate, seed=args.seed,
                       min_gain_auc=args.min_gain_auc)


def accuracy(args: argparse.Namespace) -> None:
    dataset, held_out = development_and_held_out(sample_dataset())
    print(f"development clips: {dataset.summary()['real']} real, {dataset.summary()['generated']} generated "
          f"({len(held_out)} clips of held-out sources left out)", flush=True)
    shutil.rmtree(args.out / "folds", ignore_errors=True)  # folds left by an earlier version would be resumed
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    report = leave_one_generator_out(dataset, args.out / "folds", recipe(args),
                                     out_json=args.out / "logo.json", roc_png=args.out / "logo-roc.png", overwrite=True,
                                     workers=args.workers)
    print(logo_table(report))
    print(json.dumps(report["summary"], indent=1))
    print(f"{(time.perf_counter() - started) / 60:.1f} min")


def held_out_test(args: argparse.Namespace) -> None:
    development, held_out = development_and_held_out(sample_dataset())
    started = time.perf_counter()
    config = recipe(args)
    model = train(development, args.out / "model", config, resume=True, workers=args.workers)
    variants = ["clean", *augment_variants(config.augment_variants)]
    store = FrameStore(DEFAULT_CACHE_DIR)
    baseline, baseline_threshold = cross_fitted_baseline(development, store, {}, variants)
    report = evaluate(model, held_out, ("clean", "h264-crf28+downscale-50"), out_json=args.out / "held-out.json",
                      overwrite=True, workers=args.workers)
    print(f"trained on {len(development)} development clips; {held_out.summary()['real']} real and "
          f"{held_out.summary()['generated']} generated clips of held-out sources: "
          f"{', '.join(sorted(held_out.sources()))}")
    print(f"{'condition':<26}{'AUC':>7}{'detected':>10}{'real flagged':>14}{'base AUC':>10}{'base det.':>11}"
          f"{'base flagged':>14}{'AUC ratio':>11}")
    for name, metrics in report["per_distortion"].items():
        base = clip_metrics(held_out.labels, baseline.predict_proba(held_out, name), baseline_threshold)
        print(f"{name:<26}{metrics['auc']:>7.3f}{metrics['tpr_at_threshold']:>10.3f}"
              f"{metrics['fpr_at_threshold']:>14.3f}{base['auc']:>10.3f}{base['tpr_at_threshold']:>11.3f}"
              f"{base['fpr_at_threshold']:>14.3f}{metrics['auc'] / base['auc']:>11.2f}")
    print(f"{'generator (clean)':<26}{'AUC':>7}{'detected':>10}")
    for name, metrics in report["per_source"].items():
        if name.startswith("generated/"):
            print(f"{name.removeprefix('generated/'):<26}{metrics['auc']:>7.3f}{metrics['tpr_at_threshold']:>10.3f}")
    print(f"{(time.perf_counter() - started) / 60:.1f} min")


AUDIT_FOLDS = 4
HALF_RATE = "fps-half"  # made from the clip file, not the window: the frame rate decides which frames the window keeps
HALF_RATE_SECONDS = 3.0  # the half-rate copies keep this much of each clip, more than the 2-second window
HALF_RATE_CRF = 18
AUDIT_CONDITIONS = ("clean", *TRANSFORMS, "h264-crf40", "downscale-50", HALF_RATE)
BASELINE_FOLDS = 5


def half_rate_copy(path: str, folder: Path) -> str:
    """The clip's first seconds at half its frame rate (every other frame, H.264 CRF 18), made once."""
    target = folder / f"{hashlib.sha256(str(Path(path).resolve()).encode()).hexdigest()[:24]}.mp4"
    if not target.exists():
        folder.mkdir(parents=True, exist_ok=True)
        timed = itertools.takewhile(lambda pair: pair[0] < HALF_RATE_SECONDS, media.iter_timed_frames(path))
        kept = itertools.islice((frame for _, frame in timed), 0, None, 2)
        partial = target.with_suffix(f".{os.getpid()}.part.mp4")
        media.write_video(partial, kept, media.probe(path).fps / 2, crf=HALF_RATE_CRF, preset="veryfast")
        os.replace(partial, target)
    return str(target)


def audit_views(clips: Dataset, half_rate: dict[str, str]) -> dict[str, tuple[Dataset, str]]:
    """For each audit condition, the clips to read and the cached variant to read them under."""
    halved = Dataset(tuple(dataclasses.replace(c, path=half_rate[c.path]) for c in clips.clips))
    return {name: (halved, "clean") if name == HALF_RATE else (clips, name) for name in AUDIT_CONDITIONS}


def cross_fitted_baseline(training: Dataset, store: FrameStore, memo: dict, variants: list[str]) -> tuple:
    """The statistics baseline fitted on `training`, and its threshold for at most 1% false positives, set on
    out-of-fold scores of the training real clips (clean and one augmented form)."""
    real_scores = []
    for fold in training.group_folds(BASELINE_FOLDS):
        inner = StatisticsBaseline(store, memo).fit(training.without({c.group for c in fold.clips}), variants)
        real = Dataset(tuple(c for c in fold.clips if c.label == 0))
        real_scores += [inner.predict_proba(real, v) for v in variants[:2] if real.clips]
    baseline = StatisticsBaseline(store, memo).fit(training, variants)
    return baseline, threshold_for_fpr(np.concatenate(real_scores), MAX_FALSE_POSITIVE_RATE)


def audit_fold(index: int, held_out: Dataset, training: Dataset, views: dict, store: FrameStore, memo: dict,
               args: argparse.Namespace) -> list[dict]:
    """Train on `training` with the reference recipe and score every held-out clip under every condition."""
    config = TrainConfig(max_steps=args.steps, seed=args.seed + index)
    model = train(training, args.out / f"fold-{index}", config, resume=True, store=store, workers=args.workers)
    variants = ["clean", *augment_variants(config.augment_variants)]
    baseline, baseline_threshold = cross_fitted_baseline(training, store, memo, variants)
    records = []
    for name, (clips, variant) in views.items():
        baseline_scores = baseline.predict_proba(clips, variant)
        for clip, original, baseline_score in zip(clips.clips, held_out.clips, baseline_scores, strict=True):
            result = model.score_window(clip.path, load_window(clip.path, variant, store.cache_dir))
            records.append({"path": original.path, "label": clip.label, "source": clip.source, "condition": name,
                            "fold": index, "score": result.score, "verdict": result.verdict, "note": result.note,
                            "threshold": model.threshold, "baseline_score": float(baseline_score),
                            "baseline_flagged": bool(baseline_score >= baseline_threshold)})
    print(f"fold {index}: {held_out.summary()['real']} real and {held_out.summary()['generated']} generated clips "
          f"held out ({', '.join(sorted({c.group for c in held_out.clips}))}); threshold {model.threshold:.4f}, "
          f"baseline's {baseline_threshold:.4f}", flush=True)
    return records


def _share(records: list[dict], key: str, value: object) -> float:
    return float(np.mean([r[key] == value for r in records]))


def audit_table(records: list[dict]) -> str:
    """One row per condition: real clips flagged and inconclusive, generated clips detected, the baseline's."""
    lines = [f"{'condition':<16}{'real FPR':>9}{'flagged':>9}{'inconcl.':>9}{'gen TPR':>9}{'inconcl.':>9}"
             f"{'base FPR':>9}{'base TPR':>9}  real clips flagged (source)"]
    for name in AUDIT_CONDITIONS:
        real = [r for r in records if r["condition"] == name and r["label"] == 0]
        generated = [r for r in records if r["condition"] == name and r["label"] == 1]
        flagged = [r["source"] for r in real if r["verdict"] == "ai-generated"]
        sources = ", ".join(f"{source} {flagged.count(source)}" for source in sorted(set(flagged)))
        cells = (_share(real, "verdict", "ai-generated"), _share(real, "verdict", "inconclusive"),
                 _share(generated, "verdict", "ai-generated"), _share(generated, "verdict", "inconclusive"),
                 _share(real, "baseline_flagged", True), _share(generated, "baseline_flagged", True))
        lines.append(f"{name:<16}{cells[0]:>9.3f}{len(flagged):>6}/{len(real):<2}"
                     + "".join(f"{c:>9.3f}" for c in cells[1:]) + f"  {sources}")
    return "\n".join(lines)


def false_positives(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    dataset = sample_dataset()
    args.out.mkdir(parents=True, exist_ok=True)
    store = FrameStore(DEFAULT_CACHE_DIR)
    half_rate = {c.path: half_rate_copy(c.path, args.out / HALF_RATE) for c in dataset.clips}
    conditions = [n for n in AUDIT_CONDITIONS if n != HALF_RATE]
    errors = warm_cache([c.path for c in dataset.clips], conditions, store.cache_dir, args.workers)
    errors += warm_cache(list(half_rate.values()), ["clean"], store.cache_dir, args.workers)
    if errors:
        raise SystemExit(f"{len(errors)} clip(s) could not be prepared, first: {errors[0]}")
    print(f"windows ready: {(time.perf_counter() - started) / 60:.1f} min", flush=True)
    records: list[dict] = []
    memo: dict = {}
    for index, held_out in enumerate(dataset.group_folds(args.folds)):
        training = dataset.without({c.group for c in held_out.clips})
        records += audit_fold(index, held_out, training, audit_views(held_out, half_rate), store, memo, args)
    (args.out / "false-positives.json").write_text(json.dumps(records) + "\n")
    print(audit_table(records))
    print(f"{(time.perf_counter() - started) / 60:.1f} min")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    speed_parser = commands.add_parser("speed")
    speed_parser.add_argument("--clips", type=int, default=6)
    speed_parser.add_argument("--model", type=Path, default=None)
    speed_parser.add_argument("--threads", type=int, default=1)
    for name, out in (("accuracy", "logo"), ("held-out", "held-out")):
        recipe_parser = commands.add_parser(name)
        recipe_parser.add_argument("--steps", type=int, default=TrainConfig.max_steps)
        recipe_parser.add_argument("--workers", type=int, default=2)
        recipe_parser.add_argument("--representation", default=TrainConfig.representation, choices=REPRESENTATIONS)
        recipe_parser.add_argument("--tile", type=int, default=TrainConfig.tile_px,
                                   help="tile side in px (128 = the whole frame)")
        recipe_parser.add_argument("--backbone", default=TrainConfig.backbone)
        recipe_parser.add_argument("--learning-rate", type=float, default=TrainConfig.learning_rate)
        recipe_parser.add_argument("--seed", type=int, default=TrainConfig.seed,
                                   help="fold k trains with seed + k (inner split, initialisation, batches)")
        recipe_parser.add_argument("--min-gain-auc", type=float, default=TrainConfig.min_gain_auc,
                                   help="a trained backbone is kept only if it beats the untrained one by this AUC")
        recipe_parser.add_argument("--out", type=Path, default=CACHE / out)
    audit_parser = commands.add_parser("false-positives")
    audit_parser.add_argument("--folds", type=int, default=AUDIT_FOLDS, help="parts the sources are split into")
    audit_parser.add_argument("--steps", type=int, default=TrainConfig.max_steps)
    audit_parser.add_argument("--seed", type=int, default=TrainConfig.seed)
    audit_parser.add_argument("--workers", type=int, default=2)
    audit_parser.add_argument("--out", type=Path, default=CACHE / "false-positives")
    args = parser.parse_args()
    run = {"speed": speed, "accuracy": accuracy, "held-out": held_out_test, "false-positives": false_positives}
    run[args.command](args)


if __name__ == "__main__":
    main()
