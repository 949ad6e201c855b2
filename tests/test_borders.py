"""Borders around the picture (letterbox, pillarbox bars; a blurred fill) are found and cropped away, and only those."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import sample_data
from provenance.attacks import Clip, blurred_fill
from provenance.borders import FULL_FRAME, candidate_boxes, framed, picture_box

REAL_CLIP = "clips/real/cotracker-demo-videos/gradio_demo_videos_paragliding-launch.mp4"  # in the sample data


@pytest.fixture(scope="module")
def lumas() -> list[np.ndarray]:
    """Real footage as luma, 12 frames."""
    return [frame[..., 1].copy() for frame in Clip.read(sample_data(REAL_CLIP), 12).frames]


def _framed(luma: np.ndarray, top: int, bottom: int, left: int, right: int, level: int = 16) -> np.ndarray:
    return np.pad(luma, ((top, bottom), (left, right)), constant_values=level)


def test_bars_around_the_picture_are_found(lumas: list[np.ndarray]) -> None:
    height, width = lumas[0].shape
    framed_lumas = [_framed(luma, 40, 40, 90, 90) for luma in lumas]
    assert picture_box(framed_lumas) == (slice(40, 40 + height), slice(90, 90 + width))


def test_the_pictures_own_plain_rows_beside_a_bar_are_kept(lumas: list[np.ndarray]) -> None:
    height = lumas[0].shape[0]
    dark_floor = [luma.copy() for luma in lumas]
    for luma in dark_floor:
        luma[-25:] = 16  # the picture's bottom rows are as dark and flat as the bars
    framed_lumas = [_framed(luma, 40, 40, 0, 0) for luma in dark_floor]
    assert picture_box(framed_lumas)[0] == slice(40, 40 + height)


def test_a_picture_without_bars_is_kept_whole(lumas: list[np.ndarray]) -> None:
    height, width = lumas[0].shape
    rows, columns = picture_box(lumas)
    assert (rows.indices(height), columns.indices(width)) == ((0, height, 1), (0, width, 1))


def test_frames_of_one_colour_say_nothing_about_borders(lumas: list[np.ndarray]) -> None:
    framed_lumas = [_framed(luma, 30, 30, 0, 0) for luma in lumas]
    black = [np.full_like(framed_lumas[0], 16) for _ in range(5)]  # a fade from black before the picture
    boxes, frames = framed(black + framed_lumas)
    height = lumas[0].shape[0]
    assert boxes == [FULL_FRAME, (slice(30, 30 + height), slice(None))]
    assert sum(1 for _ in frames) == len(black) + len(framed_lumas), "every frame is still read"


def test_a_picture_on_a_blurred_copy_of_itself_is_a_second_candidate(lumas: list[np.ndarray]) -> None:
    height, width = lumas[0].shape
    assert candidate_boxes(lumas) == [FULL_FRAME], "a plain picture has one place"
    filled = [blurred_fill(9 / 16)(Clip([np.dstack([luma] * 3)], 24.0)).frames[0][..., 0] for luma in lumas]
    boxes = candidate_boxes(filled)
    assert len(boxes) == 2 and boxes[0] == FULL_FRAME
    top = (filled[0].shape[0] - height) // 2
    rows, columns = boxes[1]
    assert abs(rows.start - top) <= 1 and abs(rows.stop - (top + height)) <= 1
    assert columns.indices(width) == (0, width, 1)


def test_borders_never_take_most_of_the_frame() -> None:
    flat = [np.full((90, 160), 40, np.uint8) for _ in range(4)]
    for frame in flat:
        frame[44:46, 70:90] = 200  # a small bright mark: a picture of 2 rows would be all that is left
    rows, _ = picture_box(flat)
    assert rows.indices(90) == (0, 90, 1)
