"""Our own mark on a source clip, rebuilt from its payload and taken out before the clip is stamped again.

Stamping adds a new payload's mark on top of whatever the frames carry. When they still carry an earlier
payload of ours (signing a clip that was stamped before, extending or filling one), the two marks overlap
and neither can be read back from a stripped copy. Under the same key the earlier mark can be rebuilt
exactly — payload read from the clip, pattern from the key — wherever the clip is still in its original
geometry, and subtracted, leaving one payload: the new one.
"""

from __future__ import annotations

import os

import cv2
import numpy as np

from provenance.watermark.embed import Embedder
from provenance.watermark.extract import extract
from provenance.watermark.pattern import WatermarkKey

IN_PLACE_SCALE_TOLERANCE = 1e-3  # the mark can only be rebuilt where the clip is neither rescaled ...
IN_PLACE_SHIFT_TOLERANCE_PX = 0.5  # ... nor shifted
FIND_MAX_FRAMES = 96  # a clip that carries our mark in place is decisive long before this


class ExistingMark:
    """Our mark as found on a clip; `remove_*` take it out of that clip's frames."""

    def __init__(self, embedder: Embedder) -> None:
        self._embedder = embedder

    @classmethod
    def find(cls, clip: str | os.PathLike, key: WatermarkKey, strength: float = 1.0) -> ExistingMark | None:
        """The mark `clip` carries under `key`, if its payload reads and it is in place; else None.

        `strength` is the one it was embedded with (the stamper's own, when it stamped the clip).
        """
        detection = extract(clip, key, max_frames=FIND_MAX_FRAMES)
        scale_x, scale_y, shift_x, shift_y, flipped = detection.alignment
        in_place = (
            not flipped
            and abs(scale_x - 1) < IN_PLACE_SCALE_TOLERANCE and abs(scale_y - 1) < IN_PLACE_SCALE_TOLERANCE
            and abs(shift_x) < IN_PLACE_SHIFT_TOLERANCE_PX and abs(shift_y) < IN_PLACE_SHIFT_TOLERANCE_PX
        )
        if not (detection.detected and detection.payload is not None and in_place):
            return None
        return cls(Embedder(key, detection.payload, strength))

    def remove_luma(self, y: np.ndarray, index: int = 0) -> np.ndarray:
        """A luma plane (H, W) uint8 without the mark."""
        return cv2.subtract(y, self._embedder.delta(y), dtype=cv2.CV_8U)

    def remove_yuv420p(self, frame: np.ndarray, index: int = 0) -> np.ndarray:
        """A planar yuv420p frame without the mark (only luma changes)."""
        height = frame.shape[0] * 2 // 3
        out = frame.copy()
        out[:height] = cv2.subtract(frame[:height], self._embedder.yuv420p_delta(frame), dtype=cv2.CV_8U)
        return out

    def remove_rgb(self, frame: np.ndarray, index: int = 0) -> np.ndarray:
        """An RGB frame without the mark."""
        delta = self._embedder.rgb_delta(frame)
        return cv2.subtract(frame, cv2.merge([delta, delta, delta]), dtype=cv2.CV_8U)
