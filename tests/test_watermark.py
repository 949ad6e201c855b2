"""Watermark behaviour through the public API: invisible, read back after real re-encodes, crops and
rescales, keyed, and never claimed on unmarked clips."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
from scipy import stats
from skimage.metrics import structural_similarity

from conftest import sample_data
from provenance import media
from provenance.attacks import Clip, bars, blurred_fill, compose, crop, crop_window, flip, reencode, scale, window
from provenance.errors import BadInput, KeyMissing
from provenance.keys import read_watermark_secret
from provenance.watermark import (
    ALGORITHM_ID,
    FALSE_POSITIVE_RATE,
    Detection,
    Embedder,
    Payload,
    WatermarkKey,
    extract,
    extract_frames,
    match_issued,
    watermark_clip,
)
from provenance.watermark.extract import MAX_READ_FRAMES
from provenance.watermark.issued import IssuedPayloads
from provenance.watermark.payload import CODED_BITS, decode_payload, encode_payload

REAL_CLIP = "clips/real/cotracker-demo-videos/gradio_demo_videos_paragliding-launch.mp4"  # in the sample data
SIZE_240P = (426, 240)
SIZE_480P = (854, 480)
FRAMES = 30
MIN_PSNR_DB = 44.0
MIN_SSIM = 0.99


def _resized(frames: list[np.ndarray], size: tuple[int, int]) -> list[np.ndarray]:
    return [cv2.resize(f, size, interpolation=cv2.INTER_AREA) for f in frames]


@pytest.fixture(scope="session")
def key(home: Path) -> WatermarkKey:
    return WatermarkKey(read_watermark_secret(home))


@pytest.fixture(scope="session")
def payload() -> Payload:
    return Payload.from_hex("0123456789abcdef")


@pytest.fixture(scope="session")
def camera_frames() -> list[np.ndarray]:
    """Real footage (RGB), 30 frames at 480p."""
    return _resized(Clip.read(sample_data(REAL_CLIP), FRAMES).frames, SIZE_480P)


@pytest.fixture(scope="session")
def marked(camera_frames: list[np.ndarray], key: WatermarkKey, payload: Payload) -> Clip:
    embedder = Embedder(key, payload)
    return Clip([embedder.embed_rgb(f, i) for i, f in enumerate(camera_frames)], 30.0)


@pytest.fixture(scope="session")
def marked_240p_file(tmp_path_factory: pytest.TempPathFactory, camera_frames, key, payload) -> Path:
    """A 240p clip watermarked by the streaming path (decode, embed, encode)."""
    folder = tmp_path_factory.mktemp("watermark")
    source = folder / "source.mp4"
    media.write_video(source, _resized(camera_frames, SIZE_240P), fps=30)
    target = folder / "marked.mp4"
    assert watermark_clip(source, target, key, payload) == FRAMES
    return target


def _psnr_db(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(255.0**2 / np.mean((a.astype(np.float64) - b) ** 2)))


def test_algorithm_id_names_the_version() -> None:
    assert ALGORITHM_ID == "io.provenance.watermark.v1"


def test_mark_is_invisible(camera_frames: list[np.ndarray], marked: Clip) -> None:
    assert min(_psnr_db(a, b) for a, b in zip(camera_frames, marked.frames, strict=True)) >= MIN_PSNR_DB


def _dark_flat_frame() -> np.ndarray:
    """Mostly black, with a saturated red band and one textured patch: where a mark shows most."""
    rng = np.random.default_rng(0)
    frame = np.zeros((240, 320, 3), np.uint8)
    texture = 120 + 25 * cv2.GaussianBlur(rng.normal(0, 1, (120, 160, 3)), (0, 0), 1.5)
    frame[60:180, 80:240] = np.clip(texture, 0, 255).astype(np.uint8)
    frame[:, :40] = (200, 10, 10)
    return frame


def test_mark_keeps_ssim_on_dark_flat_frames(camera_frames: list[np.ndarray], key, payload) -> None:
    embedder = Embedder(key, payload)
    for frame in (_dark_flat_frame(), camera_frames[0]):
        marked_rgb = embedder.embed_rgb(frame, 0)
        yuv = cv2.cvtColor(frame, cv2.COLOR_RGB2YUV_I420)
        shown_yuv = cv2.cvtColor(yuv, cv2.COLOR_YUV2RGB_I420)
        marked_yuv = cv2.cvtColor(embedder.embed_yuv420p(yuv, 0), cv2.COLOR_YUV2RGB_I420)
        assert structural_similarity(frame, marked_rgb, channel_axis=2) >= MIN_SSIM
        assert structural_similarity(shown_yuv, marked_yuv, channel_axis=2) >= MIN_SSIM
        assert np.sqrt(np.mean((marked_rgb.astype(float) - frame) ** 2)) > 0.3, "the mark is scaled, not dropped"
    stronger = Embedder(key, payload, strength=3.0).embed_rgb(camera_frames[0], 0)
    assert structural_similarity(camera_frames[0], stronger, channel_axis=2) < MIN_SSIM, "strength trades SSIM"


def test_large_frames_keep_quality_and_read_back(camera_frames: list[np.ndarray], key, payload) -> None:
    """1080p and larger frames get their masked mark at half size, stretched once: same quality, same reading."""
    frames = _resized(camera_frames[:4], (1920, 1080))
    embedder = Embedder(key, payload)
    marked_frames = [embedder.embed_rgb(f, i) for i, f in enumerate(frames)]
    assert min(_psnr_db(a, b) for a, b in zip(frames, marked_frames, strict=True)) >= MIN_PSNR_DB
    assert structural_similarity(frames[0], marked_frames[0], channel_axis=2) >= MIN_SSIM
    change = marked_frames[0].astype(float) - frames[0]
    assert np.sqrt(np.mean(change**2)) > 0.5, "the mark is there"
    detection = extract_frames(_resized(marked_frames, (960, 540)), key)
    assert detection.detected and detection.payload == payload


def test_pixel_formats_carry_the_same_luma_change(camera_frames: list[np.ndarray], key, payload) -> None:
    embedder = Embedder(key, payload)
    rgb = camera_frames[0][:240, :320]
    yuv = cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420)
    marked_yuv = embedder.embed_yuv420p(yuv, 0)
    assert np.array_equal(marked_yuv[240:], yuv[240:]), "chroma must not change"
    shown = cv2.cvtColor(yuv, cv2.COLOR_YUV2RGB_I420)
    shown_by_yuv = cv2.cvtColor(marked_yuv, cv2.COLOR_YUV2RGB_I420).astype(float) - shown
    shown_by_rgb = embedder.embed_rgb(rgb, 0).astype(float) - rgb
    rms_yuv, rms_rgb = np.sqrt(np.mean(shown_by_yuv**2)), np.sqrt(np.mean(shown_by_rgb**2))
    assert 0.5 < rms_rgb < 3.0
    assert abs(rms_yuv / rms_rgb - 1) < 0.1, "both paths must show the same mark on screen"
    assert np.corrcoef(shown_by_yuv.ravel(), shown_by_rgb.ravel())[0, 1] > 0.9


def test_streamed_clip_reads_back_with_its_payload(marked_240p_file: Path, key, payload) -> None:
    detection = extract(marked_240p_file, key)
    assert detection.state == "detected" and detection.detected
    assert detection.payload == payload
    assert detection.p_value <= FALSE_POSITIVE_RATE
    assert detection.to_dict() == {
        "detected": True, "state": "detected", "payload": payload.hex, "p_value": detection.p_value,
        "frames": detection.frames, "issued_compared": 0,
    }
    assert 0 < detection.frames <= FRAMES
    assert len(detection.per_frame) == detection.frames and np.mean(detection.per_frame) > 1


def test_extract_respects_max_frames(marked_240p_file: Path, key) -> None:
    assert extract(marked_240p_file, key, max_frames=5).frames == 5


@pytest.mark.parametrize(
    "attack",
    [
        reencode("h264", 30),
        reencode("h265", 32),
        compose(scale(0.5), reencode("h264", 23)),
        compose(crop(0.64), reencode("h264", 23)),
        compose(crop(0.80, center_y=0.2, center_x=0.9), scale(0.75)),
        flip(),
        window(0.4, start_s=0.5),
        compose(bars(1 / 6, vertical=True), reencode("h264", 23)),
        compose(bars(0.5, vertical=False), reencode("h264", 23)),
        compose(blurred_fill(9 / 16), reencode("h264", 23)),
    ],
    ids=["h264-crf30", "h265-crf32", "half-size", "crop-64%", "off-centre-crop-rescale", "flip", "window",
         "pillarbox", "letterbox", "blurred-fill"],
)
def test_payload_survives(marked: Clip, key, payload, attack) -> None:
    detection = extract_frames(attack(marked).frames, key)
    assert detection.detected and detection.payload == payload


def test_crop_is_found_by_alignment(marked: Clip, key) -> None:
    detection = extract_frames(crop(0.64)(marked).frames, key)
    scale_y, scale_x, shift_y, shift_x, flipped = detection.alignment
    assert abs(scale_y - 0.8) < 0.01 and abs(scale_x - 0.8) < 0.01
    assert abs(shift_y - 25.6) < 1.0 and abs(shift_x - 25.6) < 1.0 and not flipped


def test_off_centre_crop_with_a_different_fraction_per_axis_is_found(marked: Clip, key, payload) -> None:
    detection = extract_frames(crop_window(0.88, 0.82, at_y=0.9, at_x=0.15)(marked).frames, key)
    scale_y, scale_x, shift_y, shift_x, flipped = detection.alignment
    assert abs(scale_y - 0.88) < 0.01 and abs(scale_x - 0.82) < 0.01
    assert abs(shift_y - 0.12 * 0.9 * 256) < 1.0 and abs(shift_x - 0.18 * 0.15 * 256) < 1.0 and not flipped
    assert detection.payload == payload


def test_other_key_finds_nothing(marked: Clip) -> None:
    detection = extract_frames(marked.frames, WatermarkKey(b"another secret, thirty-two bytes"))
    assert detection.state == "not-detected" and detection.payload is None


def test_unmarked_camera_clips_are_never_detected(key: WatermarkKey) -> None:
    unmarked = sorted(sample_data("clips/real").rglob("*.mp4"))[::6]
    assert unmarked
    for path in unmarked:
        detection = extract(path, key, max_frames=FRAMES)
        assert not detection.detected and detection.payload is None, path


def test_unmarked_p_values_are_uniform(key: WatermarkKey) -> None:
    rng = np.random.default_rng(11)
    p_values = []
    for _ in range(200):
        noise = rng.normal(0, 1, (120, 160)).astype(np.float32)
        frame = np.clip(128 + 40 * cv2.GaussianBlur(noise, (0, 0), float(rng.uniform(0.5, 3))), 0, 255)
        p_values.append(extract_frames([frame.astype(np.uint8)], key).p_value)
    assert stats.kstest(p_values, "uniform").pvalue > 1e-3
    assert min(p_values) > FALSE_POSITIVE_RATE


def test_a_long_clip_is_judged_on_a_bounded_number_of_frames(key: WatermarkKey, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    frames = (np.repeat(rng.integers(0, 256, (32, 48, 1), dtype=np.uint8), 3, axis=2)
              for _ in range(MAX_READ_FRAMES + 100))
    media.write_video(tmp_path / "long.mp4", frames, fps=250, preset="ultrafast")
    detection = extract(tmp_path / "long.mp4", key)
    assert detection.frames == MAX_READ_FRAMES and detection.state == "not-detected"


def test_flat_frames_are_not_evidence(key: WatermarkKey) -> None:
    detection = extract_frames([np.full((240, 320), 16, np.uint8)] * 4, key)
    assert detection.state == "not-detected" and detection.payload is None


FIXED_KEY = WatermarkKey(b"a fixed key, so these cases are the same every run")


def _payloads(count: int, seed: int) -> list[Payload]:
    return [Payload(row.tobytes()) for row in np.random.default_rng(seed).integers(0, 256, (count, 8), dtype=np.uint8)]


def _evidence(payload: Payload, per_bit_z: float, seed: int) -> Detection:
    """What extraction reports when each coded bit's evidence is `per_bit_z` deviations towards its true value."""
    truth = 2.0 * encode_payload(payload, FIXED_KEY.check_mask) - 1.0
    soft = per_bit_z * truth + np.random.default_rng(seed).standard_normal(truth.size)
    return Detection(state="not-detected", payload=None, p_value=0.5, frames=1, coded_soft=soft)


