"""Periodic content (a grid burned into real footage) keeps the mark through a user's re-upload."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import sample_data
from provenance.attacks import Clip, pattern, reencode, user_edit
from provenance.watermark import Embedder, Payload, WatermarkKey, extract_frames, match_issued

FRAMES = 30
ISSUED = 1000


@pytest.fixture(scope="module")
def footage() -> Clip:
    return Clip.read(sample_data("clips/real/cotracker-demo-videos/assets_apple.mp4"), max_frames=FRAMES)


@pytest.mark.parametrize(("kind", "pitch_px", "angle_deg"), [("grid", 24, 0), ("grid", 16, 30)])
def test_grid_clip_survives_off_centre_crop_scale_and_crf32(footage: Clip, kind: str, pitch_px: int,
                                                            angle_deg: float) -> None:
    key = WatermarkKey(b"periodic content test secret 32b")
    rng = np.random.default_rng(3)
    issued = [Payload(rng.bytes(8)) for _ in range(ISSUED)]
    payload = issued[ISSUED // 2]
    periodic = pattern(kind, pitch_px, angle_deg)(footage)
    embedder = Embedder(key, payload)
    stamped = reencode("h264", 18, "medium")(Clip([embedder.embed_rgb(f) for f in periodic.frames], footage.fps))
    uploaded = user_edit()(stamped)  # 85% of each side, a third into the vertical margin; 0.6; x1.15; CRF 32
    assert uploaded.frames[0].shape[:2] == (362, 652)
    detection = match_issued(extract_frames(uploaded.frames, key), key, issued)
    assert detection.detected and detection.payload == payload
    unmarked = match_issued(extract_frames(user_edit()(periodic).frames, key), key, issued)
    assert not unmarked.detected and unmarked.payload is None
