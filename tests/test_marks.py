"""Other issuers' public marks: Stability AI's dwtDct mark read from frames, clips and the real command."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from cli_helpers import run_json

from conftest import sample_data, scene_frames
from provenance import attacks, marks, media
from provenance.marks import stability
from provenance.verify import Verifier

UNMARKED_REAL_CLIP = "clips/real/ucf101/v_PlayingGuitar_g03_c01.mp4"
CRF23_CLIP = "clips/real/intel-sample-videos/bottle-detection.mp4"  # 640x360, scaled to 720p as the bench does
MARK_KEYS = {"issuer", "algorithm", "frames", "marked_frames", "state"}


def stamp_dwtdct(frame: np.ndarray) -> np.ndarray:
    """Embed Stability's message in an RGB frame as dwtDct does: in each 4x4 block of the U channel's Haar LL
    band, the largest coefficient but the first is moved to a quarter (bit 0) or three quarters (bit 1) step."""
    blocks = stability.to_blocks(stability.rgb_low(frame)).astype(np.float64)
    rows = np.arange(len(blocks))
    peak = 1 + np.abs(blocks[:, 1:]).argmax(axis=1)
    value = blocks[rows, peak]
    bits = np.resize(stability.message_bits(), len(blocks))
    target = np.where(value < 0, -1, 1) * (np.abs(value) // stability.STEP + 0.25 + 0.5 * bits) * stability.STEP
    change = np.zeros_like(blocks)
    change[rows, peak] = target - value
    by, bx = (side // 4 * 4 // 2 // 4 for side in frame.shape[:2])
    low = change.reshape(by, bx, 4, 4).transpose(0, 2, 1, 3).reshape(by * 4, bx * 4)
    u_change = np.kron(low / 2, np.ones((2, 2)))  # the inverse Haar spreads an LL change over its 2x2 pixels
    # Move U alone (Y and V kept): R stays, B moves by dU / 0.492 and G makes up the luma.
    blue = u_change / 0.492
    out = frame.astype(np.float64)
    out[: blue.shape[0], : blue.shape[1], 2] += blue
    out[: blue.shape[0], : blue.shape[1], 1] -= 0.114 / 0.587 * blue
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def marked_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 384x256 H.264 clip of 12 frames, each carrying Stability's mark."""
    path = tmp_path_factory.mktemp("marks") / "stability.mp4"
    media.write_video(path, [stamp_dwtdct(frame) for frame in scene_frames(384, 256, 12)], fps=12)
    return path


def test_registry_lists_the_stability_reader() -> None:
    assert [(reader.issuer, reader.algorithm) for reader in marks.READERS] == [
        ("Stability AI", "invisible-watermark.dwtDct")]


@pytest.mark.parametrize("reader", marks.READERS, ids=lambda reader: reader.algorithm)
def test_every_reader_grades_frames(reader: marks.FrameReader) -> None:
    assert reader.frame_level(scene_frames(384, 256, 1)[0]) < len(marks.STATES) - 1  # an unmarked frame
    assert reader.frame_level(np.zeros((64, 64, 3), np.uint8)) is None  # too small to carry a mark


def test_stamped_frame_reads_very_likely() -> None:
    stamped = stamp_dwtdct(scene_frames(384, 256, 1)[0])
    assert stability.StabilityReader().frame_level(stamped) == len(marks.STATES) - 1


def reference_stamp(frames: list[np.ndarray]) -> list[np.ndarray]:
    """Stability's message on RGB frames by invisible-watermark's own encoder, on float pixels as SDXL and SVD."""
    imwatermark = pytest.importorskip("imwatermark")
    encoder = imwatermark.WatermarkEncoder()
    encoder.set_watermark("bits", stability.message_bits().astype(int).tolist())
    return [np.clip(np.rint(encoder.encode(frame[:, :, ::-1].astype(np.float32), "dwtDct")[:, :, ::-1]), 0, 255)
            .astype(np.uint8) for frame in frames]


def test_reads_the_reference_encoder() -> None:
    [marked] = reference_stamp(scene_frames(384, 256, 1))
    assert stability.matching_bits(marked) >= stability.LEVEL_MATCHING_BITS[-1]  # rounding costs a few bits


