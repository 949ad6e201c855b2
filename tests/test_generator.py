"""The generator with its built-in procedural backend: every operation's clip leaves stamped and verifies."""

from __future__ import annotations

import ast
import csv
import json
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from cli_helpers import run, run_json

from conftest import sample_data
from generator import BACKENDS, ClipSpec, Generator, create_backend
from generator.backends.scene import parse_scene
from generator.fill import FlowInterpolator, blend_frames, retime
from provenance import media
from provenance.errors import BadInput, ProvenanceError
from provenance.ledger import Ledger
from provenance.verify import verify

SIZE = "320x240"
SECONDS = "1"
GENERATOR_SOURCE = Path(__file__).resolve().parents[1] / "generator"


@pytest.fixture(scope="session")
def still(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A photo-like PNG: a rendered landscape frame."""
    frame = next(create_backend("procedural").text_to_video("mountains and a lake", ClipSpec(200, 150), seed=5))
    path = tmp_path_factory.mktemp("images") / "lake.png"
    cv2.imwrite(str(path), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    return path


@pytest.fixture(scope="session")
def generate_output(home: Path, still: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """One clip per operation, each made by the real `provenance generate` command: its JSON output."""
    folder = tmp_path_factory.mktemp("generated")
    out = {name: folder / f"{name}.mp4" for name in ("text", "image", "extend", "fill")}
    commands = {
        "text": ["a boat on the sea at sunset, birds", "--size", SIZE, "--seconds", SECONDS, "--seed", "3"],
        "image": ["rain, zoom in", "--image", still, "--size", SIZE, "--seconds", SECONDS],
        "extend": ["snow", "--extend", out["text"], "--seconds", "0.5"],
        "fill": ["--fill", out["text"], "--fps", "48"],
    }
    return {name: run_json("generate", *argv, "-o", out[name], home=home)[0] for name, argv in commands.items()}


@pytest.fixture(scope="session")
def generated(generate_output: dict[str, dict]) -> dict[str, Path]:
    return {name: Path(output["path"]) for name, output in generate_output.items()}


EXPECTED_INGREDIENTS = {
    "text": [],
    "image": [{"title": "lake.png", "relationship": "inputTo"}],
    "extend": [{"title": "text.mp4", "relationship": "parentOf"}],
    "fill": [{"title": "text.mp4", "relationship": "parentOf"}],
}


@pytest.mark.parametrize("operation", sorted(EXPECTED_INGREDIENTS))
def test_every_operation_leaves_watermarked_signed_and_recorded(
    generate_output: dict[str, dict], generated: dict[str, Path], home: Path, operation: str
) -> None:
    report = verify(generated[operation], trust_anchors=home / "ca.pem", home=home).to_dict()
    assert report["verdict"] == "ai-generated"
    assert report["c2pa"]["validation_state"] == "Trusted"
    assert report["c2pa"]["ai_generated"] and report["c2pa"]["generator"] == "procedural-1"
    assert report["c2pa"]["ingredients"] == EXPECTED_INGREDIENTS[operation]
    assert report["watermark"]["detected"], report["watermark"]
    with Ledger.open(None, home=home) as ledger:
        record = ledger.get(generate_output[operation]["payload"])
    assert record is not None and record.model == "procedural-1"


@pytest.mark.parametrize("operation", sorted(EXPECTED_INGREDIENTS))
def test_a_stripped_clip_is_traced_to_its_own_manifest_through_its_watermark(
    generated: dict[str, Path], home: Path, tmp_path: Path, operation: str
) -> None:
    stripped = tmp_path / "stripped.mp4"
    media.remux(generated[operation], stripped)
    report = verify(stripped, trust_anchors=home / "ca.pem", home=home).to_dict()
    assert not report["c2pa"]["present"]
    assert report["verdict"] == "ai-generated" and report["ledger"]["found"]
    assert report["ledger"]["manifest"]["generator"] == "procedural-1"
    assert report["ledger"]["manifest"]["ingredients"] == EXPECTED_INGREDIENTS[operation]


def test_extend_keeps_the_clip_and_adds_the_seconds(generated: dict[str, Path]) -> None:
    source, longer = media.probe(generated["text"]), media.probe(generated["extend"])
    assert (longer.width, longer.height, round(longer.fps)) == (source.width, source.height, round(source.fps))
    assert longer.frame_count == source.frame_count + round(0.5 * source.fps)


def test_fill_doubles_the_frame_rate(generated: dict[str, Path]) -> None:
    source, filled = media.probe(generated["text"]), media.probe(generated["fill"])
    assert round(filled.fps) == 48
    assert filled.frame_count == 2 * source.frame_count - 1


def test_same_seed_same_clip_other_seed_other_clip() -> None:
    backend, spec = create_backend("procedural"), ClipSpec(96, 64, 12, 0.5)
    first = list(backend.text_to_video("a city at night, cars, pan left", spec, seed=11))
    again = list(backend.text_to_video("a city at night, cars, pan left", spec, seed=11))
    other = list(backend.text_to_video("a city at night, cars, pan left", spec, seed=12))
    assert len(first) == spec.frame_count
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert not np.array_equal(first[0], other[0])
    assert np.abs(first[-1].astype(int) - first[0].astype(int)).mean() > 1, "the scene should move"


@pytest.mark.parametrize("prompt", ["a boat on the sea at sunset", "snowy mountains and a forest at night",
                                    "rain over a city, cars", "clouds and birds at sunrise, zoom out"])
def test_scenes_render_at_any_size(prompt: str) -> None:
    for width, height in ((64, 36), (250, 130)):
        frames = list(create_backend("procedural").text_to_video(prompt, ClipSpec(width, height, 8, 0.5), seed=1))
        assert [f.shape for f in frames] == [(height, width, 3)] * 4
        assert all(f.dtype == np.uint8 for f in frames)
        assert frames[0].std() > 5, "a scene has structure, not a flat colour"


def test_prompt_words_choose_the_scene() -> None:
    scene = parse_scene("A sailboat on the ocean at dusk, camera pans left", seed=0)
    assert {"boat", "sea"} <= scene.elements and scene.time_of_day == "sunset" and scene.camera == "pan_left"
    scene = parse_scene("snowy peaks, zoom out, starry night", seed=0)
    assert {"snow", "mountains"} <= scene.elements and scene.time_of_day == "night" and scene.camera == "zoom_out"
    assert parse_scene("something", seed=4).elements == parse_scene("something", seed=4).elements


def test_long_1080p_clip_streams_one_frame_at_a_time() -> None:
    spec = ClipSpec(1920, 1080, 30, 60)
    started = time.perf_counter()
    frames = create_backend("procedural").text_to_video("sea, mountains, clouds, birds, rain", spec, seed=2)
    first_three = [next(frames) for _ in range(3)]
    assert time.perf_counter() - started < 30, "frames are made lazily, not the whole minute up front"
    assert first_three[0].shape == (1080, 1920, 3)


def test_image_to_video_starts_from_the_image(still: Path) -> None:
    image = cv2.cvtColor(cv2.imread(str(still)), cv2.COLOR_BGR2RGB)
    frames = list(create_backend("procedural").image_to_video(image, "zoom in", ClipSpec(200, 150, 12, 1), seed=0))
    assert np.abs(frames[0].astype(int) - image.astype(int)).mean() < 1
    assert np.abs(frames[-1].astype(int) - image.astype(int)).mean() > 2


def _writes(call: ast.Call) -> bool:
    """A call that writes media or opens a file for writing."""
    name = getattr(call.func, "attr", getattr(call.func, "id", ""))
    if name in {"VideoWriter", "write_video", "transcode", "remux", "imwrite", "save", "save_pretrained"}:
        return True
    mode_nodes = [*call.args[1:], *(k.value for k in call.keywords if k.arg == "mode")]
    modes = [node.value for node in mode_nodes if isinstance(node, ast.Constant)]
    return name == "open" and any(isinstance(m, str) and set(m) & set("wax+") for m in modes)


def test_no_generator_code_writes_video_except_through_the_stamper() -> None:
    """Only provenance's Stamper may encode a clip; the generator hands it frames."""
    offenders = [
        f"{source.name}:{node.lineno}"
        for source in GENERATOR_SOURCE.rglob("*.py")
        for node in ast.walk(ast.parse(source.read_text()))
        if isinstance(node, ast.Call) and _writes(node)
    ]
    assert offenders == []
    operations = (GENERATOR_SOURCE / "operations.py").read_text()
    assert operations.count("sign_frames(") == 1, "one exit for every operation's frames"


def test_every_registered_backend_is_listed_in_the_command() -> None:
    result = run("generate", "--help")
    assert result.exit_code == 0
    assert all(name in result.stdout for name in BACKENDS)


def test_retime_restores_dropped_frames_and_keeps_the_others() -> None:
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 255, (8, 8, 3), dtype=np.uint8) for _ in range(6)]
    kept = [0, 1, 3, 4, 5]  # frame 2 was dropped
    out = list(retime([(i / 24, frames[i]) for i in kept], 24.0, blend_frames))
    assert len(out) == 6
    for i in kept:
        assert np.array_equal(out[i], frames[i])
    assert np.array_equal(out[2], blend_frames(frames[1], frames[3], [0.5])[0])


