"""Our watermark on a source clip, taken out of its frames before a derived clip (extend, fill) is stamped.

Stamping adds the new clip's payload on top of whatever the frames carry; if they still carried the
source's payload, the two would overlap and neither could be read back from a stripped copy. Subtracting
the source's mark (re-synthesised from its payload and our key) leaves one payload: the new clip's.
"""

from __future__ import annotations

import os

import cv2
import numpy as np

from provenance.keys import read_watermark_secret
from provenance.signing import Stamper
from provenance.watermark import Embedder, WatermarkKey, extract

ALIGNED_SCALE_TOLERANCE = 1e-3  # the mark can only be re-synthesised where the clip is not rescaled ...
ALIGNED_SHIFT_TOLERANCE_PX = 0.5  # ... or shifted


class ParentMark:
    """The source clip's mark under the stamper's key, if it carries one in place; `remove` takes it out of a frame."""

    def __init__(self, stamper: Stamper, clip: str | os.PathLike) -> None:
        self._embedder: Embedder | None = None
        if not stamper.watermark:
            return
        key = WatermarkKey(read_watermark_secret(stamper.home))
        detection = extract(clip, key)
        scale_x, scale_y, shift_x, shift_y = detection.alignment[:4]
        in_place = (abs(scale_x - 1) < ALIGNED_SCALE_TOLERANCE and abs(scale_y - 1) < ALIGNED_SCALE_TOLERANCE
                    and abs(shift_x) < ALIGNED_SHIFT_TOLERANCE_PX and abs(shift_y) < ALIGNED_SHIFT_TOLERANCE_PX)
        if detection.detected and detection.payload is not None and in_place:
            self._embedder = Embedder(key, detection.payload, strength=stamper.strength)

    def remove(self, frame: np.ndarray) -> np.ndarray:
        """The RGB frame without the source's mark (unchanged when the source carries none)."""
        if self._embedder is None:
            return frame
        delta = self._embedder.delta(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY))  # the luma embed_rgb marks
        return cv2.subtract(frame, cv2.merge([delta, delta, delta]), dtype=cv2.CV_8U)
