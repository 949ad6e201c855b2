"""Named attacks on clips: what platforms and users do to video (re-encode, rescale, crop, trim, colour...).

An attack is a function `Clip -> Clip`; the factories below build them from parameters, `compose`
chains them, `ATTACKS` names a standard grid of single changes (used by the watermark's tests and benchmark,
and as training augmentations) and `COMBINED_ATTACKS` the chains platforms and users apply (a smaller
rendition, crops that are not centred, rescaling, brightening, a lower frame rate, then H.264).
Re-encoding goes through `provenance.media`, with real codecs.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from provenance import media
from provenance.errors import BadInput

LUMA_WEIGHTS_RGB = np.array([0.299, 0.587, 0.114], dtype=np.float32)


@dataclass
class Clip:
    """RGB frames (H, W, 3) uint8 and their frame rate."""

    frames: list[np.ndarray]
    fps: float

    @classmethod
    def read(cls, path: str | Path, max_frames: int | None = None) -> Clip:
        """Decode a clip's RGB frames (the first `max_frames` if given)."""
        frames = []
        for frame in media.iter_frames(path, "rgb24"):
            frames.append(frame)
            if max_frames is not None and len(frames) >= max_frames:
                break
        return cls(frames, media.probe(path).fps or 25.0)

    def write(self, path: str | Path, codec: str = "h264", crf: int = 18, preset: str = "medium") -> int:
        return media.write_video(path, self.frames, self.fps, codec=codec, crf=crf, preset=preset)


Attack = Callable[[Clip], Clip]


def _per_frame(fn: Callable[[np.ndarray], np.ndarray]) -> Attack:
    def attack(clip: Clip) -> Clip:
        return Clip([fn(frame) for frame in clip.frames], clip.fps)

    return attack


def _to_uint8(frame: np.ndarray) -> np.ndarray:
    return np.clip(frame + 0.5, 0, 255).astype(np.uint8)


def reencode(codec: str = "h264", crf: int = 23, preset: str = "veryfast") -> Attack:
    """Encode with a real codec at a quality setting and decode again."""

    def attack(clip: Clip) -> Clip:
        suffix = ".webm" if codec == "vp9" else ".mp4"
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / f"attack{suffix}"
            clip.write(path, codec=codec, crf=crf, preset=preset)
            return Clip(list(media.iter_frames(path, "rgb24")), clip.fps)

    return attack


def scale(factor: float) -> Attack:
    """Resize by a factor (area averaging when shrinking)."""
    if factor <= 0:
        raise BadInput(f"scale factor must be positive, got {factor}")

    def fn(frame: np.ndarray) -> np.ndarray:
        height, width = frame.shape[:2]
        size = (max(2, round(width * factor)), max(2, round(height * factor)))
        interpolation = cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR
        return cv2.resize(frame, size, interpolation=interpolation)

    return _per_frame(fn)


def scale_to_height(height_px: int) -> Attack:
    """Resize to a given height (e.g. 360 for "360p"), keeping the aspect ratio."""

    def fn(frame: np.ndarray) -> np.ndarray:
        height, width = frame.shape[:2]
        size = (max(2, round(width * height_px / height)), height_px)
        interpolation = cv2.INTER_AREA if height_px < height else cv2.INTER_LINEAR
        return cv2.resize(frame, size, interpolation=interpolation)

    return _per_frame(fn)


def crop(area_fraction: float, center_y: float = 0.5, center_x: float = 0.5) -> Attack:
    """Keep a window with `area_fraction` of the area and the same aspect ratio, centred where asked."""
    if not 0 < area_fraction <= 1:
        raise BadInput(f"crop area fraction must be in (0, 1], got {area_fraction}")
    side = float(np.sqrt(area_fraction))
    return crop_window(side, side, center_y, center_x)


def crop_window(keep_y: float, keep_x: float, at_y: float = 0.5, at_x: float = 0.5) -> Attack:
    """Keep `keep_y` of the height and `keep_x` of the width; the window starts `at_y` / `at_x` of the way into
    the margin on each axis (0: top / left edge, 0.5: centred, 1: bottom / right edge)."""
    for name, value in (("keep_y", keep_y), ("keep_x", keep_x)):
        if not 0 < value <= 1:
            raise BadInput(f"crop {name} must be in (0, 1], got {value}")
    for name, value in (("at_y", at_y), ("at_x", at_x)):
        if not 0 <= value <= 1:
            raise BadInput(f"crop {name} must be in [0, 1], got {value}")

    def fn(frame: np.ndarray) -> np.ndarray:
        height, width = frame.shape[:2]
        rows, cols = max(2, round(height * keep_y)), max(2, round(width * keep_x))
        top, left = round((height - rows) * at_y), round((width - cols) * at_x)
        return frame[top : top + rows, left : left + cols].copy()

    return _per_frame(fn)


