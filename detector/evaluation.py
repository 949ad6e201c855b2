"""Evaluation of a trained detector (overall, per source, per distortion) and leave-one-generator-out runs."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from detector.cache import DEFAULT_CACHE_DIR, augment_variants, warm_cache
from detector.config import TrainConfig
from detector.data import Dataset
from detector.distortions import CONDITIONS
from detector.frames import FrameStore
from detector.metrics import clip_metrics, format_table, plot_roc
from detector.model import Detector
from detector.training import Progress, clip_logits, no_progress, train
from provenance.errors import BadInput
from provenance.files import atomic_output, check_output

LOGO_CONDITIONS = ("clean", "h264-crf28+downscale-50")
REAL_FOLDS = 3


def _prepared_store(
    dataset: Dataset, conditions: Sequence[str], cache_dir, workers: int, progress: Progress
) -> FrameStore:
    store = FrameStore(Path(cache_dir))
    errors = warm_cache([c.path for c in dataset.clips], conditions, store.cache_dir, workers,
                        progress("preparing clips", len(dataset) * len(conditions)))
    if errors:
        raise BadInput(f"{len(errors)} clip(s) could not be read, first: {errors[0]}")
    return store


def evaluate(
    detector: Detector,
    dataset: Dataset,
    conditions: Sequence[str] = tuple(CONDITIONS),
    cache_dir: str | os.PathLike = DEFAULT_CACHE_DIR,
    out_json: str | os.PathLike | None = None,
    roc_png: str | os.PathLike | None = None,
    progress: Progress = no_progress,
    workers: int = 1,
    overwrite: bool = False,
) -> dict:
    """Metrics of `detector` on `dataset`: per distortion, per source (clean), per generator vs all real.

    An existing `out_json` or `roc_png` is refused unless `overwrite`.
    """
    _check_outputs(out_json, roc_png, overwrite)
    store = _prepared_store(dataset, conditions, cache_dir, workers, progress)
    threshold = detector.threshold
    labels = dataset.labels
    scores: dict[str, np.ndarray] = {}
    advance = progress("scoring", len(conditions))
    for name in conditions:
        scores[name] = detector.calibration.probability(clip_logits(detector, dataset, store, name))
        advance(1)
    clean = scores[conditions[0]]
    real = labels == 0
    per_source = {}
    for source in dataset.sources():
        members = np.array([c.source == source for c in dataset.clips])
        if labels[members][0] == 1:
            chosen = members | real
            per_source[f"generated/{source}"] = clip_metrics(labels[chosen], clean[chosen], threshold)
        else:
            per_source[f"real/{source}"] = clip_metrics(labels[members], clean[members], threshold)
    report = {
        "model": detector.name,
        "threshold": threshold,
        "data": dataset.summary(),
        "per_distortion": {n: clip_metrics(labels, s, threshold) for n, s in scores.items()},
        "per_source": per_source,
        "scores": {n: {c.path: float(v) for c, v in zip(dataset.clips, s, strict=True)} for n, s in scores.items()},
    }
    _write_outputs(report, {n: (labels, s) for n, s in scores.items()}, out_json, roc_png, f"{detector.name}",
                   overwrite)
    return report


def _check_outputs(out_json, roc_png, overwrite: bool) -> None:
    """Refuse unusable report paths before any work, so a long evaluation does not fail at its end."""
    for path in filter(None, (out_json, roc_png)):
        check_output(path, overwrite=overwrite)


def _write_outputs(report: dict, curves: dict, out_json, roc_png, title: str, overwrite: bool) -> None:
    if out_json is not None:
        with atomic_output(out_json, overwrite=overwrite) as tmp:
            tmp.write_text(json.dumps(report, indent=2) + "\n")
    if roc_png is not None:
        with atomic_output(roc_png, overwrite=overwrite) as tmp:
            plot_roc(curves, tmp, title)


def real_folds(dataset: Dataset, count: int = REAL_FOLDS) -> list[list[str]]:
    """Partition the groups holding only real clips into `count` parts of similar clip counts."""
    generated_groups = {c.group for c in dataset.clips if c.label == 1}
    sizes: dict[str, int] = {}
    for clip in dataset.clips:
        if clip.group not in generated_groups:
            sizes[clip.group] = sizes.get(clip.group, 0) + 1
    parts: list[list[str]] = [[] for _ in range(count)]
    totals = [0] * count
    for group in sorted(sizes, key=lambda g: (-sizes[g], g)):
        smallest = int(np.argmin(totals))
        parts[smallest].append(group)
        totals[smallest] += sizes[group]
    return parts


def leave_one_generator_out(
    dataset: Dataset,
    work_dir: str | os.PathLike,
    config: TrainConfig | None = None,
    conditions: Sequence[str] = LOGO_CONDITIONS,
    cache_dir: str | os.PathLike = DEFAULT_CACHE_DIR,
    progress: Progress = no_progress,
    out_json: str | os.PathLike | None = None,
    roc_png: str | os.PathLike | None = None,
    workers: int = 1,
    overwrite: bool = False,
) -> dict:
    """Hold out each generator in turn (with its paired real sources and one part of the real sources),
    train the network and the statistics baseline on the rest, and score the held-out clips.

    An existing `out_json` or `roc_png` is refused unless `overwrite`.
    """
    _check_outputs(out_json, roc_png, overwrite)
    from detector.baseline import StatisticsBaseline

    config = config or TrainConfig()
    variants = ["clean", *augment_variants(config.augment_variants)]
    store = _prepared_store(dataset, list(dict.fromkeys([*variants, *conditions])), cache_dir, workers, progress)
    parts = real_folds(dataset)
    feature_memo: dict = {}
    generators = dataset.sources(label=1)
    folds = {}
    pooled: dict[str, dict[str, list]] = {m: {c: [] for c in conditions} for m in ("network", "baseline")}
    pooled_labels: list[np.ndarray] = []
    for index, generator in enumerate(generators):
        group = next(c.group for c in dataset.clips if c.source == generator)
        test = dataset.where([group, *parts[index % len(parts)]])
        training = dataset.without([c.group for c in test.clips])
        fold_dir = Path(work_dir) / f"fold-{index:02d}-{generator}"
        detector = train(training, fold_dir, replace(config, seed=config.seed + index), cache_dir, resume=True,
                         progress=progress, store=store, workers=workers)
        baseline = StatisticsBaseline(store, feature_memo).fit(training, variants)
        fold = {"generator": generator, "test": test.summary(), "network": {}, "baseline": {}}
        for name in conditions:
            network_scores = detector.calibration.probability(clip_logits(detector, test, store, name))
            baseline_scores = baseline.predict_proba(test, name)
            fold["network"][name] = clip_metrics(test.labels, network_scores, detector.threshold)
            fold["baseline"][name] = clip_metrics(test.labels, baseline_scores, 0.5)
            pooled["network"][name].append(network_scores)
            pooled["baseline"][name].append(baseline_scores)
        pooled_labels.append(test.labels)
        folds[generator] = fold
    labels = np.concatenate(pooled_labels)
    summary = {
        method: {name: {
            "mean_auc": float(np.mean([f[method][name]["auc"] for f in folds.values()])),
            "min_auc": float(np.min([f[method][name]["auc"] for f in folds.values()])),
            "pooled": clip_metrics(labels, np.concatenate(pooled[method][name])),
        } for name in conditions}
        for method in ("network", "baseline")
    }
    report = {"protocol": "leave-one-generator-out", "real_folds": parts, "config": config.__dict__,
              "summary": summary, "folds": folds}
    curves = {f"{m} {n}": (labels, np.concatenate(pooled[m][n])) for m in pooled for n in conditions}
    _write_outputs(report, curves, out_json, roc_png, "leave-one-generator-out (pooled)", overwrite)
    return report


def logo_table(report: dict) -> str:
    """Per generator and condition: AUC of network and baseline side by side, then the share of the generator's
    clips the network detects at its threshold and of the fold's real clips it flags there; then the means."""
    conditions = list(report["summary"]["network"])
    rows = {}
    for generator, fold in report["folds"].items():
        rows[generator] = {}
        for name in conditions:
            network = fold["network"][name]
            rows[generator] |= {f"net {name}": network["auc"], f"bas {name}": fold["baseline"][name]["auc"],
                                f"det {name}": network["tpr_at_threshold"], f"fp {name}": network["fpr_at_threshold"]}
    columns = list(rows[next(iter(rows))])
    rows["mean"] = {column: float(np.mean([row[column] for row in rows.values()])) for column in columns}
    return format_table(rows, columns)