def _real_clip_frames(count: int) -> list[np.ndarray]:
    with open(sample_data("clips.csv")) as table:
        row = next(r for r in csv.DictReader(table) if r["path"].endswith("gradio_demo_videos_cat.mp4"))
    frames = []
    for frame in media.iter_frames(sample_data(row["path"])):
        frames.append(frame)
        if len(frames) == count:
            return frames
    return frames


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(cv2.PSNR(a, b))


def test_optical_flow_fill_beats_a_cross_fade_on_real_footage() -> None:
    frames = _real_clip_frames(17)
    flow, gains = FlowInterpolator(), []
    for i in range(0, len(frames) - 2, 2):
        truth = frames[i + 1]
        made = flow(frames[i], frames[i + 2], [0.5])[0]
        faded = blend_frames(frames[i], frames[i + 2], [0.5])[0]
        gains.append(_psnr(truth, made) - _psnr(truth, faded))
    assert np.mean(gains) > 2.0, gains


def test_bad_inputs_give_one_clear_error(home: Path, tmp_path: Path, generated: dict[str, Path]) -> None:
    not_an_image = tmp_path / "notes.png"
    not_an_image.write_text("hello")
    cases = [
        (["generate", "x", "-o", tmp_path / "a.mp4", "--backend", "no-such-backend"], "unknown backend"),
        (["generate", "x", "--image", not_an_image, "-o", tmp_path / "b.mp4"], "not a readable image"),
        (["generate", "x", "-o", tmp_path / "c.avi", "--size", SIZE, "--seconds", SECONDS], ".mp4 or .mov"),
        (["generate", "--extend", tmp_path / "missing.mp4", "-o", tmp_path / "d.mp4"], "no such file"),
    ]
    for argv, message in cases:
        result = run(*argv, home=home)
        assert result.exit_code == 1, (argv, result.output)
        assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    usage = run("generate", "--image", not_an_image, "--fill", generated["text"], "-o", tmp_path / "e.mp4", home=home)
    assert usage.exit_code == 2
    with pytest.raises(BadInput):
        ClipSpec(8000, 100)
    with pytest.raises(ProvenanceError), Generator(home=home) as generator:
        generator.text_to_video("   ", tmp_path / "f.mp4")
    assert not any(tmp_path.glob("*.mp4")), "no partial output is left behind"


