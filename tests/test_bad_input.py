"""Bad input gives one clear line on stderr and the documented exit status, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import av
import pytest
from cli_helpers import run

from conftest import scene_frames
from provenance import media


def _zero_frame_mp4(path: Path) -> None:
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        out.start_encoding()


KINDS = ["missing", "directory", "empty", "truncated", "random", "text", "zero_frames"]


@pytest.fixture
def bad_inputs(tmp_path: Path, clip: Path) -> dict[str, Path]:
    inputs = {kind: tmp_path / f"{kind}.mp4" for kind in KINDS}
    inputs["directory"].mkdir()
    inputs["empty"].write_bytes(b"")
    inputs["truncated"].write_bytes(clip.read_bytes()[: clip.stat().st_size // 2])
    inputs["random"].write_bytes(os.urandom(4096))
    inputs["text"].write_text("this is not a video\n" * 50)
    _zero_frame_mp4(inputs["zero_frames"])
    return inputs


def _one_clear_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr and lines[0].startswith("error: ")
    return lines[0]


@pytest.mark.parametrize("kind", KINDS)
def test_verify_reports_unreadable_clips(kind: str, bad_inputs: dict[str, Path], home: Path) -> None:
    path = bad_inputs[kind]
    if kind == "directory":  # a folder is walked for videos; this one holds none
        result = run("verify", path, "--json", home=home)
        assert result.exit_code == 1 and "no video files" in _one_clear_line(result.stderr)
        return
    result = run("verify", path, "--json", home=home)
    assert result.exit_code == 1
    assert str(path) in _one_clear_line(result.stderr)
    [report] = [json.loads(line) for line in result.stdout.splitlines()]
    assert report["verdict"] == "error" and report["error"]


@pytest.mark.parametrize("kind", KINDS)
def test_sign_refuses_bad_input(kind: str, bad_inputs: dict[str, Path], home: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    result = run("sign", bad_inputs[kind], "-o", out, home=home)
    assert result.exit_code == 1
    _one_clear_line(result.stderr)
    assert not out.exists()


def test_a_bad_clip_does_not_stop_the_batch(bad_inputs: dict[str, Path], clip: Path, home: Path) -> None:
    result = run("verify", bad_inputs["random"], clip, "--json", home=home)
    assert result.exit_code == 1
    verdicts = [json.loads(line)["verdict"] for line in result.stdout.splitlines()]
    assert verdicts == ["error", "no-evidence"]


@pytest.fixture
def webm(tmp_path: Path) -> Path:
    path = tmp_path / "clip.webm"
    media.write_video(path, scene_frames(160, 120, 12), fps=12, codec="vp9")
    return path


def test_webm_cannot_carry_a_manifest_but_is_verified(webm: Path, home: Path, tmp_path: Path) -> None:
    result = run("sign", webm, "-o", tmp_path / "out.mp4", "--no-watermark", home=home)
    assert result.exit_code == 1 and "cannot carry a C2PA manifest" in _one_clear_line(result.stderr)
    verified = run("verify", webm, home=home)
    assert verified.exit_code == 0
    assert "webm files cannot carry one" in verified.stdout and "no-evidence" in verified.stdout


def test_webm_is_signed_into_an_mp4_when_watermarked(webm: Path, home: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    assert run("sign", webm, "-o", out, home=home).exit_code == 0
    assert media.probe(out).container == "mp4"


def test_output_must_be_a_container_that_carries_manifests(clip: Path, home: Path, tmp_path: Path) -> None:
    result = run("sign", clip, "-o", tmp_path / "out.webm", home=home)
    assert result.exit_code == 1 and ".mp4 or .mov" in _one_clear_line(result.stderr)


def test_usage_errors_exit_2(home: Path) -> None:
    assert run("verify", home=home).exit_code == 2
    assert run("sign", "x.mp4", home=home).exit_code == 2


def test_missing_keys_say_how_to_make_them(clip: Path, tmp_path: Path) -> None:
    result = run("sign", clip, "-o", tmp_path / "out.mp4", home=tmp_path / "nokeys")
    assert result.exit_code == 1 and "provenance keygen" in _one_clear_line(result.stderr)


def test_the_installed_command_runs(clip: Path, home: Path) -> None:
    command = Path(sys.executable).with_name("provenance")
    result = subprocess.run([command, "verify", clip, "--home", home], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and f"{clip}: no-evidence" in result.stdout
    assert subprocess.run([command, "--help"], capture_output=True, text=True, timeout=60).stdout.count("verify")
