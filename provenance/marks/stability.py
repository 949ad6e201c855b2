"""Stability AI's public mark: 48 fixed bits per frame by invisible-watermark's dwtDct (SDXL, SVD outputs).

dwtDct, as the released package (0.2.0) embeds it: the frame's U channel (OpenCV's BGR->YUV on float pixels,
U = 0.492 (B - Y) + 0.5) is cropped to a multiple of 4 and split by a one-level Haar DWT; the LL band is cut
into 4x4 blocks in row-major order, block n carrying message bit n mod 48 (the message's most significant bit
first). In each block, the coefficient of largest magnitude other than the block's first is quantised with a
step of 36 to a quarter step (bit 0) or three quarters (bit 1) past a multiple. (Despite the name, no DCT is
applied in the released code.) A frame's bit is the mean vote of its blocks; Stability's detection script
grades a frame by how many of the 48 bits match.
"""

from __future__ import annotations

import bisect

import numpy as np

MESSAGE = 0xB3EC907BB19E
MESSAGE_BITS = 48
STEP = 36.0  # quantisation step of the U channel's LL coefficients
BLOCK_PX = 4  # side of an LL block
MIN_FRAME_PIXELS = 256 * 256  # the package refuses smaller images, so none carry the mark
LEVEL_MATCHING_BITS = (28, 34, 36)  # least matching bits for partial, likely (0.02% false positives), very likely
U_FROM_RGB = np.array([-0.299, -0.587, 1 - 0.114], dtype=np.float32) * 0.492  # U - 0.5 = 0.492 (B - Y)
U_OFFSET = 0.5  # OpenCV's chroma offset for float pixels


def message_bits() -> np.ndarray:
    """The 48 message bits, most significant first."""
    return np.array([(MESSAGE >> (MESSAGE_BITS - 1 - i)) & 1 for i in range(MESSAGE_BITS)], dtype=bool)


def u_blocks(frame: np.ndarray) -> np.ndarray:
    """The U channel's Haar LL band of an RGB frame, as (blocks, 16) in block order."""
    rows, cols = frame.shape[0] // BLOCK_PX * BLOCK_PX, frame.shape[1] // BLOCK_PX * BLOCK_PX
    u = frame[:rows, :cols].astype(np.float32) @ U_FROM_RGB + U_OFFSET
    low = (u[0::2, 0::2] + u[0::2, 1::2] + u[1::2, 0::2] + u[1::2, 1::2]) / 2  # Haar LL: scaled 2x2 sums
    by, bx = low.shape[0] // BLOCK_PX, low.shape[1] // BLOCK_PX
    low = low[: by * BLOCK_PX, : bx * BLOCK_PX]
    return low.reshape(by, BLOCK_PX, bx, BLOCK_PX).transpose(0, 2, 1, 3).reshape(by * bx, BLOCK_PX * BLOCK_PX)


def read_bits(frame: np.ndarray) -> np.ndarray:
    """The 48 bits one RGB frame carries: each the mean vote of its blocks."""
    peaks = np.abs(u_blocks(frame)[:, 1:]).max(axis=1)
    votes = (peaks % STEP) > STEP / 2
    bit_index = np.arange(len(votes)) % MESSAGE_BITS
    ones = np.bincount(bit_index, weights=votes, minlength=MESSAGE_BITS)
    return ones / np.bincount(bit_index, minlength=MESSAGE_BITS) * 255 > 127  # the package's own rounding


def matching_bits(frame: np.ndarray) -> int:
    """How many of the message's 48 bits one RGB frame carries."""
    return int((read_bits(frame) == message_bits()).sum())


class StabilityReader:
    """Stability AI's SDXL/SVD mark, graded per frame with their detection script's thresholds."""

    issuer = "Stability AI"
    algorithm = "invisible-watermark.dwtDct"

    def frame_level(self, frame: np.ndarray) -> int | None:
        if frame.shape[0] * frame.shape[1] < MIN_FRAME_PIXELS:
            return None
        return bisect.bisect_right(LEVEL_MATCHING_BITS, matching_bits(frame))
