"""Detector: training, reloading, calibration, metrics, scoring API and command, refusal of unsafe weights."""

from __future__ import annotations

import json
import pickle
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from safetensors.torch import load_file, save_file
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

import detector
import detector.cli as detector_cli
from detector.calibration import fit_calibration
from detector.distortions import TRANSFORMS
from detector.forest import FOREST_MAX_LEAVES, FOREST_MIN_LEAF_ROWS, FOREST_PROBABILITY_FLOOR, FOREST_TREES
from detector.metrics import clip_metrics, expected_calibration_error
from detector.model import FRAME_STRIDE, WEIGHTS_NAME
from detector.network import (
    FOREST_WEIGHT,
    INTENSITY_BANDS,
    STATISTICS_INVERSE_L2,
    STATISTICS_MIN_SCALE,
    energy_by_intensity,
    high_pass,
    statistics_of,
)
from detector.normalise import FRAME_SIDE_PX, TARGET_FPS, WINDOW_SECONDS, normalise
from detector.temporal import TEMPORAL_STATISTICS, temporal_statistics
from provenance import media
from provenance.cli import cli
from provenance.errors import BadInput, ModelError

CLIP_SIDE_PX = 128
CLIP_FRAMES = 20


def camera_frames(seed: int) -> list[np.ndarray]:
    """Smooth moving scene with fresh per-pixel sensor noise in every frame."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:CLIP_SIDE_PX, 0:CLIP_SIDE_PX].astype(np.float32)
    frames = []
    for t in range(CLIP_FRAMES):
        base = np.stack([80 + xx + t, 90 + yy, 140 - 0.5 * xx], -1)
        frames.append(np.clip(base + rng.normal(0, 8, base.shape), 0, 255).astype(np.uint8))
    return frames


def generated_frames(seed: int) -> list[np.ndarray]:
    """The same kind of scene with blocky, upsampled texture (a decoder's checkerboard trace)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:CLIP_SIDE_PX, 0:CLIP_SIDE_PX].astype(np.float32)
    texture = np.kron(rng.normal(0, 14, (CLIP_SIDE_PX // 4, CLIP_SIDE_PX // 4, 3)), np.ones((4, 4, 1)))
    frames = []
    for t in range(CLIP_FRAMES):
        base = np.stack([80 + xx + t, 90 + yy, 140 - 0.5 * xx], -1)
        frames.append(np.clip(base + np.roll(texture, t, axis=1), 0, 255).astype(np.uint8))
    return frames


@pytest.fixture(scope="session")
def clip_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """real/ and generated/, two sources each, two tiny H.264 clips per source."""
    root = tmp_path_factory.mktemp("detector-data")
    for label, make in (("real", camera_frames), ("generated", generated_frames)):
        for source_index in range(2):
            folder = root / label / f"{label}-source-{source_index}"
            folder.mkdir(parents=True)
            for clip_index in range(2):
                seed = 100 * source_index + clip_index + (0 if label == "real" else 1000)
                media.write_video(folder / f"clip{clip_index}.mp4", make(seed), fps=12)
    return root


@pytest.fixture(scope="session")
def trained(clip_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[detector.Detector, Path]:
    out = tmp_path_factory.mktemp("detector-model")
    config = detector.TrainConfig(tile_px=32, batch_size=16, max_steps=30, eval_every_steps=10, patience_evals=10,
                                  augment_variants=1, name="tiny")
    cache = tmp_path_factory.mktemp("detector-cache")
    model = detector.train(detector.load_dataset(clip_folder), out, config, cache_dir=cache)
    return model, out


def test_training_lowers_the_loss(clip_folder: Path, tmp_path: Path) -> None:
    """On the backbone alone: the default network's fitted statistics head already separates these clips."""
    config = detector.TrainConfig(tile_px=32, batch_size=16, max_steps=60, eval_every_steps=20, patience_evals=10,
                                  augment_variants=1, representation="residual")
    model = detector.train(detector.load_dataset(clip_folder), tmp_path / "model", config, cache_dir=tmp_path / "c")
    history = model.card["training"]["history"]
    assert history[-1]["train_loss"] < 0.5 * history[1]["train_loss"]


def test_trained_model_reloads_to_identical_scores(trained, clip_folder: Path) -> None:
    model, out = trained
    history = model.card["training"]["history"]
    assert history[0] == {**history[0], "step": 0, "train_loss": None}  # the untrained network is checked too
    card = json.loads((out / "model.json").read_text())
    assert card["backbone"] == detector.TrainConfig.backbone and 0 <= card["threshold"] <= 1
    assert card["data"]["train"]["clips"] + card["data"]["held_out"]["clips"] == 8
    assert card["data"]["calibration"]["clips"] == 8 and card["data"]["calibration"]["folds"] == 2
    clip = next((clip_folder / "generated").rglob("*.mp4"))
    reloaded = detector.load(out)
    first, again = model.score(clip), reloaded.score(clip)
    assert first.score == again.score
    assert [s for _, s in first.frames] == [s for _, s in again.frames]


def test_score_gives_probability_verdict_and_timed_frames(trained, clip_folder: Path) -> None:
    model, _ = trained
    clips = sorted(clip_folder.rglob("*.mp4"))
    results = list(model.score_many(clips))
    assert [r.path for r in results] == [str(c) for c in clips]
    for result in results:
        assert 0.0 <= result.score <= 1.0
        assert result.verdict in ("ai-generated", "inconclusive", "real")
        assert result.model == "tiny@1"
        times = [t for t, _ in result.frames]
        assert times == sorted(times) and len(times) >= 2
        assert set(result.to_dict()) == {"path", "score", "verdict", "threshold", "model", "frames", "note"}
        assert result.note is None, "the test clips are large enough for the model"


def test_clips_unlike_the_matched_form_are_inconclusive(trained, clip_folder: Path, tmp_path: Path) -> None:
    model, _ = trained
    small, blank, grey = tmp_path / "small.mp4", tmp_path / "blank.mp4", tmp_path / "grey.mp4"
    media.write_video(small, [f[:48] for f in camera_frames(1)[:16]], fps=8)
    media.write_video(blank, [np.full((160, 240, 3), 16, np.uint8)] * 16, fps=8)
    media.write_video(grey, [np.repeat(f.mean(axis=2, keepdims=True), 3, axis=2).astype(np.uint8)
                             for f in camera_frames(1)[:16]], fps=8)
    assert model.score(clip_folder / "real" / "real-source-1" / "clip0.mp4").note is None, "in colour: judged"
    for path, reason in ((small, "48 px"), (blank, "no detail"), (grey, "greyscale")):
        result = model.score(path)
        assert result.verdict == "inconclusive" and reason in result.note
        assert 0.0 <= result.score <= 1.0


def test_score_command_prints_json_lines(trained, clip_folder: Path) -> None:
    _, out = trained
    clips = [str(p) for p in sorted(clip_folder.rglob("*.mp4"))[:2]]
    result = CliRunner().invoke(cli, ["detector", "score", *clips, "--model", str(out), "--json"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert [line["path"] for line in lines] == clips
    assert all({"time", "score"} <= set(line["frames"][0]) for line in lines)


CLI_OPTION_FIELDS = {
    "--backbone": "backbone", "--steps": "max_steps", "--batch-size": "batch_size", "--tile": "tile_px",
    "--eval-every": "eval_every_steps", "--patience": "patience_evals", "--augment": "augment_variants",
    "--min-gain-auc": "min_gain_auc", "--seed": "seed", "--name": "name",
}


@pytest.mark.parametrize("command", ["train", "evaluate"])
def test_training_options_default_to_train_config(command: str) -> None:
    help_text = " ".join(CliRunner().invoke(cli, ["detector", command, "--help"]).output.split())
    options = {opt: param for param in detector_cli.detector.commands[command].params for opt in param.opts}
    offered = [option for option in CLI_OPTION_FIELDS if option in options]
    assert {"--steps", "--min-gain-auc"} <= set(offered)
    for option in offered:
        default = getattr(detector.TrainConfig, CLI_OPTION_FIELDS[option])
        assert options[option].default == default, option
        assert re.search(rf"{option} [^[]*\[default: {re.escape(str(default))}[];]", help_text), option


def test_train_command_passes_its_options_to_training(clip_folder: Path, tmp_path: Path) -> None:
    args = ["--tile", "32", "--steps", "4", "--eval-every", "2", "--augment", "0", "--min-gain-auc", "0.5",
            "--batch-size", "8", "--cache", str(tmp_path / "cache")]
    result = CliRunner().invoke(cli, ["detector", "train", str(clip_folder), "-o", str(tmp_path / "model"), *args])
    assert result.exit_code == 0, result.output
    training = json.loads((tmp_path / "model" / "model.json").read_text())["training"]
    assert (training["min_gain_auc"], training["max_steps"], training["tile_px"]) == (0.5, 4, 32)
    assert training["patience_evals"] == detector.TrainConfig.patience_evals
    assert "warning: the threshold" in result.output and "rests on 4 real clips scored out of fold" in result.output


def test_unreadable_clip_is_bad_input(trained, tmp_path: Path) -> None:
    model, out = trained
    not_video = tmp_path / "notes.mp4"
    not_video.write_text("not a video")
    with pytest.raises(BadInput):
        model.score(not_video)
    result = CliRunner().invoke(cli, ["detector", "score", str(not_video), "--model", str(out)])
    assert result.exit_code == 1
    assert "notes.mp4" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("damage", ["pickle", "truncated"])
def test_unsafe_or_corrupt_weights_are_refused(trained, tmp_path: Path, damage: str) -> None:
    _, out = trained
    copy = tmp_path / "model"
    shutil.copytree(out, copy)
    weights = copy / WEIGHTS_NAME
    if damage == "pickle":
        weights.write_bytes(pickle.dumps({"backbone.conv1.weight": [1.0, 2.0]}))
    else:
        weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(ModelError, match="safetensors"):
        detector.load(copy)


@pytest.mark.parametrize(("damage", "message"), [("index out of range", "indices leave"), ("loop", "trees loop")])
def test_damaged_forest_is_refused(trained, clip_folder: Path, tmp_path: Path, damage: str, message: str) -> None:
    _, out = trained
    copy = tmp_path / "model"
    shutil.copytree(out, copy)
    tensors = load_file(copy / WEIGHTS_NAME)
    left, right = tensors["forest.left"], tensors["forest.right"]
    if damage == "index out of range":
        left[0, 0] = right[0, 0] = 10_000
    else:  # the root sends every row to its left child, which sends it back to the root
        child = int(left[0, 0])
        right[0, 0] = child
        left[0, child] = right[0, child] = 0
    save_file(tensors, copy / WEIGHTS_NAME)
    with pytest.raises(ModelError, match=message):
        detector.load(copy).score(next((clip_folder / "real").rglob("*.mp4")))


def test_group_folds_keep_groups_whole_and_hold_both_labels(clip_folder: Path) -> None:
    dataset = detector.load_dataset(clip_folder)
    folds = dataset.group_folds(2)
    assert sorted(c.path for fold in folds for c in fold.clips) == sorted(c.path for c in dataset.clips)
    first, second = ({c.group for c in fold.clips} for fold in folds)
    assert not first & second
    assert all(sorted(fold.labels.tolist()) == [0, 0, 1, 1] for fold in folds)


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_audit_transforms_give_frames(name: str) -> None:
    frames = np.stack(camera_frames(0)[:4])[:, :48, :64]
    out = TRANSFORMS[name].apply(frames, TARGET_FPS)
    assert out.dtype == np.uint8 and out.ndim == 4 and out.shape[-1] == 3 and len(out) == len(frames)
    if name == "letterbox":
        assert out.shape[1:3] == (64, 64) and out[:, :8].max() == 0 and out[:, -8:].max() == 0
    if name == "rotate-90":
        assert out.shape[1:3] == (64, 48)


def test_calibration_is_monotonic_in_unit_interval_and_meets_fpr() -> None:
    rng = np.random.default_rng(0)
    logits = np.concatenate([rng.normal(-1, 1, 300), rng.normal(1.5, 1, 300)])
    labels = np.repeat([0, 1], 300)
    calibration = fit_calibration(logits, labels)
    grid = calibration.probability(np.linspace(-50, 50, 2001))
    assert np.all((grid >= 0) & (grid <= 1)) and np.all(np.diff(grid) >= 0)
    real_scores = calibration.probability(logits[labels == 0])
    assert (real_scores >= calibration.threshold).mean() <= 0.01
    assert calibration.inconclusive_from <= calibration.threshold
    assert calibration.verdict(calibration.threshold) == "ai-generated"
    assert calibration.verdict(0.0) == "real"


def test_metrics_agree_with_scikit_learn() -> None:
    labels = np.array([0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 1])
    scores = np.array([0.1, 0.4, 0.35, 0.8, 0.05, 0.9, 0.7, 0.6, 0.3, 0.95, 0.2, 0.85])
    metrics = clip_metrics(labels, scores, threshold=0.5)
    assert metrics["auc"] == pytest.approx(roc_auc_score(labels, scores))
    assert metrics["ap"] == pytest.approx(average_precision_score(labels, scores))
    fpr, tpr, _ = roc_curve(labels, scores)
    assert metrics["tpr_at_1pct_fpr"] == pytest.approx(tpr[fpr <= 0.01].max())
    assert metrics["fpr_at_threshold"] == pytest.approx(1 / 6)
    assert metrics["tpr_at_threshold"] == pytest.approx(5 / 6)
    assert expected_calibration_error(np.array([1, 0]), np.array([1.0, 0.0])) == 0.0
    assert expected_calibration_error(np.array([0, 0]), np.array([0.95, 0.95])) == pytest.approx(0.95)


def test_normalisation_gives_the_same_form_whatever_the_format(tmp_path: Path) -> None:
    slow, fast = tmp_path / "slow.mp4", tmp_path / "fast.mp4"
    media.write_video(slow, camera_frames(1)[:16], fps=8)
    media.write_video(fast, [f[:80] for f in camera_frames(2) * 4][:75], fps=30)
    wanted = round(WINDOW_SECONDS * TARGET_FPS)
    for path in (slow, fast):
        window = normalise(path)
        assert window.frames.shape == (wanted, FRAME_SIDE_PX, FRAME_SIDE_PX, 3)
        assert np.allclose(np.diff(window.times_s), 1 / TARGET_FPS, atol=1 / 30 + 1e-6)


def test_importing_the_package_and_command_loads_neither_torch_nor_scikit_learn() -> None:
    code = "import sys, detector, detector.cli; print('torch' in sys.modules, 'sklearn' in sys.modules)"
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "False False", "detector --help must stay quick"


def test_evaluate_reports_every_condition_and_source_and_draws_roc(trained, clip_folder: Path, tmp_path: Path) -> None:
    model, _ = trained
    dataset = detector.load_dataset(clip_folder)
    report = detector.evaluate(model, dataset, conditions=["clean", "h264-crf28+downscale-50"],
                               cache_dir=tmp_path / "cache", out_json=tmp_path / "r.json", roc_png=tmp_path / "roc.png")
    assert set(report["per_distortion"]) == {"clean", "h264-crf28+downscale-50"}
    assert set(report["per_source"]) == {f"{label}/{label}-source-{i}" for label in ("real", "generated")
                                         for i in range(2)}
    clean = report["scores"]["clean"]
    direct = [model.score(c.path).score for c in dataset.clips]
    assert [clean[c.path] for c in dataset.clips] == pytest.approx(direct)
    assert report["per_distortion"]["clean"]["auc"] == pytest.approx(roc_auc_score(dataset.labels, direct))
    assert json.loads((tmp_path / "r.json").read_text())["model"] == "tiny@1"
    assert (tmp_path / "roc.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_training_resumes_from_its_checkpoint(clip_folder: Path, tmp_path: Path) -> None:
    dataset = detector.load_dataset(clip_folder)
    short = detector.TrainConfig(tile_px=32, batch_size=8, max_steps=4, eval_every_steps=2, patience_evals=10,
                                 augment_variants=0)
    detector.train(dataset, tmp_path / "model", short, cache_dir=tmp_path / "cache")
    longer = detector.TrainConfig(**{**short.__dict__, "max_steps": 8})
    resumed = detector.train(dataset, tmp_path / "model", longer, cache_dir=tmp_path / "cache", resume=True)
    assert [h["step"] for h in resumed.card["training"]["history"]] == [0, 2, 4, 6, 8]


def test_resuming_from_another_networks_checkpoint_is_a_clear_error(clip_folder: Path, tmp_path: Path) -> None:
    dataset = detector.load_dataset(clip_folder)
    other = detector.TrainConfig(tile_px=32, batch_size=8, max_steps=2, eval_every_steps=2, augment_variants=0,
                                 representation="residual")
    detector.train(dataset, tmp_path / "model", other, cache_dir=tmp_path / "cache")
    with pytest.raises(ModelError, match="does not fit this network"):
        detector.train(dataset, tmp_path / "model", replace(other, representation="residual+statistics"),
                       cache_dir=tmp_path / "cache", resume=True)


def test_untrained_network_is_the_statistics_regression_and_forest(clip_folder: Path, tmp_path: Path) -> None:
    dataset = detector.load_dataset(clip_folder)
    config = detector.TrainConfig(tile_px=32, max_steps=0, augment_variants=0, seed=3)
    model = detector.train(dataset, tmp_path / "model", config, cache_dir=tmp_path / "cache", validation=dataset)
    windows = [normalise(c.path).frames for c in dataset.clips]
    statistics = [statistics_of(window, 32, FRAME_STRIDE, model.net_.temporal) for window in windows]
    labels = np.concatenate([np.full(len(s), c.label) for s, c in zip(statistics, dataset.clips, strict=True)])
    stacked = np.concatenate(statistics)
    scale = np.maximum(stacked.std(axis=0), STATISTICS_MIN_SCALE)
    regression = LogisticRegression(C=STATISTICS_INVERSE_L2, class_weight="balanced", max_iter=5000)
    regression.fit((stacked - stacked.mean(axis=0)) / scale, labels)
    forest = RandomForestClassifier(n_estimators=FOREST_TREES, max_leaf_nodes=FOREST_MAX_LEAVES,
                                    min_samples_leaf=FOREST_MIN_LEAF_ROWS, class_weight="balanced", random_state=3)
    forest.fit(stacked, labels)
    for window, rows in zip(windows, statistics, strict=True):
        linear = regression.decision_function((rows - stacked.mean(axis=0)) / scale)
        voted = np.clip(forest.predict_proba(rows)[:, 1], FOREST_PROBABILITY_FLOOR, 1 - FOREST_PROBABILITY_FLOOR)
        expected = (1 - FOREST_WEIGHT) * linear + FOREST_WEIGHT * np.log(voted / (1 - voted))
        scored = len(window[::FRAME_STRIDE])
        assert model.frame_logits(window) == pytest.approx(expected.reshape(scored, -1).mean(axis=1), abs=1e-3)


def test_trained_backbone_replaces_the_regression_only_past_the_bar(clip_folder: Path, tmp_path: Path) -> None:
    dataset = detector.load_dataset(clip_folder)
    frames = normalise(dataset.clips[0].path).frames
    base = detector.TrainConfig(tile_px=32, batch_size=8, max_steps=4, eval_every_steps=2, patience_evals=10,
                                augment_variants=0)
    logits = {}
    configs = {"untrained": replace(base, max_steps=0), "unreachable bar": replace(base, min_gain_auc=2.0),
               "no bar": replace(base, min_gain_auc=-1.0)}
    for name, config in configs.items():
        model = detector.train(dataset, tmp_path / name, config, cache_dir=tmp_path / "cache")
        logits[name] = model.frame_logits(frames)
    assert logits["unreachable bar"] == pytest.approx(logits["untrained"])
    assert logits["no bar"] != pytest.approx(logits["untrained"])


def test_energy_by_intensity_rises_only_where_noise_grows_with_brightness() -> None:
    import torch

    rng = np.random.default_rng(5)
    ramp = np.broadcast_to(np.linspace(0.05, 0.95, 128), (128, 128))
    curves = {}
    for name, sigma in (("shot noise", 0.06 * ramp), ("even noise", np.full_like(ramp, 0.03))):
        grey = torch.from_numpy(np.clip(ramp + rng.normal(0, 1, ramp.shape) * sigma, 0, 1)).float()[None, None]
        curves[name] = energy_by_intensity(grey[:, 0], high_pass(grey))[0]
    rising, flat = curves["shot noise"], curves["even noise"]
    assert rising.shape == flat.shape == (INTENSITY_BANDS + 1,)
    assert rising[-1] > 1.0 and abs(flat[-1]) < 0.5  # slopes of the log energy over the grey level
    assert rising[INTENSITY_BANDS - 1] > rising[0] + 2.0
    assert flat[:INTENSITY_BANDS].abs().max() < 0.5


def test_shipped_reference_model_scores_a_clip(clip_folder: Path) -> None:
    reference = detector.load()
    result = reference.score(next((clip_folder / "real").rglob("*.mp4")))
    assert result.model == "provenance-reference-detector@1"
    assert 0.0 <= result.score <= 1.0 and result.threshold == reference.threshold


def test_evaluate_refuses_an_existing_report_unless_forced(trained, clip_folder: Path, tmp_path: Path) -> None:
    _, out = trained
    report = tmp_path / "report.json"
    report.write_text("earlier report\n")
    args = ["detector", "evaluate", str(clip_folder), "--model", str(out), "--distortion", "clean",
            "--cache", str(tmp_path / "cache"), "--json", str(report)]
    refused = CliRunner().invoke(cli, args)
    assert refused.exit_code == 1
    assert "already exists" in refused.output and "--force" in refused.output
    assert report.read_text() == "earlier report\n"
    forced = CliRunner().invoke(cli, [*args, "--force"])
    assert forced.exit_code == 0, forced.output
    assert json.loads(report.read_text())["model"] == "tiny@1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "report.json"]  # no temporary file left


def test_rejected_training_data_leaves_no_model_folder(clip_folder: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(clip_folder, data)
    (data / "real" / "real-source-0" / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64)
    result = CliRunner().invoke(cli, ["detector", "train", str(data), "-o", str(tmp_path / "model"), "--steps", "2",
                                      "--augment", "0", "--cache", str(tmp_path / "cache")])
    assert result.exit_code == 1
    assert "could not be read" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "model").exists()


def test_resume_without_a_checkpoint_is_a_clear_error(clip_folder: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["detector", "train", str(clip_folder), "-o", str(tmp_path / "model"),
                                      "--resume", "--steps", "2", "--cache", str(tmp_path / "cache")])
    assert result.exit_code == 1
    assert "holds no checkpoint.safetensors" in result.output and "leave out --resume" in result.output
    assert not (tmp_path / "model").exists()


def _moving_scene(noise: Callable[[int], np.ndarray], count: int = 16) -> np.ndarray:
    """A smooth scene panning one pixel a frame, with `noise(t)` added to frame t: (count, 64, 64, 3) uint8."""
    yy, xx = np.mgrid[0:64, 0:96].astype(np.float32)
    scene = 120 + 60 * np.sin(xx / 9) * np.cos(yy / 13)
    frames = [np.clip(scene[:, t : t + 64] + noise(t), 0, 255) for t in range(count)]
    return np.repeat(np.stack(frames)[..., None], 3, axis=-1).round().astype(np.uint8)


def test_temporal_statistics_tell_frozen_noise_from_noise_redrawn_each_frame() -> None:
    rng = np.random.default_rng(2)
    frozen = rng.normal(0, 4, (64, 64))
    camera = temporal_statistics(_moving_scene(lambda t: rng.normal(0, 4, (64, 64))))
    glued = temporal_statistics(_moving_scene(lambda t: frozen))
    correlation, staying = 0, 10
    assert camera[correlation] < 0.3 < 0.8 < glued[correlation]
    assert camera[staying] < glued[staying]
    assert temporal_statistics(_moving_scene(lambda t: 0, count=2)) == pytest.approx(np.zeros(TEMPORAL_STATISTICS))


def test_temporal_statistics_ignore_repeated_frames() -> None:
    rng = np.random.default_rng(3)
    distinct = _moving_scene(lambda t: rng.normal(0, 3, (64, 64)), count=8)
    doubled = np.repeat(distinct, 2, axis=0)  # a 4 fps source resampled to 8 fps
    assert temporal_statistics(doubled) == pytest.approx(temporal_statistics(distinct))
