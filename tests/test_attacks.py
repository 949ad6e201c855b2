"""Every registered attack returns a well-formed clip, and the parametrised ones do what they say."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import scene_frames
from provenance import attacks
from provenance.attacks import ATTACKS, COMBINED_ATTACKS, Clip
from provenance.errors import BadInput

FPS = 30.0


@pytest.fixture(scope="module")
def tiny() -> Clip:
    return Clip(scene_frames(96, 64, 30), FPS)


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_registered_attack_returns_a_clip(tiny: Clip, name: str) -> None:
    out = ATTACKS[name](tiny)
    assert out.frames and out.fps > 0
    assert all(f.dtype == np.uint8 and f.ndim == 3 and f.shape[2] == 3 for f in out.frames)
    assert tiny.frames[0].shape == (64, 96, 3), "the input clip must not be modified"


def test_geometry(tiny: Clip) -> None:
    assert attacks.crop(0.64)(tiny).frames[0].shape[:2] == (51, 77)
    assert attacks.crop_resize(0.64)(tiny).frames[0].shape[:2] == (64, 96)
    assert attacks.scale(0.5)(tiny).frames[0].shape[:2] == (32, 48)
    assert attacks.scale_to_height(32)(tiny).frames[0].shape[:2] == (32, 48)
    assert np.array_equal(attacks.flip()(tiny).frames[0], tiny.frames[0][:, ::-1])


def test_time(tiny: Clip) -> None:
    assert len(attacks.change_fps(15)(tiny).frames) == 15
    assert len(attacks.window(0.5, start_s=0.2)(tiny).frames) == 15
    assert 18 <= len(attacks.drop_frames(0.2)(tiny).frames) <= 29


def test_colour(tiny: Clip) -> None:
    frame = tiny.frames[0].astype(float)
    assert attacks.brightness(0.7)(tiny).frames[0].mean() == pytest.approx(0.7 * frame.mean(), abs=1)
    assert attacks.contrast(1.3)(tiny).frames[0].std() > frame.std()
    grey = attacks.saturation(0.0)(tiny).frames[0].astype(int)
    assert np.abs(grey[:, :, 0] - grey[:, :, 1]).max() <= 1


def test_reencode_is_lossy_but_close(tiny: Clip) -> None:
    out = attacks.reencode("h264", 40)(tiny)
    assert len(out.frames) == len(tiny.frames)
    error = np.mean([np.abs(a.astype(int) - b).mean() for a, b in zip(out.frames, tiny.frames, strict=True)])
    assert 0 < error < 20


def test_compose_applies_in_order(tiny: Clip) -> None:
    out = attacks.compose(attacks.crop(0.25), attacks.scale(2.0))(tiny)
    assert out.frames[0].shape[:2] == (64, 96)


def test_crop_window_is_off_centre_and_per_axis() -> None:
    frame = np.arange(100 * 200, dtype=np.int64).reshape(100, 200)
    rgb = np.stack([frame % 256] * 3, axis=2).astype(np.uint8)
    out = attacks.crop_window(0.8, 0.5, at_y=0.25, at_x=1.0)(Clip([rgb], FPS)).frames[0]
    assert out.shape[:2] == (80, 100)
    assert np.array_equal(out, rgb[5:85, 100:200])
    with pytest.raises(BadInput):
        attacks.crop_window(0.8, 0.8, at_y=1.5)
    with pytest.raises(BadInput):
        attacks.crop_window(0.0, 0.8)


def test_rate_fraction_halves_the_clip_rate(tiny: Clip) -> None:
    out = attacks.rate_fraction(0.5)(tiny)
    assert out.fps == FPS / 2 and len(out.frames) == 15
    assert np.array_equal(out.frames[1], tiny.frames[2])


def test_platform_rendition_scales_down_never_up(tiny: Clip) -> None:
    assert attacks.platform_rendition(32, 28)(tiny).frames[0].shape[:2] == (32, 48)
    assert attacks.platform_rendition(480, 28)(tiny).frames[0].shape[:2] == (64, 96)


@pytest.mark.parametrize("name", sorted(COMBINED_ATTACKS))
def test_combined_attack_changes_geometry_rate_and_pixels(name: str) -> None:
    clip = Clip(scene_frames(960, 540, 12), 24.0)
    out = COMBINED_ATTACKS[name](clip)
    height, width = out.frames[0].shape[:2]
    assert out.frames[0].dtype == np.uint8 and height <= 480 and width < 960
    assert abs(width / height - 960 / 540) < 0.25, "crops keep close to the picture's shape"
    assert len(out.frames) == (6 if "half-fps" in name else 12) and out.fps == (12.0 if "half-fps" in name else 24.0)


def test_user_edit_crops_off_centre_before_scaling() -> None:
    """The window the chain keeps is a third of the way into the vertical margin, centred across."""
    rows = np.repeat(np.linspace(0, 255, 200)[:, None], 300, axis=1)
    frame = np.stack([rows] * 3, axis=2).astype(np.uint8)
    edit = attacks.compose(attacks.crop_window(0.85, 0.85, *attacks.OFF_CENTRE), attacks.scale(0.6))
    out = edit(Clip([frame], FPS)).frames[0]
    assert out.shape[:2] == (102, 153)
    top = round((200 - 170) / 3)
    assert abs(int(out[0, 0, 0]) - int(frame[top, 0, 0])) <= 2


@pytest.mark.parametrize("kind", ["grid", "stripes", "tiles"])
def test_pattern_is_periodic_and_the_same_in_every_frame(tiny: Clip, kind: str) -> None:
    flat = Clip([np.full((64, 96, 3), 100, np.uint8)] * 2, FPS)
    out = attacks.pattern(kind, pitch_px=16, line_px=2)(flat).frames
    assert np.array_equal(out[0], out[1])
    assert np.array_equal(out[0][:, 8:40], out[0][:, 40:72]), "two pitches along x repeat the picture"
    assert out[0].std() > 10
    with pytest.raises(BadInput):
        attacks.pattern("dots")
