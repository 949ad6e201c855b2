"""The built-in backend: renders the scene a prompt describes, offline and deterministically from the seed."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from generator.backends import painter
from generator.backends.base import Backend, ClipSpec, Frames
from generator.backends.movers import REFERENCE_HEIGHT_PX, Animals, Balloons, Birds, Boats, Cars, Rain, Snow
from generator.backends.scene import Scene, parse_scene, prompt_words

MODEL = "procedural-1"
PAN_FRACTION = 0.22  # of the frame width, over the whole clip
PAN_MAX_FRACTION_PER_S = 0.05
ZOOM_RANGE = 0.15  # zoom factor goes 1 -> 1.15 (zoom in) or back
PARALLAX_FRACTION = 0.03  # extra shift of near layers against far ones over the clip
WIND_PX_PER_S = 12.0  # cloud drift at 720 rows
WAVE_SPEED = 0.6  # texture rows per second, toward the viewer
WAVE_SCALE = 40.0  # texture pixels per screen pixel at one row below the horizon (720p)
FOCAL_PX = 900.0
WATER_SUBSAMPLE = 2  # water is computed at 1/2 resolution each way
IMAGE_PAN_FRACTION = 0.05
MAX_IMAGE_PAN_FRACTION = 0.15
FARTHEST_DEPTH = 0.8  # parallax weight of a still's top row...
DEPTH_SPREAD = 0.4  # ... and how much more the bottom row gets (more would shear upright things visibly)
NEAREST_DEPTH = FARTHEST_DEPTH + DEPTH_SPREAD
MAX_EXTEND_PAN_PX_PER_FRAME = 4.0
EASE_SHARE = 0.35  # how much of the camera path is eased in and out (the rest is steady)


def _progress(index: int, count: int) -> float:
    return index / max(count - 1, 1)


class Camera:
    """Where the view sits on a canvas at each moment: a pan and a zoom, eased in and out."""

    def __init__(self, kind: str, spec: ClipSpec) -> None:
        self.kind = kind
        pan_px = min(PAN_FRACTION, PAN_MAX_FRACTION_PER_S * spec.seconds) * spec.width
        self.pan_px = pan_px if kind.startswith("pan") else 0.0
        self.direction = -1.0 if kind == "pan_left" else 1.0

    def at(self, progress: float) -> tuple[float, float]:
        """(view left edge offset in px from the start, zoom factor >= 1)."""
        eased = EASE_SHARE * progress * progress * (3 - 2 * progress) + (1 - EASE_SHARE) * progress
        offset = self.pan_px * (eased if self.direction > 0 else 1 - eased)
        zoom = 1.0
        if self.kind == "zoom_in":
            zoom = 1 + ZOOM_RANGE * eased
        elif self.kind == "zoom_out":
            zoom = 1 + ZOOM_RANGE * (1 - eased)
        return offset, zoom


class Landscape:
    """A text-to-video scene: painted layers composed under a moving camera, with live water and movers."""

    def __init__(self, scene: Scene, spec: ClipSpec, seed: int) -> None:
        rng = np.random.default_rng([seed, 2])
        self.scene, self.spec = scene, spec
        self.camera = Camera(scene.camera, spec)
        width, height = spec.width, spec.height
        self.unit = unit = height / REFERENCE_HEIGHT_PX
        self.pad = int(PARALLAX_FRACTION * width) + 2
        self.rows = height + 2
        self.cols = int(width + self.camera.pan_px) + 4 + 2 * self.pad
        self.horizon = horizon = int(rng.uniform(0.5, 0.6) * height)
        night = scene.time_of_day == "night"
        palette = painter.Palette(scene.time_of_day, scene.has("rain") or scene.has("snow"))
        sun_height = rng.uniform(0.03, 0.12) if palette.low_sun else rng.uniform(0.45, 0.75)
        self.sun = (self.pad + rng.uniform(0.3, 0.7) * (self.cols - 2 * self.pad), horizon * (1 - sun_height))
        self.sky = painter.Layer(painter.sky(palette, self.rows, self.cols, horizon, self.sun, rng), None, 0, -1.0)
        self.cloud_rgb = self.cloud_alpha = None
        if scene.has("clouds"):
            cover = 0.85 if palette.overcast else rng.uniform(0.35, 0.6)
            rgb, alpha = painter.clouds(palette, rng, self.rows, self.cols, horizon, cover)
            # the band is periodic: two copies side by side let a drifting window be a plain slice
            self.cloud_rgb, self.cloud_alpha = np.tile(rgb, (1, 2, 1)), np.tile(alpha, (1, 2))
            self.cloud_inverse = 1 - self.cloud_alpha
        self.layers: list[painter.Layer] = []
        if scene.has("mountains"):
            self.layers.append(painter.mountains(palette, rng, self.cols, horizon, 0.55 * horizon, True,
                                                 scene.has("snow")))
            self.layers.append(painter.mountains(palette, rng, self.cols, horizon, 0.3 * horizon, False,
                                                 scene.has("snow")))
        if scene.has("city"):
            self.layers.append(painter.city(palette, rng, self.cols, horizon, unit))
            if scene.has("neon"):
                painter.neon_signs(self.layers[-1], rng, unit)
        ground_rows = self.rows - horizon
        self.water = None
        if scene.has("sea"):
            self.water = Water(palette, rng, self.cols, horizon, ground_rows, self.sun[0], unit)
        else:
            surface = "snow" if scene.has("snow") else "sand" if scene.has("desert") else "field"
            self.layers.append(painter.ground(palette, rng, self.cols, horizon, ground_rows, surface))
        if scene.has("forest"):
            tallest = (80 if scene.has("mountains") else 150) * unit
            self.layers.append(painter.forest(palette, rng, self.cols, horizon, unit, ground_rows, tallest))
        if scene.has("grass"):
            self.layers.append(painter.grass(palette, rng, self.cols, height, unit, scene.has("flowers")))
        self.road_top = int(height - 0.16 * height)
        if scene.has("car"):
            self.layers.append(painter.road(palette, self.cols, self.road_top, int(0.13 * height), unit))
        self.near_movers = []
        if scene.has("boat"):
            self.near_movers.append((Boats(self.cols, height, rng, horizon, night), 0.4))
        if scene.has("car"):
            road_bottom = self.road_top + int(0.13 * height)
            self.near_movers.append((Cars(self.cols, height, rng, self.road_top, road_bottom, night), 0.8))
        if scene.has("animal"):
            feet = (0.72, 0.8) if scene.has("car") else (0.84, 0.97)  # above the road, or in the foreground
            self.near_movers.append((Animals(self.cols, height, rng, scene.animals, feet[0] * height,
                                             feet[1] * height, night), 0.8))
        self.overlays = []
        if scene.has("balloon"):
            self.overlays.append(Balloons(width, height, rng, horizon, night))
        if scene.has("bird"):
            self.overlays.append(Birds(width, height, rng, horizon, night))
        if scene.has("rain"):
            self.overlays.append(Rain(width, height, rng))
        if scene.has("snow"):
            self.overlays.append(Snow(width, height, rng))

    def frames(self) -> Frames:
        count = self.spec.frame_count
        for index in range(count):
            yield self.frame(index / self.spec.fps, _progress(index, count))

    def frame(self, t_s: float, progress: float) -> np.ndarray:
        width, height = self.spec.width, self.spec.height
        offset, zoom = self.camera.at(progress)
        view_w, view_h = width / zoom, height / zoom
        x0 = self.pad + offset + (width - view_w) / 2
        y0 = (height - view_h) / 2
        ix, iy = int(x0), int(y0)
        win_w, win_h = int(np.ceil(view_w)) + 2, min(int(np.ceil(view_h)) + 2, self.rows - iy)
        parallax = self.camera.direction * self.pad * progress * (self.camera.pan_px > 0)
        window = self._slice(self.sky, ix, iy, win_w, win_h, parallax).copy()
        if self.cloud_rgb is not None:
            start = (ix + int(WIND_PX_PER_S * self.unit * t_s)) % self.cols
            rows, cols = slice(iy, iy + win_h), slice(start, start + win_w)
            self._blend(window, self.cloud_rgb[rows, cols], self.cloud_alpha[rows, cols],
                        self.cloud_inverse[rows, cols], 0)
        for layer in self.layers[:self._water_index()]:
            self._compose(window, layer, ix, iy, win_w, win_h, parallax)
        if self.water is not None:
            self.water.draw(window, ix, iy, t_s)
        for layer in self.layers[self._water_index():]:
            self._compose(window, layer, ix, iy, win_w, win_h, parallax)
        for mover, depth in self.near_movers:
            mover.draw(window, t_s, dx=ix + round(depth * parallax))
        matrix = np.float32([[zoom, 0, -zoom * (x0 - ix)], [0, zoom, -zoom * (y0 - iy)]])
        frame = cv2.warpAffine(window, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        for overlay in self.overlays:
            overlay.draw(frame, t_s)
        return frame

    def _water_index(self) -> int:
        """Layers before this index stand behind the water (mountains, city); the rest in front of it."""
        return self.scene.has("mountains") * 2 + self.scene.has("city")

    def _slice(self, layer: painter.Layer, ix: int, iy: int, win_w: int, win_h: int, parallax: float):
        start = ix + round(layer.depth * parallax)
        return layer.rgb[iy - layer.top: iy - layer.top + win_h, start:start + win_w]

    def _compose(self, window: np.ndarray, layer: painter.Layer, ix: int, iy: int, win_w: int, win_h: int,
                 parallax: float) -> None:
        first, last = max(iy, layer.top), min(iy + win_h, layer.top + layer.rgb.shape[0])
        if first >= last:
            return
        start = ix + round(layer.depth * parallax)
        rows, cols = slice(first - layer.top, last - layer.top), slice(start, start + win_w)
        target = window[first - iy:last - iy]
        if layer.alpha is None:
            target[:] = layer.rgb[rows, cols]
        else:
            self._blend(window, layer.rgb[rows, cols], layer.alpha[rows, cols], layer.inverse[rows, cols], first - iy)

    @staticmethod
    def _blend(window: np.ndarray, rgb: np.ndarray, alpha: np.ndarray, inverse: np.ndarray, row: int) -> None:
        target = window[row:row + rgb.shape[0]]
        target[:] = cv2.blendLinear(rgb, target, alpha, inverse)


class Water:
    """Sea from the horizon down: sky-tinted colour, waves in perspective and a glittering path under the sun."""

    def __init__(self, palette: painter.Palette, rng: np.random.Generator, cols: int, horizon: int, rows: int,
                 sun_x: float, unit: float) -> None:
        self.horizon, self.rows = horizon, rows
        self.texture = painter.fractal_noise(rng, 256, 256, beta=2.4, stretch_x=3.0)
        below = np.arange(1, rows + 1, dtype=np.float32)[:, None]  # rows below the horizon
        distance = below / unit  # ... and the same in rows of a 720p frame, so waves scale with the frame
        across = (np.arange(cols, dtype=np.float32)[None, :] - sun_x) / unit
        # a flat plane seen in perspective: texture x ~ screen x / distance, texture y ~ focal length / distance
        map_x = across / (distance + 2) * WAVE_SCALE
        map_y = np.broadcast_to(WAVE_SCALE * FOCAL_PX / (distance + 2), (rows, cols))
        depth = below / rows
        spread = 6 + 0.25 * distance
        reflection = np.exp(-(across ** 2) / (2 * spread ** 2)) * (0.9 if palette.low_sun else 0.5)
        far = painter.mix(palette.water, palette.horizon, 0.55)
        base = painter.mix(far, palette.water * 0.75, depth[..., None] ** 0.5)  # (rows, 1, 3)
        step = WATER_SUBSAMPLE  # the water is computed on a coarser grid and scaled up: the costliest layer
        self.map_x = map_x[::step, ::step].astype(np.float32)
        self.map_y = map_y[::step, ::step].astype(np.float32)
        self.amplitude = (0.05 + 0.16 * depth[::step]).astype(np.float32)
        self.glitter = (reflection[::step, ::step] * (0.5 if palette.overcast else 1.0)).astype(np.float32)
        self.base = base[::step].astype(np.float32)
        self.light = palette.light.astype(np.float32)

    def draw(self, window: np.ndarray, ix: int, iy: int, t_s: float) -> None:
        first = max(self.horizon, iy)
        last = min(self.horizon + self.rows, iy + window.shape[0])
        if first >= last:
            return
        step = WATER_SUBSAMPLE
        top, bottom = (first - self.horizon) // step, -(-(last - self.horizon) // step)
        left, right = ix // step, -(-(ix + window.shape[1]) // step)
        rows, cols = slice(top, bottom), slice(left, right)
        waves = cv2.remap(self.texture, self.map_x[rows, cols], self.map_y[rows, cols] + WAVE_SPEED * t_s * 60,
                          cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)
        shade = 1 + self.amplitude[rows] * waves
        sparkle = self.glitter[rows, cols] * np.clip(waves - 0.4, 0, 1.5)
        colour = shade[..., None] * self.base[rows]
        colour += sparkle[..., None] * self.light
        np.clip(colour, 0, 255, out=colour)
        coarse = colour.astype(np.uint8)
        fine = cv2.resize(coarse, (coarse.shape[1] * step, coarse.shape[0] * step), interpolation=cv2.INTER_LINEAR)
        row0, col0 = first - self.horizon - top * step, ix - left * step
        window[first - iy:last - iy] = fine[row0:row0 + last - first, col0:col0 + window.shape[1]]


class StillAnimator:
    """Brings a still to life: a camera push or pan with depth parallax (nearer rows move more), plus movers.

    A push in or a pan starts on the still itself; a pull back ends on it (there is nothing outside the still).
    """

    def __init__(self, image: np.ndarray, scene: Scene, spec: ClipSpec, seed: int,
                 pan_px_per_frame: float | None = None) -> None:
        rng = np.random.default_rng([seed, 3])
        self.spec = spec
        self.image = fit_image(image, spec.width, spec.height)
        width, height = spec.width, spec.height
        yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
        self.xx, self.yy = xx, yy
        self.depth = (FARTHEST_DEPTH + DEPTH_SPREAD * (yy / height) ** 2).astype(np.float32)  # lower rows: nearer
        self.camera = scene.camera
        count = spec.frame_count
        if pan_px_per_frame is not None:
            limit_px = MAX_IMAGE_PAN_FRACTION * width
            self.pan_px = float(np.clip(pan_px_per_frame * count, -limit_px, limit_px))
        else:
            direction = -1.0 if scene.camera == "pan_left" else 1.0
            self.pan_px = direction * IMAGE_PAN_FRACTION * width * scene.camera.startswith("pan")
        night = scene.time_of_day == "night"
        self.overlays = []
        if scene.has("balloon"):
            self.overlays.append(Balloons(width, height, rng, 0.5 * height, night))
        if scene.has("bird"):
            self.overlays.append(Birds(width, height, rng, 0.5 * height, night))
        if scene.has("rain"):
            self.overlays.append(Rain(width, height, rng))
        if scene.has("snow"):
            self.overlays.append(Snow(width, height, rng))

    def frames(self, skip_first: bool = False) -> Frames:
        """The animation; `skip_first` leaves out frame 0 (the still itself) and makes one more at the end."""
        count = self.spec.frame_count + skip_first
        width, height = self.spec.width, self.spec.height
        for index in range(int(skip_first), count):
            progress = _progress(index, count) if count > 1 else 0.0
            zoom = 1.0
            if self.camera == "zoom_in":
                zoom = 1 + 0.5 * ZOOM_RANGE * progress
            elif self.camera == "zoom_out":
                zoom = 1 + 0.5 * ZOOM_RANGE * (1 - progress)
            shift_px = self.pan_px * progress
            # zoom in just enough that the most-shifted (nearest) rows never show past the still's edge
            cover = 1 / (1 - 2 * NEAREST_DEPTH * abs(shift_px) / width)
            row_zoom = (1 + (zoom - 1) * self.depth) * cover
            zoom *= cover
            map_x = (self.xx - width / 2) / row_zoom + width / 2 + shift_px * self.depth
            map_y = (self.yy - height / 2) / zoom + height / 2
            frame = cv2.remap(self.image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
            for overlay in self.overlays:
                overlay.draw(frame, index / self.spec.fps)
            yield frame


def fit_image(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Scale and centre-crop an RGB image to exactly width x height."""
    scale = max(width / image.shape[1], height / image.shape[0])
    resized = cv2.resize(image, (max(width, round(image.shape[1] * scale)), max(height, round(image.shape[0] * scale))),
                         interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    top, left = (resized.shape[0] - height) // 2, (resized.shape[1] - width) // 2
    return np.ascontiguousarray(resized[top:top + height, left:left + width])


def global_motion_px(previous: np.ndarray, current: np.ndarray) -> float:
    """Horizontal camera motion between two frames, in pixels (phase correlation on luma)."""
    gray = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY).astype(np.float32) for f in (previous, current)]
    (dx, _), _ = cv2.phaseCorrelate(gray[0], gray[1])
    return -float(dx)


