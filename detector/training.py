"""Training: class- and source-balanced tile batches, early stopping on held-out sources, resumable checkpoints."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import numpy as np

from detector.cache import DEFAULT_CACHE_DIR, augment_variants, warm_cache
from detector.calibration import fit_calibration
from detector.config import TrainConfig
from detector.data import Dataset
from detector.frames import FrameStore
from detector.metrics import clip_metrics
from detector.model import Detector, input_spec
from provenance.errors import BadInput, ModelError

CHECKPOINT_NAME = "checkpoint.safetensors"
CHECKPOINT_STATE_NAME = "checkpoint.json"
Progress = Callable[[str, int], Callable[[int], None]]
CALIBRATION_FOLDS = 5  # cross-fitting folds of source groups for the calibration logits


def no_progress(_label: str, _total: int) -> Callable[[int], None]:
    """A progress callback factory that shows nothing."""
    return lambda _n: None


class TileSampler:
    """Draws batches: label 50/50, then a source, a clip, a variant, a frame, a random tile and a flip; with
    `temporal`, each tile's window's temporal statistics too."""

    def __init__(self, dataset: Dataset, variants: list[str], store: FrameStore, tile_px: int,
                 temporal: bool = False) -> None:
        self.store, self.variants, self.tile_px, self.temporal = store, variants, tile_px, temporal
        self._temporal_memo: dict[tuple[str, str], np.ndarray] = {}
        self.by_label_source: dict[int, dict[str, list[str]]] = {0: {}, 1: {}}
        for clip in dataset.clips:
            self.by_label_source[clip.label].setdefault(clip.source, []).append(clip.path)
        if not self.by_label_source[0] or not self.by_label_source[1]:
            raise BadInput("training needs clips of both labels")

    def batch(self, size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        """(size, tile, tile, 3) uint8 tiles, their windows' (size, TEMPORAL_STATISTICS) temporal statistics (None
        without `temporal`) and their labels."""
        from detector.temporal import TEMPORAL_STATISTICS, temporal_statistics

        labels = rng.permutation(np.arange(size) % 2)
        tiles = np.empty((size, self.tile_px, self.tile_px, 3), dtype=np.uint8)
        temporal = np.empty((size, TEMPORAL_STATISTICS)) if self.temporal else None
        for i, label in enumerate(labels):
            sources = self.by_label_source[int(label)]
            source = list(sources)[rng.integers(len(sources))]
            path = sources[source][rng.integers(len(sources[source]))]
            variant = self.variants[rng.integers(len(self.variants))]
            frames = self.store.frames(path, variant)
            if temporal is not None:
                key = (path, variant)
                if key not in self._temporal_memo:
                    self._temporal_memo[key] = temporal_statistics(self.store.window(path, variant))
                temporal[i] = self._temporal_memo[key]
            frame = frames[rng.integers(len(frames))]
            top = rng.integers(0, frame.shape[0] - self.tile_px + 1)
            left = rng.integers(0, frame.shape[1] - self.tile_px + 1)
            tile = frame[top : top + self.tile_px, left : left + self.tile_px]
            tiles[i] = tile[:, ::-1] if rng.random() < 0.5 else tile
        return tiles, temporal, labels


def clip_statistics(clips, variants: list[str], store: FrameStore, tile_px: int, temporal: bool = False) -> dict:
    """Every scored tile's fixed statistics (with its window's temporal statistics if `temporal`) for each clip,
    under every variant: {clip: (tiles, statistics) array}."""
    from detector.model import FRAME_STRIDE
    from detector.network import statistics_of

    return {clip: np.concatenate([statistics_of(store.window(clip.path, v), tile_px, FRAME_STRIDE, temporal)
                                  for v in variants]) for clip in clips}


def fit_statistics(net, statistics: dict, clips, seed: int) -> None:
    """Fit the network's statistics head and forest on the tile statistics of `clips` (from `clip_statistics`)."""
    from detector.network import fit_statistics_head

    labels = [np.full(len(statistics[clip]), clip.label) for clip in clips]
    fit_statistics_head(net, np.concatenate([statistics[clip] for clip in clips]), np.concatenate(labels), seed)


def _refitted_without(detector: Detector, statistics: dict, kept_clips, seed: int) -> Detector:
    """The same network with its statistics head and forest refitted on `kept_clips` alone."""
    import copy

    net = copy.deepcopy(detector.net_)
    fit_statistics(net, statistics, kept_clips, seed)
    return Detector(net, detector.card)


