"""Things that move across a frame: birds, boats, cars, rain and snow, drawn with OpenCV in place."""

from __future__ import annotations

import cv2
import numpy as np

REFERENCE_HEIGHT_PX = 720.0  # sizes and speeds below are for a 720-row frame and scale with the frame
AA = cv2.LINE_AA


def _unit(height: int) -> float:
    return height / REFERENCE_HEIGHT_PX


def _wrap(x: np.ndarray | float, lo: float, span: float):
    return (x - lo) % span + lo


class Birds:
    """A loose flock flying across the sky with flapping wings."""

    def __init__(self, width: int, height: int, rng: np.random.Generator, sky_bottom_px: float, night: bool) -> None:
        unit = _unit(height)
        count = int(rng.integers(3, 9))
        self.width = width
        self.span_px = width + 160 * unit
        self.direction = 1.0 if rng.random() < 0.5 else -1.0
        self.speed_px_s = float(rng.uniform(50, 90)) * unit
        leader_x, leader_y = rng.uniform(0, width), rng.uniform(0.15, 0.6) * sky_bottom_px
        self.x0 = leader_x - self.direction * np.abs(rng.normal(0, 60 * unit, count))
        self.y0 = leader_y + rng.normal(0, 30 * unit, count)
        self.size_px = rng.uniform(7, 13, count) * unit
        self.flap_hz = rng.uniform(2.0, 3.5, count)
        self.phase = rng.uniform(0, 2 * np.pi, count)
        self.color = (200, 200, 210) if night else (35, 35, 40)
        self.thickness = max(1, round(2 * unit))

    def draw(self, frame: np.ndarray, t_s: float, dx: float = 0.0) -> None:
        x = _wrap(self.x0 + self.direction * self.speed_px_s * t_s - dx, -80 * _unit(frame.shape[0]), self.span_px)
        y = self.y0 + 4 * np.sin(0.7 * t_s + self.phase) * self.size_px / 10
        lift = np.sin(2 * np.pi * self.flap_hz * t_s + self.phase) * 0.6 * self.size_px
        shapes = [
            np.array([[xi - s, yi - li], [xi - s / 3, yi - li / 3], [xi, yi + s / 5],
                      [xi + s / 3, yi - li / 3], [xi + s, yi - li]], np.float32)
            for xi, yi, s, li in zip(x, y, self.size_px, lift, strict=True)
        ]
        cv2.polylines(frame, [np.round(p * 16).astype(np.int32) for p in shapes], False, self.color,
                      self.thickness, AA, shift=4)


class Boats:
    """Sailboats drifting along the water, bobbing on the waves."""

    def __init__(self, width: int, height: int, rng: np.random.Generator, horizon_px: float, night: bool) -> None:
        unit = _unit(height)
        count = int(rng.integers(1, 3))
        self.span_px = width + 400 * unit
        self.lo_px = -200 * unit
        self.x0 = rng.uniform(0.1, 0.9, count) * width
        depth = rng.uniform(0.08, 0.45, count)  # 0 = on the horizon, 1 = at the bottom edge
        self.y0 = horizon_px + depth * (height - horizon_px)
        self.scale = (0.35 + 1.6 * depth) * unit
        self.speed_px_s = rng.uniform(6, 18, count) * np.where(rng.random(count) < 0.5, -1, 1) * self.scale
        self.phase = rng.uniform(0, 2 * np.pi, count)
        self.hull = (25, 25, 35) if night else (60, 40, 35)
        self.sail = (120, 120, 140) if night else (245, 242, 232)
        self.light = (255, 220, 150) if night else None

    def draw(self, frame: np.ndarray, t_s: float, dx: float = 0.0) -> None:
        for x0, y0, s, v, ph in zip(self.x0, self.y0, self.scale, self.speed_px_s, self.phase, strict=True):
            x = _wrap(x0 + v * t_s - dx, self.lo_px, self.span_px)
            y = y0 + 2.5 * s * np.sin(1.3 * t_s + ph)
            tilt = 0.04 * np.sin(1.1 * t_s + ph)
            hull = [(-40, 0), (40, 0), (30, 10), (-32, 10)]
            sail = [(-2, -4), (-2, -78), (30, -6)]
            jib = [(-6, -4), (-6, -66), (-34, -6)]
            for points, color in ((hull, self.hull), (sail, self.sail), (jib, self.sail)):
                self._fill(frame, points, x, y, s, tilt, color)
            if self.light:
                cv2.circle(frame, (round(x), round(y - 4 * s)), max(1, round(2 * s)), self.light, -1, AA)

    @staticmethod
    def _fill(frame: np.ndarray, points, x: float, y: float, scale: float, tilt: float, color) -> None:
        pts = np.array(points, np.float32) * scale
        rotated = np.stack([pts[:, 0] - tilt * pts[:, 1] + x, pts[:, 1] + tilt * pts[:, 0] + y], 1)
        cv2.fillPoly(frame, [np.round(rotated * 16).astype(np.int32)], color, AA, shift=4)


