"""The matched form: every clip, whatever its label, goes through the same window, rate, size, palette and codec.

Most generated sample clips were published as GIFs (256 colours, ~8 fps, ~2 s) and most camera clips as
MP4s; putting both classes through identical steps removes format as a cue.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from detector.distortions import Frames, reencode
from provenance import media
from provenance.errors import BadInput

WINDOW_SECONDS = 2.0
TARGET_FPS = 8.0
FRAME_SIDE_PX = 128  # shrinking first averages away the dither a GIF encoder left, before our own palette
PALETTE_COLOURS = 256
NORMALISED_CRF = 23
NORMALISATION_VERSION = "window2s-8fps-128px-octree256-h264crf23"
CHROMA_FROM_RGB = ((-0.169, -0.331, 0.5), (0.5, -0.419, -0.081))  # Cb, Cr rows (ITU-R BT.601)


@dataclass(frozen=True)
class Window:
    """Frames resampled to a fixed rate, with their presentation times in the source clip."""

    times_s: np.ndarray
    frames: Frames
    source_side_px: int | None = None  # the source frames' short side, when known

    @property
    def detail_levels(self) -> float:
        """How much fine detail the frames hold: the median over frames of the grey residual's RMS (each pixel
        minus its 3x3 local mean, in 8-bit levels)."""
        grey = self.frames.astype(np.float32).mean(axis=-1)
        residual_rms = [float(np.sqrt(np.mean((g - cv2.blur(g, (3, 3))) ** 2))) for g in grey]
        return float(np.median(residual_rms))

    @property
    def colour_levels(self) -> float:
        """How much colour the frames hold: the median over frames of the standard deviation of Cb and Cr
        (averaged, in 8-bit levels); 0 for a greyscale picture."""
        chroma = self.frames.astype(np.float32) @ np.asarray(CHROMA_FROM_RGB, dtype=np.float32).T
        return float(np.median(chroma.std(axis=(1, 2)).mean(axis=1)))


def read_window(path: str | os.PathLike, start_s: float = 0.0) -> Window:
    """Decode `WINDOW_SECONDS` from `start_s`, resampled to `TARGET_FPS` by nearest earlier frame."""
    targets = start_s + np.arange(round(WINDOW_SECONDS * TARGET_FPS)) / TARGET_FPS
    picked_times: list[float] = []
    picked: list = []
    previous: tuple[float, object] | None = None
    first_time: float | None = None
    index = 0
    for time_s, frame in media.iter_timed_video_frames(path):
        first_time = time_s if first_time is None else first_time
        relative = time_s - first_time
        while index < len(targets) and relative > targets[index] + 1e-6 and previous is not None:
            picked_times.append(previous[0])
            picked.append(previous[1])
            index += 1
        if index >= len(targets):
            break
        previous = (relative, frame)
    if previous is not None and index < len(targets) and (not picked_times or picked_times[-1] != previous[0]):
        picked_times.append(previous[0])
        picked.append(previous[1])
    if not picked:
        raise BadInput(f"{path}: contains no decodable video frames")
    arrays = {id(f): media.frame_to_array(f, "rgb24") for f in picked}  # repeated frames are converted once
    frames = np.stack([arrays[id(f)] for f in picked])
    return Window(np.asarray(picked_times, dtype=np.float64), frames, min(frames.shape[1:3]))


def fit_square(frames: Frames, side_px: int = FRAME_SIDE_PX) -> Frames:
    """Resize so the short side is `side_px`, then cut the centre square."""
    height, width = frames.shape[1:3]
    scale = side_px / min(height, width)
    new_w, new_h = max(side_px, round(width * scale)), max(side_px, round(height * scale))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    top, left = (new_h - side_px) // 2, (new_w - side_px) // 2
    return np.stack(
        [cv2.resize(f, (new_w, new_h), interpolation=interpolation)[top : top + side_px, left : left + side_px]
         for f in frames]
    )


def quantise_palette(frames: Frames, colours: int = PALETTE_COLOURS) -> Frames:
    """Reduce every frame to an adaptive palette with dithering, as a GIF encoder does."""
    method, dither = Image.Quantize.FASTOCTREE, Image.Dither.FLOYDSTEINBERG
    return np.stack([np.asarray(Image.fromarray(f).quantize(colours, method=method, dither=dither).convert("RGB"))
                     for f in frames])


def normalise(
    path: str | os.PathLike, distortion: Callable[[Frames, float], Frames] | None = None
) -> Window:
    """Read a clip's window, optionally distort it (at source size), and bring it to the matched form."""
    window = read_window(path)
    frames = window.frames
    if distortion is not None:
        frames = distortion(frames, TARGET_FPS)
    frames = reencode(quantise_palette(fit_square(frames)), TARGET_FPS, "h264", NORMALISED_CRF)
    return Window(window.times_s[: len(frames)], frames, window.source_side_px)
