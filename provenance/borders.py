"""Finding the picture inside the uniform borders that players and platforms add around it.

A landscape clip shown in a portrait frame gets bars above and below (letterbox), a 4:3 clip in a 16:9
frame gets bars left and right (pillarbox); some apps fill the rest of the frame with a blurred, enlarged copy
of the picture instead. Readers that expect the picture to fill the frame take the box inside such borders:
rows and columns at the edges that are flat, at one level, in every sampled frame (`picture_box`), or those
without fine detail in any of them (`detailed_box`); the whole frame stays a candidate too.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import chain

import cv2
import numpy as np

FLAT_LEVELS = 2.0  # a border row or column varies along its length by at most this (standard deviation, levels)
LEVEL_TOLERANCE_LEVELS = 4.0  # and its mean stays this close to the outermost row's or column's
MIN_PICTURE_FRACTION = 0.15  # borders never take more than 85% of a side (a flat frame has no picture to find)
DETAIL_WINDOW_PX = 9  # detail: the luma minus its mean over this window (a blurred fill has none at this scale)
DETAIL_SHARE = 0.25  # a border row or column has less than this share of the frame's usual detail
USUAL_DETAIL_PERCENTILE = 95  # the frame's usual detail: this percentile of its rows' (or columns')
DETAIL_FLOOR_LEVELS = 0.5  # and less than this, in luma levels, is no detail at all
MIN_EXTRA_CROP_FRACTION = 0.2  # the detailed box is a second candidate only if it crops this much more of a side
SAMPLE_FRAMES = 8  # frames with some detail that the borders must be flat in
MAX_LOOKAHEAD_FRAMES = 64  # frames held back at most while looking for them (a long fade from black)
Box = tuple[slice, slice]
FULL_FRAME: Box = (slice(None), slice(None))


def picture_box(lumas: Sequence[np.ndarray]) -> Box:
    """The (rows, columns) inside the borders that luma frames (H, W) of one size all share; the whole frame if
    none."""
    if not lumas:
        return FULL_FRAME
    rows = _inner_span(lumas)
    return rows, _inner_span([frame[rows].T for frame in lumas])


def _inner_span(frames: Sequence[np.ndarray]) -> slice:
    """The rows of the frames between the flat, same-level runs of rows at the top and at the bottom."""
    height = frames[0].shape[0]
    means = np.stack([frame.mean(axis=1) for frame in frames])  # (frame, row)
    deviations = np.stack([frame.std(axis=1) for frame in frames])

    def border(order: np.ndarray) -> int:
        """How many rows, in `order` from one edge, are flat and at the edge row's level in every frame."""
        level = means[:, order[:1]]
        flat = (deviations[:, order] <= FLAT_LEVELS) & (np.abs(means[:, order] - level) <= LEVEL_TOLERANCE_LEVELS)
        run = np.all(flat, axis=0)
        return height if run.all() else int(np.argmin(run))

    return _centred_span(border(np.arange(height)), border(np.arange(height)[::-1]), height)


def _centred_span(before: int, after: int, size: int) -> slice:
    """The span inside borders of equal width, the smaller of `before` and `after` rows (or columns).

    Players and apps centre the picture they frame, so the two borders match; where one side looks wider, the
    picture's own plain rows beside it (a dark floor, a sky) have joined it, and are kept.
    """
    border = min(before, after)
    if border == 0 or size - 2 * border < MIN_PICTURE_FRACTION * size:
        return slice(None)
    return slice(border, size - border)


def detailed_box(lumas: Sequence[np.ndarray]) -> Box:
    """The (rows, columns) inside borders of equal width without detail: the detail of a row or column (RMS of
    the luma minus its local mean, the most in any frame) stays under DETAIL_SHARE of the frame's usual."""
    if not lumas:
        return FULL_FRAME
    window = (DETAIL_WINDOW_PX, DETAIL_WINDOW_PX)
    residuals = [frame.astype(np.float32) - cv2.blur(frame.astype(np.float32), window) for frame in lumas]
    return _detailed_span(residuals, axis=1), _detailed_span(residuals, axis=0)


def _detailed_span(residuals: Sequence[np.ndarray], axis: int) -> slice:
    """The span of rows (axis 1) or columns (axis 0) between the outermost ones with detail."""
    rms = np.max([np.sqrt(np.mean(residual * residual, axis=axis)) for residual in residuals], axis=0)
    threshold = max(DETAIL_FLOOR_LEVELS, DETAIL_SHARE * float(np.percentile(rms, USUAL_DETAIL_PERCENTILE)))
    inside = np.flatnonzero(rms > threshold)
    if inside.size == 0:
        return slice(None)
    before, after = int(inside[0]), rms.size - 1 - int(inside[-1])
    reach = DETAIL_WINDOW_PX // 2  # rows this close outside the picture see its edge through the window
    return _centred_span(before + reach if before else 0, after + reach if after else 0, rms.size)


def candidate_boxes(lumas: Sequence[np.ndarray]) -> list[Box]:
    """Where the picture may be: the whole frame; inside uniform borders, if there are any; inside undetailed
    borders (a blurred fill), if those crop clearly more. Borders on both axes are also tried one axis at a time.

    The whole frame always stays a candidate, and so does each axis alone: a clip's own bars or plain areas
    (a letterboxed film, a wall above a head) look like borders too, and cropping them as well would stretch
    the picture on one axis.
    """
    if not lumas or len({frame.shape for frame in lumas}) != 1:
        return [FULL_FRAME]
    shape = lumas[0].shape
    uniform, detailed = picture_box(lumas), detailed_box(lumas)
    crops = [uniform]
    kept = [(inner[1] - inner[0]) / (outer[1] - outer[0])
            for inner, outer in zip(_spans(detailed, shape), _spans(uniform, shape), strict=True)]
    if min(kept) <= 1 - MIN_EXTRA_CROP_FRACTION:
        crops.append(detailed)
    boxes, seen = [FULL_FRAME], {_spans(FULL_FRAME, shape)}
    for rows, columns in crops:
        for box in ((rows, slice(None)), (slice(None), columns), (rows, columns)):
            if _spans(box, shape) not in seen:
                seen.add(_spans(box, shape))
                boxes.append(box)
    return boxes


def _spans(box: Box, shape: tuple[int, ...]) -> tuple[tuple[int, int], tuple[int, int]]:
    """A box's (start, stop) of rows and of columns in a frame of `shape`."""
    return tuple(span.indices(size)[:2] for span, size in zip(box, shape, strict=True))


def framed(lumas: Iterable[np.ndarray]) -> tuple[list[Box], Iterator[np.ndarray]]:
    """The candidate boxes of a stream of luma frames, found from its first frames with detail, and the stream.

    Up to MAX_LOOKAHEAD_FRAMES frames are held back until SAMPLE_FRAMES of them show some detail (frames of one
    flat colour say nothing about borders); the stream returned starts with those held back.
    """
    frames = iter(lumas)
    held: list[np.ndarray] = []
    detailed: list[np.ndarray] = []
    for frame in frames:
        held.append(frame)
        if float(frame.std()) > FLAT_LEVELS:
            detailed.append(frame)
        if len(detailed) == SAMPLE_FRAMES or len(held) == MAX_LOOKAHEAD_FRAMES:
            break
    return candidate_boxes(detailed), chain(held, frames)