def cross_fitting_folds(clips: Dataset, count: int = CALIBRATION_FOLDS) -> list[Dataset] | None:
    """Up to `count` folds of whole groups such that the clips outside each fold hold both labels; None if the
    groups do not allow it (a label with a single group)."""
    groups_per_label = min(len({c.group for c in clips.clips if c.label == label}) for label in (0, 1))
    folds = [fold for fold in clips.group_folds(min(count, groups_per_label)) if fold.clips]
    if len(folds) < 2:
        return None
    outside = [clips.without({c.group for c in fold.clips}) for fold in folds]
    return folds if all(len(set(rest.labels.tolist())) == 2 for rest in outside) else None


def calibration_logits(
    detector: Detector, statistics: dict | None, every_clip: Dataset, held_out: Dataset, store: FrameStore,
    variants: list[str], seed: int,
) -> tuple[np.ndarray, np.ndarray, list[Dataset]]:
    """Clip logits (under each of `variants`) that calibration and the threshold are fitted on, their labels,
    and the folds of clips they come from.

    With a statistics head (`statistics` given): every clip, each scored by a copy whose head and forest were
    refitted without the clip's fold of groups (cross-fitting), so the threshold rests on every real clip, none
    of which the part of the model that scores it saw. Otherwise: the held-out clips.
    """
    folds = cross_fitting_folds(every_clip) if statistics is not None else None
    if folds is None:
        scorer = detector if statistics is None else _refitted_without(
            detector, statistics, every_clip.without({c.group for c in held_out.clips}).clips, seed)
        folds, scorers = [held_out], [scorer]
    else:
        scorers = [_refitted_without(detector, statistics, every_clip.without({c.group for c in fold.clips}).clips,
                                     seed) for fold in folds]
    logits, labels = [], []
    for fold, scorer in zip(folds, scorers, strict=True):
        logits += [clip_logits(scorer, fold, store, v) for v in variants]
        labels += [fold.labels] * len(variants)
    return np.concatenate(logits), np.concatenate(labels), folds


def clip_logits(detector: Detector, dataset: Dataset, store: FrameStore, variant: str = "clean") -> np.ndarray:
    """Mean frame logit of every clip of `dataset` under `variant`."""
    return np.array([detector.frame_logits(store.window(c.path, variant)).mean() for c in dataset.clips])


def _flatten_optimizer(optimizer) -> dict:
    import torch

    flat = {}
    for param_id, state in optimizer.state_dict()["state"].items():
        for key, value in state.items():
            flat[f"opt.{param_id}.{key}"] = value if torch.is_tensor(value) else torch.tensor(value)
    return flat


def _restore_optimizer(optimizer, tensors: dict) -> None:
    state: dict[int, dict] = {}
    for name, value in tensors.items():
        if name.startswith("opt."):
            _, param_id, key = name.split(".", 2)
            state.setdefault(int(param_id), {})[key] = value
    optimizer.load_state_dict({"state": state, "param_groups": optimizer.state_dict()["param_groups"]})


def _prefixed(tensors: dict, prefix: str) -> dict:
    return {name[len(prefix) :]: value for name, value in tensors.items() if name.startswith(prefix)}