def test_camera_footage_without_a_mark_can_be_extended_and_filled(clip: Path, home: Path, tmp_path: Path) -> None:
    with Generator(home=home) as generator:
        longer = generator.extend(clip, 0.5, "birds", tmp_path / "longer.mp4", seed=1)
        smoother = generator.fill(clip, tmp_path / "smoother.mp4", fps=48)
    for result in (longer, smoother):
        report = verify(result.path, trust_anchors=home / "ca.pem", home=home).to_dict()
        assert report["verdict"] == "ai-generated" and report["watermark"]["payload"] == result.payload
        assert report["c2pa"]["ingredients"] == [{"title": clip.name, "relationship": "parentOf"}]
    first_source = next(media.iter_frames(clip))
    first_longer = next(media.iter_frames(longer.path))
    assert np.abs(first_source.astype(int) - first_longer.astype(int)).mean() < 3, "the clip itself is kept"


def test_the_generation_service_example_hands_back_stamped_clips(home: Path, tmp_path: Path) -> None:
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text("\n".join(json.dumps(job) for job in [
        {"prompt": "a boat on the sea", "seconds": 0.5, "size": [128, 96]},
        {"prompt": "rain", "extend": "job-0.mp4", "seconds": 0.25},
        {"prompt": "", "seconds": 1},
    ]))
    example = GENERATOR_SOURCE.parent / "examples" / "generation_service.py"
    done = subprocess.run([sys.executable, example, jobs, "--out", tmp_path, "--home", home],
                          capture_output=True, text=True, timeout=300)
    receipts = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r.get("verdict") for r in receipts] == ["ai-generated", "ai-generated", None]
    assert "needs a prompt" in receipts[2]["error"] and done.returncode == 1