def crop_resize(area_fraction: float) -> Attack:
    """Centre crop, then resize back to the original size."""
    cut = crop(area_fraction)

    def fn(frame: np.ndarray) -> np.ndarray:
        height, width = frame.shape[:2]
        return cv2.resize(cut(Clip([frame], 1.0)).frames[0], (width, height), interpolation=cv2.INTER_LINEAR)

    return _per_frame(fn)


def brightness(factor: float) -> Attack:
    """Multiply every channel by `factor` (1.3 = +30%)."""
    return _per_frame(lambda frame: _to_uint8(frame.astype(np.float32) * factor))


def contrast(factor: float) -> Attack:
    """Stretch each frame's values about its mean by `factor`."""

    def fn(frame: np.ndarray) -> np.ndarray:
        values = frame.astype(np.float32)
        mean = float(values.mean())
        return _to_uint8((values - mean) * factor + mean)

    return _per_frame(fn)


def saturation(factor: float) -> Attack:
    """Scale colourfulness about each pixel's luma (0 = greyscale)."""

    def fn(frame: np.ndarray) -> np.ndarray:
        values = frame.astype(np.float32)
        luma = (values @ LUMA_WEIGHTS_RGB)[:, :, None]
        return _to_uint8(luma + (values - luma) * factor)

    return _per_frame(fn)


def blur(sigma_px: float) -> Attack:
    """Gaussian blur with standard deviation `sigma_px` pixels."""
    return _per_frame(lambda frame: cv2.GaussianBlur(frame, (0, 0), sigma_px))


def noise(sigma_levels: float, seed: int = 0) -> Attack:
    """Add independent Gaussian noise (standard deviation in 8-bit levels) to every pixel and frame."""

    def attack(clip: Clip) -> Clip:
        rng = np.random.default_rng(seed)
        frames = [_to_uint8(f.astype(np.float32) + rng.normal(0, sigma_levels, f.shape)) for f in clip.frames]
        return Clip(frames, clip.fps)

    return attack


def change_fps(fps: float) -> Attack:
    """Resample to a new frame rate by keeping the frame nearest each new time."""

    def attack(clip: Clip) -> Clip:
        count = max(1, int(len(clip.frames) * fps / clip.fps))
        picks = np.minimum((np.arange(count) * clip.fps / fps).round().astype(int), len(clip.frames) - 1)
        return Clip([clip.frames[i] for i in picks], fps)

    return attack


def rate_fraction(fraction: float) -> Attack:
    """Resample to `fraction` of the clip's own frame rate (0.5: 24 fps becomes 12)."""
    if not 0 < fraction <= 1:
        raise BadInput(f"frame-rate fraction must be in (0, 1], got {fraction}")
    return lambda clip: change_fps(clip.fps * fraction)(clip)


def window(seconds: float, start_s: float = 0.0) -> Attack:
    """Keep `seconds` of the clip starting at `start_s` (a trim)."""

    def attack(clip: Clip) -> Clip:
        first = round(start_s * clip.fps)
        frames = clip.frames[first : first + max(1, round(seconds * clip.fps))]
        if not frames:
            raise BadInput(f"window at {start_s} s is past the end of the clip")
        return Clip(frames, clip.fps)

    return attack


def drop_frames(fraction: float, seed: int = 0) -> Attack:
    """Remove a random `fraction` of the frames."""

    def attack(clip: Clip) -> Clip:
        keep = np.random.default_rng(seed).random(len(clip.frames)) >= fraction
        keep[0] = True
        return Clip([f for f, k in zip(clip.frames, keep, strict=True) if k], clip.fps)

    return attack


def bars(fraction_each_side: float, vertical: bool) -> Attack:
    """Add black bars: top and bottom (letterbox) or, with `vertical`, left and right (pillarbox), each
    `fraction_each_side` of the content's height or width (1/6 puts 4:3 content in a 16:9 frame)."""
    if not 0 < fraction_each_side <= 1:
        raise BadInput(f"bar fraction must be in (0, 1], got {fraction_each_side}")

    def fn(frame: np.ndarray) -> np.ndarray:
        along = 1 if vertical else 0
        bar = max(1, round(frame.shape[along] * fraction_each_side))
        padding = [(0, 0)] * frame.ndim
        padding[along] = (bar, bar)
        return np.pad(frame, padding)

    return _per_frame(fn)


