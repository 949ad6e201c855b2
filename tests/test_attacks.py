"""Every registered attack returns a well-formed clip, and the parametrised ones do what they say."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import scene_frames
from provenance import attacks
from provenance.attacks import ATTACKS, Clip

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
