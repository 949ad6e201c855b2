"""Stability AI's public mark: 48 fixed bits per frame by invisible-watermark's dwtDct (SDXL, SVD outputs).

dwtDct, as the released package (0.2.0) embeds it: the frame's U channel (OpenCV's BGR->YUV on float pixels,
U = 0.492 (B - Y) + 0.5) is cropped to a multiple of 4 and split by a one-level Haar DWT; the LL band is cut
into 4x4 blocks in row-major order, block n carrying message bit n mod 48 (the message's most significant bit
first). In each block, the coefficient of largest magnitude other than the block's first is quantised with a
step of 36 to a quarter step (bit 0) or three quarters (bit 1) past a multiple. (Despite the name, no DCT is
applied in the released code.) Stability's detection script grades a frame by how many of the 48 bits match.

The reader takes the LL band from RGB pixels as the package does, or straight from a decoded frame's chroma
planes (a 4:2:0 chroma sample is the mean of its 2x2 pixels, so LL = 2 U there), which skips the chroma
upsampling and rounding of a conversion to RGB. A frame's bit is 1 when its blocks' peaks sit, on average,
further past a multiple of the step than the average over all 48 bits (see `read_bits`).
"""

from __future__ import annotations

import bisect
import functools

import av
import numpy as np

from provenance import media

MESSAGE = 0xB3EC907BB19E
MESSAGE_BITS = 48
STEP = 36.0  # quantisation step of the U channel's LL coefficients
BLOCK_PX = 4  # side of an LL block
MIN_FRAME_PIXELS = 256 * 256  # the package refuses smaller images, so none carry the mark
LEVEL_MATCHING_BITS = (28, 34, 36)  # least matching bits for partial, likely (0.02% false positives), very likely
U_SCALE = 0.492  # OpenCV's U - 0.5 = 0.492 (B - Y), Y = 0.299 R + 0.587 G + 0.114 B
U_FROM_RGB = np.array([-0.299, -0.587, 1 - 0.114], dtype=np.float32) * U_SCALE
U_OFFSET = 0.5  # OpenCV's chroma offset for float pixels
PLANAR_420 = {"yuv420p": False, "yuvj420p": True}  # 8-bit 4:2:0 formats read from their planes: full range?
LUMA_WEIGHTS = {1: (0.2126, 0.0722), 9: (0.2627, 0.0593), 10: (0.2627, 0.0593)}  # (Kr, Kb): BT.709, BT.2020
BT601 = (0.299, 0.114)  # every other tag, and untagged frames, as FFmpeg converts them
FULL_RANGE = 2  # AVCOL_RANGE_JPEG


@functools.cache
def message_bits() -> np.ndarray:
    """The 48 message bits, most significant first (built once; read-only)."""
    bits = np.array([(MESSAGE >> (MESSAGE_BITS - 1 - i)) & 1 for i in range(MESSAGE_BITS)], dtype=bool)
    bits.flags.writeable = False
    return bits


def to_blocks(low: np.ndarray) -> np.ndarray:
    """An LL band as (blocks, 16) in block order (row-major 4x4 blocks, the ragged edge dropped)."""
    by, bx = low.shape[0] // BLOCK_PX, low.shape[1] // BLOCK_PX
    low = low[: by * BLOCK_PX, : bx * BLOCK_PX]
    return low.reshape(by, BLOCK_PX, bx, BLOCK_PX).transpose(0, 2, 1, 3).reshape(by * bx, BLOCK_PX * BLOCK_PX)


def rgb_low(frame: np.ndarray) -> np.ndarray:
    """The U channel's Haar LL band of an RGB frame, as the package computes it."""
    rows, cols = frame.shape[0] // BLOCK_PX * BLOCK_PX, frame.shape[1] // BLOCK_PX * BLOCK_PX
    u = frame[:rows, :cols].astype(np.float32) @ U_FROM_RGB + U_OFFSET
    return (u[0::2, 0::2] + u[0::2, 1::2] + u[1::2, 0::2] + u[1::2, 1::2]) / 2  # Haar LL: scaled 2x2 sums