def test_issued_payloads_read_marks_too_damaged_to_decode_alone() -> None:
    issued = _payloads(2000, seed=1)
    for seed in range(5):
        # below what the code needs, and the small detection field shows nothing (p 0.5): the payload's evidence does
        damaged = _evidence(issued[seed * 100], per_bit_z=0.55, seed=seed)
        assert decode_payload(damaged.coded_soft, FIXED_KEY.check_mask) is None
        matched = match_issued(damaged, FIXED_KEY, issued)
        assert matched.detected and matched.payload == issued[seed * 100]
        assert matched.p_value <= FALSE_POSITIVE_RATE and matched.issued_compared == len(issued)
    clean = _evidence(issued[0], per_bit_z=0.0, seed=99)
    assert match_issued(clean, FIXED_KEY, issued) is clean, "no mark: nothing matches"


def test_issued_payloads_are_also_read_at_the_stamped_alignment() -> None:
    issued = _payloads(2000, seed=4)
    damaged = _evidence(issued[7], per_bit_z=0.55, seed=5)
    misaligned = replace(damaged, coded_soft=np.random.default_rng(6).standard_normal(CODED_BITS),
                         uncropped_soft=damaged.coded_soft)
    matched = match_issued(misaligned, FIXED_KEY, issued)
    assert matched.detected and matched.payload == issued[7]
    # two readings, twice the comparisons: the same score is worth half as much
    assert matched.p_value == pytest.approx(2 * match_issued(damaged, FIXED_KEY, issued).p_value)