class ProceduralBackend(Backend):
    """Landscapes from words: sea, sky, sun, clouds, mountains, city, neon, forest, grass, flowers, desert, weather,
    boats, birds, cars, animals, balloons; `prompt_words` says which words of a prompt it draws."""

    model = MODEL
    context_frames = 2

    def text_to_video(self, prompt: str, spec: ClipSpec, seed: int) -> Frames:
        return Landscape(parse_scene(prompt, seed), spec, seed).frames()

    def image_to_video(self, image: np.ndarray, prompt: str, spec: ClipSpec, seed: int) -> Frames:
        return StillAnimator(image, parse_scene(prompt, seed, image=True), spec, seed).frames()

    def extend(self, context: Sequence[np.ndarray], prompt: str, spec: ClipSpec, seed: int) -> Frames:
        scene = parse_scene(prompt, seed, image=True)
        pan = None
        if len(context) >= 2 and scene.camera == "zoom_in" and not any(w in prompt.lower() for w in ("zoom", "push")):
            motion = float(np.clip(global_motion_px(context[-2], context[-1]), -MAX_EXTEND_PAN_PX_PER_FRAME,
                                   MAX_EXTEND_PAN_PX_PER_FRAME))
            if abs(motion) > 0.25:
                scene, pan = Scene(scene.time_of_day, scene.elements, "pan_right"), motion
        animator = StillAnimator(context[-1], scene, spec, seed, pan_px_per_frame=pan)
        return animator.frames(skip_first=True)  # the still is the clip's last frame, already there

    def prompt_words(self, prompt: str, image: bool = False) -> dict[str, list[str]]:
        return prompt_words(prompt, image)

    def describe(self) -> dict:
        return {"backend": "procedural"}