def blurred_fill(aspect: float = 9 / 16, sigma_fraction: float = 0.03) -> Attack:
    """Set the picture in a frame of width/height `aspect` filled with a blurred, enlarged, darker copy of itself
    (as apps fill a portrait frame around a landscape clip); blur sigma `sigma_fraction` of the frame's width."""
    if not aspect > 0:
        raise BadInput(f"aspect must be positive, got {aspect}")

    def fn(frame: np.ndarray) -> np.ndarray:
        height, width = frame.shape[:2]
        out_height = max(height, round(width / aspect / 2) * 2)
        out_width = max(width, round(height * aspect / 2) * 2)
        cover = max(out_height / height, out_width / width)
        background = cv2.resize(frame, (round(width * cover), round(height * cover)), interpolation=cv2.INTER_LINEAR)
        top, left = (background.shape[0] - out_height) // 2, (background.shape[1] - out_width) // 2
        background = background[top:top + out_height, left:left + out_width]
        out = (cv2.GaussianBlur(background, (0, 0), sigma_fraction * out_width) * 0.7).astype(np.uint8)
        top, left = (out_height - height) // 2, (out_width - width) // 2
        out[top:top + height, left:left + width] = frame
        return out

    return _per_frame(fn)


def rotate90() -> Attack:
    """Turn the picture a quarter turn clockwise (a portrait clip shown sideways, or the reverse)."""
    return _per_frame(lambda frame: np.ascontiguousarray(np.rot90(frame, -1)))


def overlay(text: str = "BREAKING: caption burned into the picture", logo: str = "LOGO") -> Attack:
    """Burn in a white caption with a black outline along the bottom and a boxed logo in the top-right corner,
    sized to the frame."""

    def fn(frame: np.ndarray) -> np.ndarray:
        out = frame.copy()
        height, width = out.shape[:2]
        font = cv2.FONT_HERSHEY_SIMPLEX
        (text_w, _), _ = cv2.getTextSize(text, font, 1.0, 2)
        size = 0.9 * width / text_w
        thickness = max(1, round(2 * size))
        origin = (round(0.05 * width), round(height - 0.06 * height))
        cv2.putText(out, text, origin, font, size, (0, 0, 0), thickness + 2, cv2.LINE_AA)
        cv2.putText(out, text, origin, font, size, (255, 255, 255), thickness, cv2.LINE_AA)
        box_w, box_h = round(0.18 * width), round(0.08 * height)
        top_left = (width - box_w - round(0.03 * width), round(0.03 * height))
        bottom_right = (top_left[0] + box_w, top_left[1] + box_h)
        cv2.rectangle(out, top_left, bottom_right, (230, 40, 40), -1)
        (logo_w, _), _ = cv2.getTextSize(logo, font, 1.0, 2)
        logo_size = 0.8 * box_w / logo_w
        cv2.putText(out, logo, (top_left[0] + round(0.1 * box_w), bottom_right[1] - round(0.25 * box_h)), font,
                    logo_size, (255, 255, 255), max(1, round(2 * logo_size)), cv2.LINE_AA)
        return out

    return _per_frame(fn)


def pattern(kind: str = "grid", pitch_px: float = 12.0, angle_deg: float = 0.0, line_px: float = 2.0,
            level: int = 235) -> Attack:
    """Burn a periodic pattern into the picture, the same in every frame (a cutting mat, a fence, a screen): thin
    lines at `level` every `pitch_px` pixels turned by `angle_deg`, as a "grid", "stripes" (one direction) or
    "tiles" (a checkerboard of squares lightened and darkened by a fifth)."""
    if kind not in ("grid", "stripes", "tiles"):
        raise BadInput(f"pattern must be grid, stripes or tiles, got {kind!r}")
    if not pitch_px > line_px > 0:
        raise BadInput(f"pattern pitch must exceed its line width, got {pitch_px} and {line_px}")
    cache: dict[tuple[int, int], np.ndarray] = {}

    def cover(height: int, width: int) -> np.ndarray:
        rows, cols = np.mgrid[0:height, 0:width].astype(np.float32)
        turn = np.deg2rad(angle_deg)
        along = (cols * np.cos(turn) + rows * np.sin(turn)) / pitch_px
        across = (rows * np.cos(turn) - cols * np.sin(turn)) / pitch_px
        if kind == "tiles":
            return (np.floor(along) + np.floor(across)) % 2 * 0.4 - 0.2
        lines = np.mod(along, 1.0) < line_px / pitch_px
        if kind == "grid":
            lines |= np.mod(across, 1.0) < line_px / pitch_px
        return cv2.GaussianBlur(lines.astype(np.float32), (0, 0), 0.6)

    def fn(frame: np.ndarray) -> np.ndarray:
        shape = frame.shape[:2]
        if shape not in cache:
            cache[shape] = cover(*shape)[:, :, None]
        values, weight = frame.astype(np.float32), cache[shape]
        if kind == "tiles":
            return _to_uint8(values * (1.0 + weight))
        return _to_uint8(values * (1.0 - weight) + level * weight)

    return _per_frame(fn)


