"""Embedding: the keyed mark, stretched to the frame and shaped by a texture mask, added to luma."""

from __future__ import annotations

import os
from collections.abc import Callable

import cv2
import numpy as np

from provenance import media
from provenance.errors import BadInput
from provenance.files import atomic_output
from provenance.watermark.pattern import WatermarkKey
from provenance.watermark.payload import Payload, encode_payload

MARK_RMS_LEVELS = 1.55  # RMS luma change at strength 1.0 before the texture mask, in 8-bit code values
MASK_SCALE_PX = 4  # the texture mask is measured at 1/4 of the frame's size
MASK_WINDOW_PX = 5  # local contrast window, at mask scale
MASK_FLOOR_LEVELS = 12.0  # contrast below this counts as flat (8-bit levels)
MASK_MIN, MASK_MAX = 0.8, 2.2  # limits of the mask's gain around its RMS of 1 (codecs erase a fainter mark)


def texture_mask(luma: np.ndarray) -> np.ndarray:
    """Per-pixel gain (RMS about 1): stronger in textured areas, weaker in flat ones where noise shows."""
    height, width = luma.shape
    small = cv2.resize(
        luma, (max(1, width // MASK_SCALE_PX), max(1, height // MASK_SCALE_PX)), interpolation=cv2.INTER_AREA
    ).astype(np.float32)
    window = (MASK_WINDOW_PX, MASK_WINDOW_PX)
    mean = cv2.blur(small, window)
    contrast = np.sqrt(np.maximum(cv2.blur(small * small, window) - mean * mean, 0.0)) + MASK_FLOOR_LEVELS
    gain = contrast / float(np.sqrt(np.mean(contrast * contrast)))
    gain = np.clip(gain, MASK_MIN, MASK_MAX)
    gain /= float(np.sqrt(np.mean(gain * gain)))
    return cv2.resize(gain, (width, height), interpolation=cv2.INTER_LINEAR)


class Embedder:
    """Adds one payload's mark, under one key, to frames of any size; the mark is the same in every frame."""

    def __init__(self, key: WatermarkKey, payload: Payload, strength: float = 1.0) -> None:
        if not 0.0 < strength <= 10.0:
            raise BadInput(f"watermark strength must be in (0, 10], got {strength}")
        self.key = key
        self.payload = payload
        self.strength = strength
        self._grid = key.mark(encode_payload(payload, key.check_mask))
        self._stretched: dict[tuple[int, int], np.ndarray] = {}

    def _mark_for(self, height: int, width: int) -> np.ndarray:
        size = (height, width)
        if size not in self._stretched:
            if height < 16 or width < 16:
                raise BadInput(f"frame {width}x{height} is too small to watermark")
            stretched = cv2.resize(self._grid, (width, height), interpolation=cv2.INTER_LINEAR)
            # Interpolation smooths the grid more the larger the frame; rescaling keeps the RMS the same at any size.
            level = MARK_RMS_LEVELS * self.strength / max(float(np.sqrt(np.mean(stretched**2))), 1e-12)
            self._stretched = {size: stretched * np.float32(level)}
        return self._stretched[size]

    def delta(self, luma: np.ndarray) -> np.ndarray:
        """The luma change (float32, code values) this embedder adds to a frame with this luma."""
        return cv2.multiply(self._mark_for(*luma.shape), texture_mask(luma))

    def embed_luma(self, y: np.ndarray, index: int = 0) -> np.ndarray:
        """Watermark one luma plane (H, W) uint8. The mark does not vary with the frame number `index`."""
        _check_frame(y, 2)
        return _add_clipped(y, self.delta(y))

    def embed_yuv420p(self, frame: np.ndarray, index: int = 0) -> np.ndarray:
        """Watermark a planar yuv420p frame (H*3//2, W) uint8; only the luma plane changes."""
        _check_frame(frame, 2)
        height = frame.shape[0] * 2 // 3
        out = frame.copy()
        out[:height] = self.embed_luma(frame[:height], index)
        return out

    def rgb_delta(self, frame: np.ndarray) -> np.ndarray:
        """The change (float32, code values) this embedder adds to each channel of an RGB frame."""
        return self.delta(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY))

    def embed_rgb(self, frame: np.ndarray, index: int = 0) -> np.ndarray:
        """Watermark an RGB frame (H, W, 3) uint8 by shifting all three channels equally (a luma change)."""
        _check_frame(frame, 3)
        delta = self.rgb_delta(frame)
        return _add_clipped(frame, cv2.merge([delta, delta, delta]))


def _check_frame(frame: np.ndarray, ndim: int) -> None:
    if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8 or frame.ndim != ndim:
        shape = getattr(frame, "shape", None)
        raise BadInput(f"expected a uint8 array with {ndim} dimensions, got {type(frame).__name__} {shape}")
    if ndim == 3 and frame.shape[2] != 3:
        raise BadInput(f"expected 3 colour channels, got {frame.shape[2]}")


def _add_clipped(frame: np.ndarray, delta: np.ndarray) -> np.ndarray:
    """frame + delta, rounded and saturated to uint8 (OpenCV: one pass, several times faster than numpy)."""
    return cv2.add(frame, delta, dtype=cv2.CV_8U)


def watermark_clip(
    src: str | os.PathLike,
    dst: str | os.PathLike,
    key: WatermarkKey,
    payload: Payload,
    strength: float = 1.0,
    codec: str = "h264",
    crf: int = 18,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Decode `src`, watermark every frame's luma, encode to `dst` (audio copied); returns frames written."""
    embedder = Embedder(key, payload, strength)
    with atomic_output(dst, protect=(src,)) as tmp:
        return media.transcode(
            src, tmp, frame_fn=embedder.embed_yuv420p, pix_fmt="yuv420p", codec=codec, crf=crf, progress=progress
        )
