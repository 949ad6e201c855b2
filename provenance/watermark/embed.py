"""Embedding: the keyed mark, stretched to the frame, shaped by a texture mask, capped by an SSIM guard,
added to luma."""

from __future__ import annotations

import os
from collections.abc import Callable

import cv2
import numpy as np
from scipy.special import ndtr

from provenance import media
from provenance.errors import BadInput
from provenance.files import atomic_output
from provenance.watermark.pattern import GRID_CELLS, WatermarkKey
from provenance.watermark.payload import Payload, encode_payload

MARK_RMS_LEVELS = 1.55  # RMS luma change at strength 1.0 before the texture mask, in 8-bit display levels
REDUCTION = 4  # the texture mask and the SSIM guard look at the frame at 1/4 of its size
MARK_MIN_PX_PER_CELL = 2.0  # large frames get their masked mark at half size, if that keeps this many px per cell
SSIM_BLOCK_PX = 2  # the guard's blocks at that size: 8 px at full size, near SSIM's 7-px windows
MASK_WINDOW_PX = 5  # local contrast window, at mask scale
MASK_FLOOR_LEVELS = 12.0  # contrast below this counts as flat (8-bit levels)
MASK_MIN, MASK_MAX = 0.8, 2.2  # limits of the mask's gain around its RMS of 1 (codecs erase a fainter mark)
SSIM_TARGET = 0.992  # at strength 1.0, a frame's mark is scaled down until its predicted SSIM is at least this
SSIM_C1, SSIM_C2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2  # SSIM's stabilising constants for 8-bit values
SSIM_SEARCH_STEPS = 2  # refinements of the guard's scale (the loss is within 0.5% of the target after 2)
ROUNDING_VARIANCE = 1.0 / 12.0  # of rounding a change to whole code values
CLIP_REACH_DEVIATIONS = 4.0  # blocks further than this from black and white never clip the mark
VIDEO_RANGE_LUMA = 219.0 / 255.0  # a display-level change is this many code values of video-range luma
VIDEO_BLACK = 16.0  # video-range luma code of black
# BT.601 video-range YUV to RGB, for the guard's view of a yuv420p frame: rows R, G, B; columns Y, U, V, 1.
YUV_TO_RGB = np.array(
    [[1.164, 0.0, 1.596, -222.9], [1.164, -0.392, -0.813, 135.6], [1.164, 2.017, 0.0, -276.8]], dtype=np.float32
)


def texture_gain(luma_small: np.ndarray, video_range: bool = False) -> np.ndarray:
    """The mark's gain (RMS about 1) from the luma at 1/4 size: higher in texture, lower in flat and dark areas.

    Near black, SSIM's luminance term makes a change of a level or two cost as much as a strong one
    elsewhere (and black clips half of the mark away), so the gain there falls with that cost, as
    sqrt((2 m^2 + C1) / (2 m^2 + C1 + C2)) at display level m: 0.32 at black, 0.88 at 10, 0.97 at 20.
    `video_range`: the luma is coded 16-235 (as in yuv420p video) rather than 0-255.
    """
    small = luma_small.astype(np.float32)
    window = (MASK_WINDOW_PX, MASK_WINDOW_PX)
    mean = cv2.blur(small, window)
    contrast = np.sqrt(np.maximum(cv2.blur(small * small, window) - mean * mean, 0.0)) + MASK_FLOOR_LEVELS
    gain = contrast / float(np.sqrt(np.mean(contrast * contrast)))
    gain = np.clip(gain, MASK_MIN, MASK_MAX)
    level = np.maximum(mean - VIDEO_BLACK, 0.0) / VIDEO_RANGE_LUMA if video_range else mean
    gain *= np.sqrt((2 * level * level + SSIM_C1) / (2 * level * level + SSIM_C1 + SSIM_C2))
    return np.minimum(gain / float(np.sqrt(np.mean(gain * gain))), MASK_MAX)  # no hot spots beside black areas


def _resized(image: np.ndarray, size: tuple[int, int], interpolation: int = cv2.INTER_LINEAR) -> np.ndarray:
    return cv2.resize(image, size, interpolation=interpolation)