def test_agrees_with_the_reference_decoder_on_float_frames() -> None:
    imwatermark = pytest.importorskip("imwatermark")
    decoder = imwatermark.WatermarkDecoder("bits", stability.MESSAGE_BITS)
    for frame in reference_stamp(scene_frames(640, 360, 2)):
        assert (stability.read_bits(frame) == decoder.decode(frame[:, :, ::-1].astype(np.float32), "dwtDct")).all()


def test_chroma_planes_give_the_rgb_band(clip: Path) -> None:
    [(_, decoded)] = media.iter_spread_video_frames(clip, 1)
    from_planes, from_rgb = stability.planes_low(decoded), stability.rgb_low(decoded.to_ndarray(format="rgb24"))
    assert from_planes.shape == from_rgb.shape
    assert np.abs(from_planes - from_rgb).mean() < 1  # of a step of 36


def test_chroma_weights_follow_the_matrix() -> None:
    to_cb, to_cr = stability.chroma_to_u(*stability.BT601, full_range=False)
    assert to_cb == pytest.approx(0.492 * 1.772 * 255 / 224) and to_cr == pytest.approx(0, abs=1e-12)
    to_cb, to_cr = stability.chroma_to_u(*stability.LUMA_WEIGHTS[1], full_range=False)  # BT.709: Cr enters
    assert to_cb == pytest.approx(0.492 * 1.754 * 255 / 224, rel=1e-3) and to_cr < -0.1


def test_marked_clip_survives_h264_crf23(tmp_path: Path) -> None:
    source = attacks.scale_to_height(720)(attacks.Clip.read(sample_data(CRF23_CLIP), 6))
    stamped = attacks.Clip(reference_stamp(source.frames), source.fps)
    [through_rgb] = marks.read_frames(attacks.reencode(crf=23)(stamped).frames)
    stamped.write(tmp_path / "crf23.mp4", crf=23)
    [from_file] = marks.read_clip(tmp_path / "crf23.mp4")
    assert (through_rgb.state, from_file.state) == ("very-likely", "very-likely")


@pytest.mark.parametrize(("levels", "state"), [
    ((3, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0), "very-likely"),
    ((3, 3, 0, 0), "none"),  # too few frames
    ((3, 3, 3) + (0,) * 29, "very-likely"),  # a codec may leave the mark on a few frames only
    ((3, 2, 2, 1), "likely"),
    ((1, 1, 1, 0), "partial"),
])
def test_clip_state_needs_enough_frames(levels: tuple[int, ...], state: str) -> None:
    assert marks.clip_state(levels) == state


def test_marked_clip_is_ai_generated(marked_clip: Path, tmp_path: Path) -> None:
    report = Verifier(home=tmp_path).verify(marked_clip)
    [mark] = report.watermark["others"]
    assert mark == {"issuer": "Stability AI", "algorithm": "invisible-watermark.dwtDct", "frames": 12,
                    "marked_frames": 12, "state": "very-likely"}
    assert report.verdict == "ai-generated"
    assert any("Stability AI's public watermark" in line and "is present" in line for line in report.evidence)


def test_unmarked_real_clip_reads_none(tmp_path: Path) -> None:
    report = Verifier(home=tmp_path).verify(sample_data(UNMARKED_REAL_CLIP))
    [mark] = report.watermark["others"]
    assert (mark["state"], mark["marked_frames"], mark["frames"]) == ("none", 0, marks.MAX_FRAMES)
    assert report.verdict == "no-evidence"


def test_json_carries_other_marks(marked_clip: Path, clip: Path, tmp_path: Path) -> None:
    reports = run_json("verify", marked_clip, clip, home=tmp_path)
    assert [report["verdict"] for report in reports] == ["ai-generated", "no-evidence"]
    for report in reports:
        [mark] = report["watermark"]["others"]
        assert set(mark) == MARK_KEYS and mark["state"] in marks.STATES
        assert isinstance(mark["frames"], int) and isinstance(mark["marked_frames"], int)


def test_a_partial_clip_is_said_as_not_found() -> None:
    from provenance.verify import Report, explain

    report = Report(path="clip.mp4", container="mp4")
    report.watermark["others"] = [{"issuer": "Stability AI", "algorithm": "invisible-watermark.dwtDct", "frames": 16,
                                   "marked_frames": 0, "state": "partial"}]
    [line] = [line for line in explain(report) if "Stability AI" in line]
    assert line.endswith("not found in 16 frames read")
    assert "traces" not in line
