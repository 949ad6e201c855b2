"""Finding the picture inside the uniform borders that players and platforms add around it.

A landscape clip shown in a portrait frame gets bars above and below (letterbox), a 4:3 clip in a 16:9
frame gets bars left and right (pillarbox). Readers that expect the picture to fill the frame take the box
inside such bars: rows and columns at the edges that are flat, at one level, in every sampled frame.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import chain

import numpy as np

FLAT_LEVELS = 2.0  # a border row or column varies along its length by at most this (standard deviation, levels)
LEVEL_TOLERANCE_LEVELS = 4.0  # and its mean stays this close to the outermost row's or column's
MIN_PICTURE_FRACTION = 0.25  # borders never take more than 3/4 of a side (a flat frame has no picture to find)
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

    top, bottom = border(np.arange(height)), border(np.arange(height)[::-1])
    if height - top - bottom < MIN_PICTURE_FRACTION * height:
        return slice(None)
    return slice(top, height - bottom)


def inside_borders(lumas: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
    """The frames cropped to the picture inside their shared borders, found from the first frames with detail.

    Up to MAX_LOOKAHEAD_FRAMES frames are held back until SAMPLE_FRAMES of them show some detail (frames
    of one flat colour say nothing about borders); then every frame, those included, is cropped alike.
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
    box = picture_box(detailed) if detailed and len({f.shape for f in detailed}) == 1 else FULL_FRAME
    for frame in chain(held, frames):
        yield frame[box]