def _reduced_size(height: int, width: int) -> tuple[int, int]:
    return max(1, width // REDUCTION), max(1, height // REDUCTION)


def _reduced(image: np.ndarray) -> np.ndarray:
    """An image at 1/4 size (area average, same type), halved twice: OpenCV's area average is about 10 times
    faster by exact halves than in one step by 4 (the rounding in between moves a value by a level at most)."""
    height, width = image.shape[:2]
    half = _resized(image, (max(1, width // 2), max(1, height // 2)), cv2.INTER_AREA)
    return _resized(half, _reduced_size(height, width), cv2.INTER_AREA)


def _mark_size(height: int, width: int) -> tuple[int, int]:
    """(width, height) at which the mark is masked: half the frame's when that still resolves the grid finely
    (half the memory traffic at 1080p and above), else the frame's own."""
    if min(height, width) / 2 >= MARK_MIN_PX_PER_CELL * GRID_CELLS:
        return width // 2, height // 2
    return width, height


def _block_moments(image: np.ndarray, blocks: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance of each of `blocks` (columns, rows) equal blocks of an image (per channel)."""
    mean = cv2.resize(image, blocks, interpolation=cv2.INTER_AREA)
    variance = np.maximum(cv2.resize(image * image, blocks, interpolation=cv2.INTER_AREA) - mean * mean, 0.0)
    return mean, variance


def _fine_variance(image: np.ndarray, small: np.ndarray) -> np.ndarray:
    """An image's variance inside each cell of its reduced copy `small` (per channel), from two pixels per cell.

    Reducing averages fine texture (grain, noise) away, but SSIM sees it and it hides the mark; two
    samples per cell are enough once the guard averages them over its blocks and the whole frame.
    """
    rows, cols = small.shape[:2]
    cell = image.shape[0] // rows
    mean = small.astype(np.float32)
    total = np.zeros_like(mean)
    for offset in (cell // 4, 3 * cell // 4):  # two pixels on the cell's diagonal
        total += (image[offset::cell, offset::cell][:rows, :cols].astype(np.float32) - mean) ** 2
    return total / 2


def _guard_blocks(height: int, width: int) -> tuple[int, int]:
    small_width, small_height = _reduced_size(height, width)
    return max(1, small_width // SSIM_BLOCK_PX), max(1, small_height // SSIM_BLOCK_PX)


def _clipped_mean_shift(level: np.ndarray, mean: np.ndarray, deviation: np.ndarray) -> np.ndarray:
    """Mean change of a block at `level` after adding Gaussian noise (`mean`, `deviation`) and clipping to 0-255.

    Near black or white, saturation cuts one side of the mark off, so the block's mean moves by a fraction
    of the mark's deviation even where the mark's own mean is zero.
    """
    deviation = np.maximum(deviation, 1e-6)
    below = (level + mean) / deviation  # distance to black, in deviations
    above = (255.0 - level - mean) / deviation  # distance to white
    return mean + deviation * (_normal_shortfall(below) - _normal_shortfall(above))


def _normal_shortfall(distance: np.ndarray) -> np.ndarray:
    """E[max(-distance - Z, 0)] for a standard normal Z: how much of it lies beyond -distance, on average."""
    return np.exp(-0.5 * distance * distance) / np.sqrt(2 * np.pi) - distance * ndtr(-distance)


class SsimGuard:
    """SSIM's own formula applied to local statistics of the frame and of its mark, at any mark scale.

    Measured on 8-px blocks (2-px blocks of the frame at 1/4 size), per colour channel when the colours are
    known. Dark areas matter most: the luminance term punishes a mean shift of a level or two where the
    mean itself is near black.
    """

    def __init__(
        self, host_small: np.ndarray, fine_variance: np.ndarray, mark_mean: np.ndarray, mark_variance: np.ndarray
    ) -> None:
        """`host_small`: the frame at 1/4 size; `fine_variance`: the variance its cells average away (same
        layout); `mark_*`: the mark's mean and variance in each block."""
        blocks = mark_mean.shape[::-1]
        host_mean, host_variance = _block_moments(host_small, blocks)
        host_variance += cv2.resize(fine_variance, blocks, interpolation=cv2.INTER_AREA)
        if host_small.ndim == 3:
            mark_mean, mark_variance = mark_mean[..., None], mark_variance[..., None]
        mark_mean = np.broadcast_to(mark_mean, host_mean.shape)
        # SSIM's terms split into parts that do not depend on the scale a, computed once: with s = h + a m, the
        # luminance term (2 h s + C1) / (h^2 + C1 + s^2) is n / (n + a^2 m^2) where n = 2 h^2 + C1 + a (2 h m).
        self.luminance_base = 2 * host_mean * host_mean + SSIM_C1
        self.luminance_cross = 2 * host_mean * mark_mean
        self.mark_mean_power = mark_mean * mark_mean
        self.mark_variance = mark_variance
        self.structure_base = 2 * host_variance + SSIM_C2
        # Only blocks within reach of black or white can clip (4 deviations of the full-strength mark).
        reach = np.abs(mark_mean) + CLIP_REACH_DEVIATIONS * np.sqrt(mark_variance)
        self.near_extreme = np.nonzero((host_mean < reach) | (host_mean > 255.0 - reach))
        self.near_host_mean = host_mean[self.near_extreme]
        self.near_mark_mean = mark_mean[self.near_extreme]
        self.near_mark_deviation = np.sqrt(np.broadcast_to(mark_variance, host_mean.shape)[self.near_extreme])

    def ssim(self, scale: float) -> float:
        """The predicted mean SSIM of the frame with the mark multiplied by `scale`."""
        power = scale * scale
        numerator = self.luminance_base + scale * self.luminance_cross
        luminance = numerator / (numerator + power * self.mark_mean_power)
        near = self.near_extreme
        if near[0].size:  # there the mean moves by what clipping leaves of the mark
            level = self.near_host_mean
            shifted = level + _clipped_mean_shift(level, scale * self.near_mark_mean, scale * self.near_mark_deviation)
            luminance[near] = (2 * level * shifted + SSIM_C1) / (level * level + SSIM_C1 + shifted * shifted)
        structure = self.structure_base / (self.structure_base + power * self.mark_variance)
        return float(np.mean(luminance * structure))

    def largest_scale(self, target: float) -> float:
        """The largest scale in [0, 1] whose predicted SSIM is about `target`.

        The SSIM loss grows almost in proportion to the mark's power (scale squared) and a little slower,
        so power × allowed / loss, repeated, closes in on the answer from above in a few steps.
        """
        allowed, loss = 1.0 - target, 1.0 - self.ssim(1.0)
        power = 1.0
        for _ in range(SSIM_SEARCH_STEPS):
            if loss <= allowed:
                break
            power *= allowed / loss
            loss = 1.0 - self.ssim(float(np.sqrt(power)))
        return float(np.sqrt(power))


class Embedder:
    """Adds one payload's mark, under one key, to frames of any size; the mark is the same in every frame."""

    def __init__(self, key: WatermarkKey, payload: Payload, strength: float = 1.0) -> None:
        if not 0.0 < strength <= 10.0:
            raise BadInput(f"watermark strength must be in (0, 10], got {strength}")
        self.key = key
        self.payload = payload
        self.strength = strength
        self._grid = key.mark(encode_payload(payload, key.check_mask))
        self._stretched: dict[tuple[int, int], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def _mark_for(self, height: int, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The mark stretched to the size at which it is masked, with its mean and variance in each SSIM guard
        block of the full-size frame (cached).

        The block statistics come from the mark as it reaches the full-size frame, whose finest detail a
        reduced copy would lose.
        """
        size = (height, width)
        if size not in self._stretched:
            if height < 16 or width < 16:
                raise BadInput(f"frame {width}x{height} is too small to watermark")
            stretched = cv2.resize(self._grid, _mark_size(height, width), interpolation=cv2.INTER_LINEAR)
            full = _resized(stretched, (width, height))
            # Interpolation smooths the grid more the larger the frame; rescaling keeps the RMS the same at any size.
            factor = np.float32(MARK_RMS_LEVELS * self.strength / max(float(np.sqrt(np.mean(full**2))), 1e-12))
            moments = _block_moments(full * factor, _guard_blocks(height, width))
            self._stretched = {size: (stretched * factor, *moments)}
        return self._stretched[size]

    def _delta(
        self, luma: np.ndarray, luma_small: np.ndarray, host: tuple[np.ndarray, np.ndarray], video_range: bool,
        unit: float,
    ) -> np.ndarray:
        """The luma change (float32, display levels × `unit`), given the frame's luma at full and 1/4 size and
        what the SSIM guard compares against: the frame at 1/4 size (RGB when the colours are known, else
        luma, in display levels) and the variance inside its cells."""
        height, width = luma.shape
        stretched, block_mean, block_variance = self._mark_for(height, width)
        gain = texture_gain(luma_small, video_range)
        block_gain = _resized(gain, block_mean.shape[::-1])  # the gain is smooth: constant over a block
        rounding = ROUNDING_VARIANCE / unit**2  # the output's rounding to whole code values, in display levels
        mark_variance = block_gain * block_gain * block_variance + np.float32(rounding)
        guard = SsimGuard(*host, block_gain * block_mean, mark_variance)
        scale = guard.largest_scale(1.0 - (1.0 - SSIM_TARGET) * self.strength**2)
        masked = cv2.multiply(stretched, _resized(gain, stretched.shape[::-1]), scale=scale * unit)
        return masked if masked.shape == luma.shape else _resized(masked, (width, height))

    def delta(self, luma: np.ndarray) -> np.ndarray:
        """The change (float32, display levels) this embedder adds to a luma plane (H, W) uint8."""
        luma_small = _reduced(luma)
        return self._delta(luma, luma_small, (luma_small.astype(np.float32), _fine_variance(luma, luma_small)),
                           False, 1.0)

    def embed_luma(self, y: np.ndarray, index: int = 0) -> np.ndarray:
        """Watermark one luma plane (H, W) uint8. The mark does not vary with the frame number `index`."""
        _check_frame(y, 2)
        return _add_clipped(y, self.delta(y))

    def yuv420p_delta(self, frame: np.ndarray) -> np.ndarray:
        """The change (float32, video-range code values) this embedder adds to a planar yuv420p frame's luma.

        It is the change `rgb_delta` makes to every RGB channel, so both paths show the same mark.
        """
        height, width = frame.shape[0] * 2 // 3, frame.shape[1]
        luma = frame[:height]
        chroma = frame[height:].reshape(2, height // 2, width // 2)
        luma_small = _reduced(luma)
        chroma_small = [_resized(plane, luma_small.shape[::-1], cv2.INTER_AREA) for plane in chroma]
        colour = cv2.transform(cv2.merge([luma_small, *chroma_small]), YUV_TO_RGB)  # uint8: saturates to 0-255
        # Fine texture per plane, carried into RGB as independent parts (squared conversion weights).
        planes = zip((luma, *chroma), (luma_small, *chroma_small), strict=True)
        fine = cv2.merge([_fine_variance(plane, small) for plane, small in planes])
        fine_rgb = cv2.transform(fine, np.square(YUV_TO_RGB[:, :3]))
        return self._delta(luma, luma_small, (colour.astype(np.float32), fine_rgb), True, VIDEO_RANGE_LUMA)

    def embed_yuv420p(self, frame: np.ndarray, index: int = 0) -> np.ndarray:
        """Watermark a planar yuv420p frame (H*3//2, W) uint8; only the luma plane changes."""
        _check_frame(frame, 2)
        height = frame.shape[0] * 2 // 3
        out = np.empty_like(frame)
        out[height:] = frame[height:]
        _add_clipped(frame[:height], self.yuv420p_delta(frame), out[:height])
        return out

    def rgb_delta(self, frame: np.ndarray) -> np.ndarray:
        """The change (float32, code values) this embedder adds to each channel of an RGB frame."""
        luma = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
        frame_small = _reduced(frame)
        host = (frame_small.astype(np.float32), _fine_variance(frame, frame_small))
        return self._delta(luma, _reduced(luma), host, False, 1.0)

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


def _add_clipped(frame: np.ndarray, delta: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """frame + delta, rounded and saturated to uint8, into `out` if given (OpenCV: one pass, several times
    faster than numpy)."""
    return cv2.add(frame, delta, dst=out, dtype=cv2.CV_8U)


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