def test_issued_payloads_are_also_read_at_runner_up_alignments() -> None:
    issued = _payloads(2000, seed=12)
    damaged = _evidence(issued[9], per_bit_z=0.55, seed=13)
    rng = np.random.default_rng(14)
    misaligned = replace(damaged, coded_soft=rng.standard_normal(CODED_BITS),
                         runner_up_soft=[rng.standard_normal(CODED_BITS), damaged.coded_soft])
    matched = match_issued(misaligned, FIXED_KEY, issued)
    assert matched.detected and matched.payload == issued[9]
    assert matched.p_value == pytest.approx(3 * match_issued(damaged, FIXED_KEY, issued).p_value)


def test_issued_payloads_kept_between_clips_score_as_their_codewords_do() -> None:
    first, second = _payloads(300, seed=8), _payloads(200, seed=9)
    issued = IssuedPayloads(FIXED_KEY, [p.hex for p in first])
    issued.add([p.hex for p in second] + ["abcd", "00" * 9])  # later payloads; values that are no 64-bit payload
    assert len(issued) == 500
    readings = np.random.default_rng(10).standard_normal((CODED_BITS, 2)).astype(np.float32)
    signs = np.stack([2.0 * encode_payload(p, FIXED_KEY.check_mask) - 1.0 for p in first + second])
    expected = (signs @ readings).max(axis=1) / np.sqrt(CODED_BITS)
    np.testing.assert_allclose(issued.scores(readings), expected, atol=1e-4)
    damaged = _evidence(second[123], per_bit_z=0.55, seed=11)
    matched = issued.match(damaged)
    assert matched.payload == second[123] and matched.issued_compared == 500
    assert matched.p_value == pytest.approx(match_issued(damaged, FIXED_KEY, first + second).p_value)