def flip() -> Attack:
    """Mirror left to right."""
    return _per_frame(lambda frame: frame[:, ::-1].copy())


def compose(*attacks: Attack) -> Attack:
    """Apply attacks in order."""

    def attack(clip: Clip) -> Clip:
        for step in attacks:
            clip = step(clip)
        return clip

    return attack


def platform_rendition(height_px: int, crf: int) -> Attack:
    """A platform's smaller rendition: scaled to `height_px` (never enlarged), then H.264 at `crf`."""

    def attack(clip: Clip) -> Clip:
        smaller = scale_to_height(height_px) if clip.frames[0].shape[0] > height_px else identity()
        return compose(smaller, reencode("h264", crf))(clip)

    return attack


def user_edit(
    keep: float = 0.85, at: tuple[float, float] = (1 / 3, 0.5), factor: float = 0.6, light: float = 1.15,
    rate: float = 1.0, crf: int = 32,
) -> Attack:
    """A user's re-upload: crop keeping `keep` of each side, `at` (y, x) of the way into the margins, rescale by
    `factor`, brighten by `light`, resample to `rate` of the frame rate, then H.264 at `crf`."""
    steps = [crop_window(keep, keep, *at), scale(factor), brightness(light)]
    return compose(*steps, *([rate_fraction(rate)] if rate < 1 else []), reencode("h264", crf))


def identity() -> Attack:
    """No change (the reference row of a benchmark)."""
    return lambda clip: clip


ATTACKS: dict[str, Attack] = {
    "none": identity(),
    "h264-crf23": reencode("h264", 23),
    "h264-crf30": reencode("h264", 30),
    "h264-crf40": reencode("h264", 40),
    "h265-crf32": reencode("h265", 32),
    "vp9-crf40": reencode("vp9", 40),
    "scale-50%": scale(0.5),
    "scale-360p": scale_to_height(360),
    "crop-80%": crop(0.80),
    "crop-64%": crop(0.64),
    "crop-80%-resize": crop_resize(0.80),
    "brightness+30%": brightness(1.3),
    "brightness-30%": brightness(0.7),
    "contrast-0.7": contrast(0.7),
    "contrast-1.3": contrast(1.3),
    "saturation-0.5": saturation(0.5),
    "blur-1": blur(1.0),
    "noise-5": noise(5.0),
    "fps-15": change_fps(15.0),
    "window-2s": window(2.0, start_s=0.5),
    "drop-20%": drop_frames(0.2),
    "flip": flip(),
    "pillarbox-4:3-in-16:9": bars(1 / 6, vertical=True),
    "letterbox-16:9-in-9:16": bars(1.0, vertical=False),
    "blurred-fill-9:16": blurred_fill(9 / 16),
    "crop-80%+brightness+20%+h264-crf30": compose(crop(0.80), brightness(1.2), reencode("h264", 30)),
}

# Several changes at once, as platforms and users make them; crops are off-centre and differ per axis.
OFF_CENTRE = (1 / 3, 0.5)  # a third of the way into the vertical margin (nearer the top), centred across
COMBINED_ATTACKS: dict[str, Attack] = {
    "480p+h264-crf28": platform_rendition(480, 28),
    "480p+h264-crf32": platform_rendition(480, 32),
    "360p+h264-crf28": platform_rendition(360, 28),
    "360p+h264-crf32": platform_rendition(360, 32),
    "scale-60%+h264-crf32": compose(scale(0.6), reencode("h264", 32)),
    "scale-50%+h264-crf32": compose(scale(0.5), reencode("h264", 32)),
    "crop-85%@top+h264-crf32": compose(crop_window(0.85, 0.85, *OFF_CENTRE), reencode("h264", 32)),
    "crop-88x82%@corner+h264-crf32": compose(crop_window(0.88, 0.82, 0.9, 0.15), reencode("h264", 32)),
    "crop-85%+scale-60%+bright-1.15+crf32": user_edit(),
    "crop-85%+scale-60%+bright-1.15+crf32@half-fps": user_edit(rate=0.5),
}