class Cars:
    """Cars driving both ways along a road band, with headlights at night."""

    def __init__(self, width: int, height: int, rng: np.random.Generator, road_top_px: float, road_bottom_px: float,
                 night: bool) -> None:
        unit = _unit(height)
        count = int(rng.integers(2, 6))
        self.unit = unit
        self.span_px = width + 300 * unit
        self.lo_px = -150 * unit
        self.x0 = rng.uniform(0, width, count)
        lane = rng.integers(0, 2, count)
        self.y0 = road_top_px + (0.35 + 0.4 * lane) * (road_bottom_px - road_top_px)
        self.speed_px_s = np.where(lane == 0, -1, 1) * rng.uniform(120, 220, count) * unit
        palette = np.array([(190, 30, 30), (30, 60, 160), (220, 220, 215), (30, 30, 35), (200, 160, 30),
                            (90, 100, 110)])
        self.body = palette[rng.integers(0, len(palette), count)] * (0.35 if night else 1.0)
        self.night = night

    def draw(self, frame: np.ndarray, t_s: float, dx: float = 0.0) -> None:
        u = self.unit
        for x0, y0, v, body in zip(self.x0, self.y0, self.speed_px_s, self.body, strict=True):
            x = _wrap(x0 + v * t_s - dx, self.lo_px, self.span_px)
            facing = 1 if v > 0 else -1
            color = tuple(int(c) for c in body)
            cv2.rectangle(frame, (round(x - 38 * u), round(y0 - 16 * u)), (round(x + 38 * u), round(y0)), color, -1, AA)
            roof = np.array([[x - 22 * u, y0 - 16 * u], [x - 12 * u, y0 - 30 * u], [x + 14 * u, y0 - 30 * u],
                             [x + 24 * u, y0 - 16 * u]])
            cv2.fillPoly(frame, [np.round(roof * 16).astype(np.int32)], color, AA, shift=4)
            glass = (roof - (x, y0)) * 0.8 + (x, y0 - 3 * u)
            cv2.fillPoly(frame, [np.round(glass * 16).astype(np.int32)], (70, 90, 110), AA, shift=4)
            for wheel_x in (x - 24 * u, x + 24 * u):
                cv2.circle(frame, (round(wheel_x), round(y0)), max(1, round(7 * u)), (15, 15, 15), -1, AA)
            if self.night:
                front, back = x + facing * 38 * u, x - facing * 38 * u
                cv2.circle(frame, (round(front), round(y0 - 9 * u)), max(1, round(5 * u)), (255, 250, 220), -1, AA)
                cv2.circle(frame, (round(back), round(y0 - 9 * u)), max(1, round(3 * u)), (230, 30, 30), -1, AA)


class Rain:
    """Falling streaks, blended half-transparent over the frame."""

    OPACITY = 0.45

    def __init__(self, width: int, height: int, rng: np.random.Generator) -> None:
        unit = _unit(height)
        count = int(700 * width * height / (1280 * 720))
        self.width, self.height = width, height
        self.x0 = rng.uniform(0, width, count)
        self.y0 = rng.uniform(0, height, count)
        self.speed_px_s = rng.uniform(900, 1400, count) * unit
        self.length_px = rng.uniform(12, 26, count) * unit
        self.slant = float(rng.uniform(-0.25, 0.25))

    def draw(self, frame: np.ndarray, t_s: float, dx: float = 0.0) -> None:
        y = (self.y0 + self.speed_px_s * t_s) % (self.height + 40) - 20
        x = (self.x0 + self.slant * self.speed_px_s * t_s - dx) % self.width
        ends = np.stack([np.stack([x, y], 1), np.stack([x + self.slant * self.length_px, y + self.length_px], 1)], 1)
        streaks = frame.copy()
        cv2.polylines(streaks, list(np.round(ends * 16).astype(np.int32)), False, (200, 205, 215), 1, AA, shift=4)
        cv2.addWeighted(streaks, self.OPACITY, frame, 1 - self.OPACITY, 0, dst=frame)


class Snow:
    """Flakes drifting down and swaying."""

    def __init__(self, width: int, height: int, rng: np.random.Generator) -> None:
        unit = _unit(height)
        count = int(450 * width * height / (1280 * 720))
        self.width, self.height = width, height
        self.x0 = rng.uniform(0, width, count)
        self.y0 = rng.uniform(0, height, count)
        self.radius_px = rng.uniform(0.8, 3.2, count) * unit
        self.speed_px_s = (30 + 25 * self.radius_px / unit) * unit
        self.sway_px = rng.uniform(5, 20, count) * unit
        self.phase = rng.uniform(0, 2 * np.pi, count)

    def draw(self, frame: np.ndarray, t_s: float, dx: float = 0.0) -> None:
        y = (self.y0 + self.speed_px_s * t_s) % (self.height + 10) - 5
        x = (self.x0 + self.sway_px * np.sin(0.8 * t_s + self.phase) - dx) % self.width
        for xi, yi, r in zip(np.round(x * 16).astype(int), np.round(y * 16).astype(int), self.radius_px, strict=True):
            cv2.circle(frame, (int(xi), int(yi)), max(1, round(r * 16)), (245, 245, 250), -1, AA, shift=4)
