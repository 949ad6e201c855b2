"""Sign and verify with real c2pa-python, real certificate chains and real MP4s written by PyAV."""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import run, run_json

from conftest import scene_frames
from provenance import media
from provenance.errors import SigningError
from provenance.keys import Credentials, read_watermark_secret
from provenance.ledger import Ledger
from provenance.manifest import GENERATION_LABEL, read_evidence
from provenance.signing import Generation, Stamper
from provenance.watermark import ALGORITHM_ID, WatermarkKey, extract


def _box_offsets(path: Path) -> dict[bytes, tuple[int, int]]:
    """Top-level ISO BMFF boxes: type -> (offset, size)."""
    data, boxes, offset = path.read_bytes(), {}, 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset:offset + 8])
        if size == 1:
            size = struct.unpack(">Q", data[offset + 8:offset + 16])[0]
        boxes.setdefault(kind, (offset, size or len(data) - offset))
        offset += size or len(data)
    return boxes


def _flip_byte_in_mdat(src: Path, dst: Path) -> None:
    offset, size = _box_offsets(src)[b"mdat"]
    data = bytearray(src.read_bytes())
    data[offset + size // 2] ^= 0xFF
    dst.write_bytes(bytes(data))


@pytest.fixture(scope="session")
def signed(home: Path, clip: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("signed") / "signed.mp4"
    result = run("sign", clip, "-o", out, "--model", "test-model-1", "--prompt", "a boat", "--seed", "7", home=home)
    assert result.exit_code == 0, result.stderr
    return out


@pytest.fixture(scope="session")
def signed_plain(home: Path, clip: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Signed without a watermark: the manifest is the only evidence."""
    out = tmp_path_factory.mktemp("plain") / "plain.mp4"
    assert run("sign", clip, "-o", out, "--model", "test-model-1", "--no-watermark", home=home).exit_code == 0
    return out


def test_signed_clip_verifies_trusted_with_the_keygen_ca(signed: Path, home: Path) -> None:
    [report] = run_json("verify", signed, "--trust-anchors", home / "ca.pem", home=home)
    assert report["verdict"] == "ai-generated"
    assert report["c2pa"]["present"] and report["c2pa"]["validation_state"] == "Trusted"
    assert report["c2pa"]["ai_generated"] and report["c2pa"]["generator"] == "test-model-1"
    assert report["error"] is None


def test_without_trust_anchors_it_is_valid_but_untrusted(signed: Path, home: Path) -> None:
    [report] = run_json("verify", signed, home=home)
    assert report["c2pa"]["validation_state"] == "Valid"
    assert "signingCredential.untrusted" in report["c2pa"]["status_codes"]
    assert report["verdict"] == "ai-generated"


def test_human_output_says_what_was_found(signed: Path, home: Path) -> None:
    result = run("verify", signed, "--trust-anchors", home / "ca.pem", home=home)
    assert result.exit_code == 0
    assert f"{signed}: ai-generated" in result.stdout
    assert "states AI generation by test-model-1" in result.stdout and "trusted certificate" in result.stdout


def test_manifest_records_generation_but_only_the_prompt_digest(signed: Path, home: Path) -> None:
    [report] = run_json("verify", signed, home=home)
    assert report["c2pa"]["soft_binding"]["alg"] == ALGORITHM_ID
    manifest = read_evidence(signed).manifest
    generation = next(a["data"] for a in manifest["assertions"] if a["label"] == GENERATION_LABEL)
    assert generation["seed"] == 7 and generation["model"] == "test-model-1"
    assert len(generation["prompt_sha256"]) == 64 and "prompt" not in generation


def test_include_prompt_records_the_text(home: Path, clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "with_prompt.mp4"
    run("sign", clip, "-o", out, "--prompt", "a red kite", "--include-prompt", "--no-watermark", home=home)
    generation = next(a["data"] for a in read_evidence(out).manifest["assertions"] if a["label"] == GENERATION_LABEL)
    assert generation["prompt"] == "a red kite"


def test_one_byte_flipped_in_mdat_is_tampered(signed_plain: Path, home: Path, tmp_path: Path) -> None:
    flipped = tmp_path / "flipped.mp4"
    _flip_byte_in_mdat(signed_plain, flipped)
    [report] = run_json("verify", flipped, "--trust-anchors", home / "ca.pem", home=home)
    assert report["verdict"] == "tampered"
    assert report["c2pa"]["validation_state"] == "Invalid"
    assert "assertion.bmffHash.mismatch" in report["c2pa"]["status_codes"]


def test_stream_copy_remux_strips_the_manifest(signed_plain: Path, home: Path, tmp_path: Path) -> None:
    stripped = tmp_path / "stripped.mp4"
    media.remux(signed_plain, stripped)
    [report] = run_json("verify", stripped, home=home)
    assert report["verdict"] == "no-evidence"
    assert not report["c2pa"]["present"] and not report["watermark"]["detected"]


def test_resigning_keeps_the_first_manifest_as_parent(signed: Path, home: Path, tmp_path: Path) -> None:
    again = tmp_path / "again.mp4"
    assert run("sign", signed, "-o", again, "--model", "upscaler-2", "--no-watermark", home=home).exit_code == 0
    [report] = run_json("verify", again, "--trust-anchors", home / "ca.pem", home=home)
    assert report["c2pa"]["validation_state"] == "Trusted" and report["c2pa"]["generator"] == "upscaler-2"
    assert report["c2pa"]["ingredients"] == [{"title": signed.name, "relationship": "parentOf"}]


def test_image_ingredient_is_an_input(home: Path, clip: Path, tmp_path: Path) -> None:
    from PIL import Image

    image = tmp_path / "still.png"
    Image.fromarray(scene_frames(64, 48, 1)[0]).save(image)
    out = tmp_path / "i2v.mp4"
    assert run("sign", clip, "-o", out, "--ingredient", image, "--no-watermark", home=home).exit_code == 0
    [report] = run_json("verify", out, home=home)
    assert report["c2pa"]["ingredients"] == [{"title": "still.png", "relationship": "inputTo"}]


def test_mov_is_signed_too(home: Path, tmp_path: Path) -> None:
    src = tmp_path / "clip.mov"
    media.write_video(src, scene_frames(128, 96, 12), fps=12)
    out = tmp_path / "signed.mov"
    assert run("sign", src, "-o", out, "--no-watermark", home=home).exit_code == 0
    [report] = run_json("verify", out, "--trust-anchors", home / "ca.pem", home=home)
    assert report["verdict"] == "ai-generated" and report["c2pa"]["validation_state"] == "Trusted"


def test_the_input_is_never_overwritten(home: Path, clip: Path, tmp_path: Path) -> None:
    src = tmp_path / "input.mp4"
    shutil.copy(clip, src)
    before = src.read_bytes()
    result = run("sign", src, "-o", src, home=home)
    assert result.exit_code == 1 and "refusing to overwrite an input" in result.stderr
    assert src.read_bytes() == before


def test_a_failed_signing_leaves_nothing_behind(home: Path, clip: Path, tmp_path: Path) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    good = Credentials.load(home)

    def unavailable_kms(data: bytes) -> bytes:
        raise ConnectionError("KMS unavailable")

    broken = Credentials.from_callback(unavailable_kms, good.chain_pem, "es256")
    ledger_path = tmp_path / "ledger.sqlite"
    with Stamper(home, credentials=broken, ledger=str(ledger_path)) as stamper, pytest.raises(SigningError):
        stamper.sign_clip(clip, out_dir / "out.mp4", Generation(model="m"))
    assert list(out_dir.iterdir()) == []
    with Ledger.open(str(ledger_path)) as led:
        assert led.list() == []


def test_sign_frames_stamps_frames_from_memory(home: Path, tmp_path: Path) -> None:
    frames = scene_frames(160, 120, 24, seed=3)
    with Stamper(home) as stamper:
        result = stamper.sign_frames(iter(frames), tmp_path / "gen.mp4", 24, Generation(model="gen", seed=1))
    assert result.frames == 24 and result.watermarked
    [report] = run_json("verify", result.path, home=home)
    assert report["verdict"] == "ai-generated" and report["watermark"]["payload"] == result.payload
    plain = tmp_path / "plain.mp4"
    media.write_video(plain, frames, fps=24)
    stamped_luma = next(media.iter_frames(result.path, "gray")).astype(float)
    plain_luma = next(media.iter_frames(plain, "gray")).astype(float)
    psnr_db = 10 * np.log10(255**2 / np.mean((stamped_luma - plain_luma) ** 2))
    assert psnr_db > 38


def test_a_damaged_manifest_is_tampered(signed_plain: Path, home: Path, tmp_path: Path) -> None:
    offset, size = _box_offsets(signed_plain)[b"uuid"]
    data = bytearray(signed_plain.read_bytes())
    for position in range(offset + 64, offset + size, 97):  # damage bytes all through the manifest store
        data[position] ^= 0x5A
    damaged = tmp_path / "damaged.mp4"
    damaged.write_bytes(bytes(data))
    [report] = run_json("verify", damaged, home=home)
    assert report["verdict"] == "tampered" and report["c2pa"]["present"]
    assert report["c2pa"]["validation_state"] == "Invalid"


def _offset_from_stamp(alignment: tuple[float, float, float, float, bool]) -> tuple[float, float, bool]:
    """(smallest scale, largest shift in grid cells, flipped) of an alignment, shifts taken around the grid."""
    scale_y, scale_x, shift_y, shift_x, flipped = alignment
    shifts = [min(shift % 256, -shift % 256) for shift in (shift_y, shift_x)]
    return min(scale_y, scale_x), max(shifts), flipped


def _damaged(frames: list[np.ndarray], key: WatermarkKey, path: Path, aligned: bool) -> None:
    """Write `frames` with more and more noise to `path`, until the code alone no longer reads the payload,
    while the stamped frame's own alignment (unscaled, unshifted) is still found (`aligned`), or is clearly lost
    (the search settled on a crop of noise)."""
    for sigma in range(40, 400, 10):
        for seed in range(4):
            rng = np.random.default_rng([sigma, seed])
            media.write_video(path, [np.clip(f + rng.normal(0, sigma, f.shape), 0, 255).astype(np.uint8)
                                     for f in frames], fps=24, crf=0)
            detection = extract(path, key)
            scale, shift, flipped = _offset_from_stamp(detection.alignment)
            found = not flipped and scale > 0.998 and shift < 0.25
            lost = flipped or scale < 0.95 or shift > 4
            if detection.payload is None and (found if aligned else lost):
                return
    pytest.fail(f"noise never hid the payload from the blind decode with the alignment {'held' if aligned else 'lost'}")


@pytest.mark.parametrize("aligned", [True, False], ids=["alignment-found", "alignment-lost"])
def test_a_mark_too_damaged_to_read_alone_is_read_through_the_ledger(
    home: Path, clip: Path, tmp_path: Path, aligned: bool
) -> None:
    [signed_clip] = run_json("sign", clip, "-o", tmp_path / "signed.mp4", "--model", "test-model-1", home=home)
    frames = [f.astype(np.float64) for f in media.iter_frames(signed_clip["path"], "rgb24")][:12]
    damaged = tmp_path / "damaged.mp4"
    _damaged(frames, WatermarkKey(read_watermark_secret(home)), damaged, aligned)
    [report] = run_json("verify", damaged, "--trust-anchors", home / "ca.pem", home=home)
    assert report["verdict"] == "ai-generated"
    assert report["watermark"]["payload"] == signed_clip["payload"] and report["watermark"]["issued_compared"] >= 1
    assert report["ledger"]["found"] and report["ledger"]["manifest"]["generator"] == "test-model-1"
    assert any("matching one of the ledger's" in line for line in report["evidence"])
