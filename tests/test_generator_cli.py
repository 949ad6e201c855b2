"""What a newcomer meets in `provenance generate` and the stamper: one clear line for a missing model, the prompt's
words reported, a rounded size said, a frame too small for the mark refused, outputs that start with their index."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from cli_helpers import run

from conftest import scene_frames
from generator.backends import ClipSpec, create_backend
from generator.backends.scene import parse_scene, prompt_words
from provenance import media
from provenance.errors import BadInput, OutputExists
from provenance.signing import Generation, Stamper

FAST = ["--seconds", "0.5", "--fps", "8"]


def _one_error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def test_the_diffusers_backend_without_a_model_folder_is_one_line_naming_the_option(home: Path,
                                                                                    tmp_path: Path) -> None:
    result = run("generate", "a fox", "-o", tmp_path / "fx.mp4", "--backend", "diffusers", home=home)
    assert result.exit_code == 1 and "--backend PATH" in _one_error_line(result.stderr)
    with pytest.raises(BadInput, match="model_dir"):
        create_backend("diffusers")
    assert not any(tmp_path.iterdir())


def test_the_words_drawn_and_left_out_are_reported(home: Path, tmp_path: Path) -> None:
    result = run("generate", "a fox running through tall grass at dawn", "-o", tmp_path / "fox.mp4",
                 "--size", "96x64", *FAST, "--json", home=home)
    assert result.exit_code == 0, result.stderr
    words = json.loads(result.stdout)["prompt_words"]
    assert words == {"used": ["fox", "grass", "dawn"], "unused": ["running", "tall"]}
    assert "procedural-1 draws: fox, grass, dawn; not in its vocabulary, left out: running, tall" in result.stderr


def test_over_a_still_only_what_is_drawn_over_it_counts() -> None:
    assert prompt_words("balloons over the sea, pan left", image=True) == {
        "used": ["balloons", "pan", "left"], "unused": ["sea"]}


@pytest.mark.parametrize(("prompt", "elements", "time_of_day"), [
    ("a fox running through tall grass at dawn", {"animal", "grass"}, "sunrise"),
    ("hot air balloons over the mountains", {"balloon", "mountains"}, None),
    ("neon signs in the rain", {"neon", "city", "rain"}, "night"),
    ("a meadow full of flowers", {"grass", "flowers"}, None),
    ("two camels? no: dogs in the desert", {"animal", "desert"}, None),
])
def test_the_wider_vocabulary_chooses_the_scene(prompt: str, elements: set[str], time_of_day: str | None) -> None:
    scene = parse_scene(prompt, seed=0)
    assert elements <= scene.elements
    assert time_of_day is None or scene.time_of_day == time_of_day


@pytest.mark.parametrize(("subject", "rows"), [("a fox", "bottom"), ("balloons", "top")])
def test_new_subjects_are_drawn_where_they_belong(subject: str, rows: str) -> None:
    backend = create_backend("procedural")
    with_it, without = (next(backend.text_to_video(prompt, ClipSpec(320, 180, 8, 0.5), seed=4)).astype(int)
                        for prompt in (f"a meadow at noon, static, {subject}", "a meadow at noon, static"))
    changed = (abs(with_it - without).sum(axis=2) > 30).any(axis=1)
    assert changed.any(), f"{subject} changed nothing"
    half = len(changed) // 2
    lower, upper = changed[half:].sum(), changed[:half].sum()
    assert lower > upper if rows == "bottom" else upper > lower


def test_an_odd_size_says_what_was_written(home: Path, tmp_path: Path) -> None:
    result = run("generate", "the sea", "-o", tmp_path / "odd.mp4", "--size", "97x65", *FAST, "--json", home=home)
    assert result.exit_code == 0, result.stderr
    assert "--size 97x65 was written as 96x64" in result.stderr and json.loads(result.stdout)["size"] == [96, 64]
    info = media.probe(tmp_path / "odd.mp4")
    assert (info.width, info.height) == (96, 64)


def test_a_frame_too_small_for_the_mark_is_refused(home: Path, tmp_path: Path) -> None:
    result = run("generate", "the sea", "-o", tmp_path / "tiny.mp4", "--size", "16x16", *FAST, home=home)
    assert result.exit_code == 1 and "too small to carry a readable watermark" in _one_error_line(result.stderr)
    assert not (tmp_path / "tiny.mp4").exists()
    with Stamper(home, watermark=False) as stamper:  # without a mark, a small clip is signed as it is
        assert stamper.sign_frames(iter(scene_frames(32, 32, 4)), tmp_path / "plain.mp4", 8, Generation(model="m"))


def test_the_python_api_names_its_own_parameter_for_an_existing_output(home: Path, tmp_path: Path) -> None:
    out = tmp_path / "there.mp4"
    out.write_bytes(b"already here")
    with Stamper(home) as stamper, pytest.raises(OutputExists, match=r"Stamper\(overwrite=True\)") as refused:
        stamper.sign_frames(iter(scene_frames(64, 48, 4)), out, 8, Generation(model="m"))
    assert "--force" not in str(refused.value) and out.read_bytes() == b"already here"


def _top_level_boxes(path: Path) -> list[str]:
    boxes, data, offset = [], path.read_bytes(), 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset:offset + 8])
        if size == 1:
            size = struct.unpack(">Q", data[offset + 8:offset + 16])[0]
        boxes.append(kind.decode("latin-1"))
        if size < 8:
            break
        offset += size
    return boxes


def test_stamped_mp4s_put_their_index_before_the_media_data(home: Path, clip: Path, tmp_path: Path) -> None:
    generated, signed = tmp_path / "generated.mp4", tmp_path / "signed.mp4"
    assert run("generate", "the sea", "-o", generated, "--size", "96x64", *FAST, home=home).exit_code == 0
    with Stamper(home) as stamper:
        stamper.sign_clip(clip, signed, Generation(model="m"))
    for path in (generated, signed):
        boxes = _top_level_boxes(path)
        assert "moov" in boxes and "mdat" in boxes and boxes.index("moov") < boxes.index("mdat"), (path, boxes)


def test_verify_without_a_watermark_key_says_the_mark_was_not_checked(home: Path, tmp_path: Path) -> None:
    stamped, stripped, empty = tmp_path / "stamped.mp4", tmp_path / "stripped.mp4", tmp_path / "empty-home"
    assert run("generate", "the sea", "-o", stamped, "--size", "96x64", *FAST, home=home).exit_code == 0
    media.remux(stamped, stripped)  # the manifest is gone: only the watermark could tell
    empty.mkdir()
    result = run("verify", stripped, "--json", home=empty)
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["verdict"] == "no-evidence" and report["watermark"]["state"] == "not-checked"
    assert any("watermark not checked" in line for line in report["evidence"])
    assert "note: the watermark was not checked" in result.stderr
    keyed = run("verify", stripped, "--json", home=home)
    assert json.loads(keyed.stdout)["verdict"] == "ai-generated" and "not checked" not in keyed.stderr