def chroma_to_u(kr: float, kb: float, full_range: bool) -> tuple[float, float]:
    """Weights of (Cb - 128, Cr - 128) in OpenCV's U - 0.5 for a frame coded with luma weights Kr, Kb.

    Y cancels out of B - Y whatever the matrix, so U depends on the chroma samples alone."""
    kg = 1 - kr - kb
    cb = (1 - BT601[1]) * 2 * (1 - kb) + (1 - BT601[0] - BT601[1]) * 2 * kb * (1 - kb) / kg
    cr = -BT601[0] * 2 * (1 - kr) + (1 - BT601[0] - BT601[1]) * 2 * kr * (1 - kr) / kg
    scale = U_SCALE * 255 / (255 if full_range else 224)
    return cb * scale, cr * scale


def planes_low(frame: av.VideoFrame) -> np.ndarray:
    """The U channel's Haar LL band of a decoded 4:2:0 frame, from its chroma planes."""
    rows, cols = frame.height // BLOCK_PX * BLOCK_PX // 2, frame.width // BLOCK_PX * BLOCK_PX // 2
    full_range = PLANAR_420[frame.format.name] or frame.color_range == FULL_RANGE
    to_cb, to_cr = chroma_to_u(*LUMA_WEIGHTS.get(frame.colorspace, BT601), full_range)
    cb, cr = (media.plane_array(frame, index)[:rows, :cols].astype(np.float32) - 128 for index in (1, 2))
    return 2 * (to_cb * cb + to_cr * cr + U_OFFSET)


def frame_low(frame: np.ndarray | av.VideoFrame) -> np.ndarray:
    """The U channel's Haar LL band of an RGB frame or a decoded frame (from its planes when 8-bit 4:2:0)."""
    if isinstance(frame, np.ndarray):
        return rgb_low(frame)
    if frame.format.name in PLANAR_420:
        return planes_low(frame)
    return rgb_low(frame.to_ndarray(format="rgb24"))


def read_bits(frame: np.ndarray | av.VideoFrame) -> np.ndarray:
    """The 48 bits one frame carries.

    Each block's peak sits a quarter (0) or three quarters (1) step past a multiple when stamped. A codec pulls
    the peak toward its neighbours, shrinking that offset, and the content biases every offset alike (low
    chroma sits under half a step), so a bit is 1 when its blocks' mean offset exceeds the mean over all
    48 bits rather than half a step. On a frame as stamped this gives the package's own bits."""
    offsets = np.abs(to_blocks(frame_low(frame))[:, 1:]).max(axis=1) % STEP
    bit_index = np.arange(len(offsets)) % MESSAGE_BITS
    means = np.bincount(bit_index, offsets, MESSAGE_BITS) / np.bincount(bit_index, minlength=MESSAGE_BITS)
    return means > means.mean()


def matching_bits(frame: np.ndarray | av.VideoFrame) -> int:
    """How many of the message's 48 bits one frame carries."""
    return int((read_bits(frame) == message_bits()).sum())


def frame_pixels(frame: np.ndarray | av.VideoFrame) -> int:
    """Pixels of an RGB or decoded frame."""
    return frame.shape[0] * frame.shape[1] if isinstance(frame, np.ndarray) else frame.width * frame.height


class StabilityReader:
    """Stability AI's SDXL/SVD mark, graded per frame with their detection script's thresholds."""

    issuer = "Stability AI"
    algorithm = "invisible-watermark.dwtDct"

    def frame_level(self, frame: np.ndarray | av.VideoFrame) -> int | None:
        if frame_pixels(frame) < MIN_FRAME_PIXELS:
            return None
        return bisect.bisect_right(LEVEL_MATCHING_BITS, matching_bits(frame))
