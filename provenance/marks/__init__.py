"""Readers of other issuers' public watermarks: one module per mark, each registered in READERS.

A reader decides frame by frame how many of the issuer's message bits a frame (RGB pixels, or a decoded frame
read from its own planes) carries; the clip's state is the highest level that enough of the frames read reach
(`clip_state`). Verify reports every reader's `MarkReading` as `watermark.others` and calls a clip AI-generated
only on a "very-likely" reading.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import av
import numpy as np

from provenance import media
from provenance.marks.stability import StabilityReader

STATES = ("none", "partial", "likely", "very-likely")
MAX_FRAMES = 32  # frames read per clip, spread over it: the readers' cost stays bounded whatever the length
# A clip reaches a level when this many of its frames read do. Codecs keep a mark on some frames only (H.264 at
# CRF 23 keeps Stability's on 0-32 of 32), and no unmarked clip of the 414 sample clips had more than 2 frames at
# "very likely": see docs/marks.md. Frames coinciding by chance (36 of 48 bits: p = 3.6e-4) would need 3 of 32.
MIN_LEVEL_FRAMES = 3


class FrameReader(Protocol):
    """A public mark's reader: who issues it, by which algorithm, and one frame's level."""

    issuer: str
    algorithm: str

    def frame_level(self, frame: np.ndarray | av.VideoFrame) -> int | None:
        """The index in STATES that one frame (RGB, or as decoded) reaches; None when it cannot carry the mark."""
        ...


@dataclass(frozen=True)
class MarkReading:
    """One reader's result on a clip; `levels` holds each frame's index in STATES."""

    issuer: str
    algorithm: str
    levels: tuple[int, ...]

    @property
    def state(self) -> str:
        return clip_state(self.levels)

    @property
    def marked_frames(self) -> int:
        """Frames read at the strongest level, "very-likely"."""
        return self.levels.count(len(STATES) - 1)

    def to_dict(self) -> dict:
        return {"issuer": self.issuer, "algorithm": self.algorithm, "frames": len(self.levels),
                "marked_frames": self.marked_frames, "state": self.state}


def clip_state(levels: Sequence[int]) -> str:
    """The highest state that at least MIN_LEVEL_FRAMES frames reach."""
    reached = np.asarray(levels)
    return next((STATES[index] for index in range(len(STATES) - 1, 0, -1)
                 if (reached >= index).sum() >= MIN_LEVEL_FRAMES), STATES[0])


READERS: tuple[FrameReader, ...] = (StabilityReader(),)  # a new public mark: one module, one entry here


def read_frames(frames: Sequence[np.ndarray | av.VideoFrame],
                readers: Sequence[FrameReader] = READERS) -> list[MarkReading]:
    """Every reader's reading of RGB or decoded frames (frames a reader cannot use are left out of its count)."""
    readings = []
    for reader in readers:
        levels = (reader.frame_level(frame) for frame in frames)
        readings.append(MarkReading(reader.issuer, reader.algorithm,
                                    tuple(level for level in levels if level is not None)))
    return readings


def read_clip(path: str | os.PathLike, max_frames: int = MAX_FRAMES,
              readers: Sequence[FrameReader] = READERS) -> list[MarkReading]:
    """Every reader's reading of up to `max_frames` frames spread over the clip, as decoded (unconverted)."""
    frames = [frame for _, frame in media.iter_spread_video_frames(path, max_frames)]
    return read_frames(frames, readers)