def train(
    dataset: Dataset,
    out_dir: str | os.PathLike,
    config: TrainConfig = TrainConfig(),
    cache_dir: str | os.PathLike = DEFAULT_CACHE_DIR,
    resume: bool = False,
    progress: Progress = no_progress,
    store: FrameStore | None = None,
    validation: Dataset | None = None,
    workers: int = 1,
) -> Detector:
    """Train, early-stop and calibrate a detector on `dataset`; save it (weights + card) into `out_dir`.

    validation: held-out clips for early stopping, calibration and the threshold; by default about
    `validation_fraction` of each label's clips, taken as whole groups.
    """
    import torch

    from detector.network import build, read_safetensors, write_safetensors

    out_dir = Path(out_dir)
    store = store or FrameStore(Path(cache_dir))
    train_set, held_out = (dataset, validation) if validation is not None else dataset.split_by_group(
        config.validation_fraction, config.seed)
    if len(set(held_out.labels.tolist())) < 2:
        raise BadInput("the held-out split needs real and generated clips; add sources of both labels")
    variants = ["clean", *augment_variants(config.augment_variants)]
    errors = warm_cache([c.path for c in train_set.clips], variants, store.cache_dir, workers,
                        progress("preparing clips", len(train_set) * len(variants)))
    errors += warm_cache([c.path for c in held_out.clips], variants[:2], store.cache_dir, workers, no_progress("", 0))
    if errors:
        raise BadInput(f"{len(errors)} clip(s) could not be read, first: {errors[0]}")

    torch.set_num_threads(config.torch_threads)
    torch.manual_seed(config.seed)
    net = build(config.backbone, config.weights, config.representation)
    every_clip = Dataset(tuple(dict.fromkeys(train_set.clips + held_out.clips)))
    statistics = None
    if config.representation.startswith("residual+statistics"):
        # Real sources are few, so this fit, which needs no early stopping, uses every clip; the held-out
        # clips still decide the backbone's early stopping, and calibration refits this head without the clips
        # it scores.
        statistics = clip_statistics(every_clip.clips, variants, store, config.tile_px, net.temporal)
        fit_statistics(net, statistics, every_clip.clips, config.seed)
    trainable = [p for p in net.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=config.learning_rate, weight_decay=config.weight_decay)
    card = {
        "name": config.name, "version": config.version, "backbone": config.backbone,
        "input": input_spec(config.tile_px, config.representation),
        "calibration": {"slope": 1.0, "intercept": 0.0, "threshold": 1.0, "inconclusive_from": 1.0},
    }
    detector = Detector(net, card)
    state = {"step": 0, "best_auc": -1.0, "stale_evals": 0, "history": []}
    best = {k: v.detach().clone() for k, v in net.state_dict().items()}
    checkpoint = out_dir / CHECKPOINT_NAME
    if resume and checkpoint.exists():
        tensors = read_safetensors(checkpoint)
        try:
            net.load_state_dict(_prefixed(tensors, "net."))
        except RuntimeError as exc:
            first_line = str(exc).splitlines()[0]
            raise ModelError(f"{checkpoint} does not fit this network ({first_line}); remove it to start afresh"
                             ) from None
        best = _prefixed(tensors, "best.")
        _restore_optimizer(optimizer, tensors)
        state = json.loads((out_dir / CHECKPOINT_STATE_NAME).read_text())

    sampler = TileSampler(train_set, variants, store, config.tile_px, net.temporal)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    advance = progress("training", config.max_steps - state["step"])
    running: list[float] = []

    def check() -> None:
        """Score the held-out clips, keep the best weights so far, and write the checkpoint.

        A few dozen held-out clips give AUCs that move by a few hundredths by chance, so trained weights are kept
        only if they beat the untrained network by `min_gain_auc`.
        """
        nonlocal best, running
        auc = clip_metrics(held_out.labels, clip_logits(detector, held_out, store))["auc"]
        train_loss = float(np.mean(running)) if running else None
        state["history"].append({"step": state["step"], "train_loss": train_loss, "held_out_auc": auc})
        running = []
        untrained = len(state["history"]) == 1
        beats_untrained = auc >= state["history"][0]["held_out_auc"] + config.min_gain_auc
        keep = untrained or (beats_untrained and auc >= state["best_auc"])
        state["stale_evals"] = 0 if keep and auc > state["best_auc"] else state["stale_evals"] + 1
        if keep:
            state["best_auc"] = auc
            best = {k: v.detach().clone() for k, v in net.state_dict().items()}
        tensors = {**{f"net.{k}": v for k, v in net.state_dict().items()},
                   **{f"best.{k}": v for k, v in best.items()}, **_flatten_optimizer(optimizer)}
        write_safetensors(tensors, checkpoint)
        (out_dir / CHECKPOINT_STATE_NAME).write_text(json.dumps(state))

    out_dir.mkdir(parents=True, exist_ok=True)  # only now, so rejected data leaves no empty model folder
    if not state["history"]:
        check()  # the untrained network counts too: training keeps the backbone only where it helps
    while state["step"] < config.max_steps and state["stale_evals"] < config.patience_evals:
        net.train()
        tiles, temporal, labels = sampler.batch(config.batch_size, np.random.default_rng([config.seed, state["step"]]))
        inputs = torch.from_numpy(tiles).permute(0, 3, 1, 2).float().div_(255.0)
        logits = net(inputs, None if temporal is None else torch.from_numpy(temporal).float())
        loss = loss_fn(logits, torch.from_numpy(labels).float())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        running.append(loss.item())
        state["step"] += 1
        advance(1)
        if state["step"] % config.eval_every_steps == 0 or state["step"] == config.max_steps:
            check()

    net.load_state_dict(best)
    logits, labels, calibration_folds = calibration_logits(
        detector, statistics, every_clip, held_out, store, variants[:2], config.seed)
    calibration_clips = Dataset(tuple(c for fold in calibration_folds for c in fold.clips))
    calibration = fit_calibration(logits, labels)
    detector = Detector(net, {
        **card,
        "calibration": calibration.to_dict(),
        "threshold": calibration.threshold,
        "training": {**asdict(config), "steps": state["step"], "history": state["history"]},
        "data": {"train": train_set.summary(), "held_out": held_out.summary(),
                 # folds: how many cross-fitting folds the calibration logits came from (1: the held-out clips)
                 "calibration": {**calibration_clips.summary(), "variants": variants[:2],
                                 "folds": len(calibration_folds)}},
        "metrics": {"calibration_clean_and_augmented": clip_metrics(
            labels, calibration.probability(logits), calibration.threshold)},
    })
    detector.save(out_dir)
    return detector