def test_issued_payloads_never_match_unmarked_evidence() -> None:
    issued = _payloads(500, seed=2)
    rng = np.random.default_rng(3)
    for _ in range(300):
        unmarked = Detection(state="not-detected", payload=None, p_value=0.5, frames=1,
                             coded_soft=rng.standard_normal(CODED_BITS), uncropped_soft=rng.standard_normal(CODED_BITS),
                             runner_up_soft=list(rng.standard_normal((4, CODED_BITS))))
        assert not match_issued(unmarked, FIXED_KEY, issued).detected


def test_bad_inputs_are_refused(key: WatermarkKey, payload: Payload, tmp_path: Path) -> None:
    embedder = Embedder(key, payload)
    with pytest.raises(BadInput):
        embedder.embed_luma(np.zeros((64, 64), np.float32), 0)
    with pytest.raises(BadInput):
        embedder.embed_rgb(np.zeros((64, 64), np.uint8), 0)
    for frames in ([], [np.zeros((0, 0), np.uint8)], [np.zeros((8, 8), np.uint8)], [np.zeros((64, 64, 4), np.uint8)]):
        with pytest.raises(BadInput):
            extract_frames(frames, key)
    with pytest.raises(BadInput):
        extract(tmp_path, key)
    with pytest.raises(BadInput):
        Embedder(key, payload, strength=0)
    with pytest.raises(KeyMissing):
        WatermarkKey(b"short")
    source = tmp_path / "in.mp4"
    media.write_video(source, [np.zeros((64, 64, 3), np.uint8)] * 2, fps=10)
    with pytest.raises(BadInput):
        watermark_clip(source, source, key, payload)
    assert "secret" not in repr(key) and key.secret.hex() not in repr(key)


def test_detection_is_a_plain_record() -> None:
    detection = Detection(state="not-detected", payload=None, p_value=0.5, frames=3)
    assert not detection.detected
    assert detection.to_dict()["payload"] is None


@pytest.fixture(scope="session")
def long_clips(tmp_path_factory: pytest.TempPathFactory, camera_frames, key, payload) -> tuple[Path, Path]:
    """A 21-second 240p clip of real footage (looped back and forth) at 10 fps, unmarked and marked."""
    folder = tmp_path_factory.mktemp("long")
    loop = _resized(camera_frames, SIZE_240P)
    loop = loop + loop[-2:0:-1]
    frames = [loop[i % len(loop)] for i in range(210)]
    embedder = Embedder(key, payload)
    plain, marked = folder / "plain.mp4", folder / "marked.mp4"
    media.write_video(plain, frames, fps=10)
    media.write_video(marked, [embedder.embed_rgb(f, i) for i, f in enumerate(frames)], fps=10)
    return plain, marked


def test_long_clips_stop_early_or_read_reference_frames_only(long_clips: tuple[Path, Path], key, payload) -> None:
    plain, marked = long_clips
    found = extract(marked, key)
    assert found.detected and found.payload == payload and found.frames < 50
    missing = extract(plain, key)
    assert not missing.detected and missing.payload is None
    assert 0 < missing.frames < media.probe(plain).frame_count
