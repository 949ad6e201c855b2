"""Things that move across a frame: birds, boats, cars, animals, balloons, rain and snow, drawn with OpenCV in place."""

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


# body colour, body length and leg length (px at 720 rows), walking speed (body lengths per second), ears
ANIMAL_SHAPES = {
    "fox": ((200, 95, 35), 60, 22, 1.6, True), "wolf": ((120, 120, 125), 75, 30, 1.4, True),
    "dog": ((150, 105, 60), 60, 24, 1.5, True), "cat": ((90, 80, 75), 40, 14, 1.2, True),
    "deer": ((150, 100, 60), 80, 48, 1.0, True), "horse": ((110, 70, 40), 110, 60, 1.0, False),
    "cow": ((235, 230, 225), 110, 40, 0.5, True), "sheep": ((235, 232, 220), 70, 22, 0.5, False),
    "rabbit": ((160, 140, 120), 30, 8, 2.0, True), "bear": ((70, 50, 35), 110, 35, 0.6, True),
}


class Animals:
    """Four-legged animals walking across the foreground with a trotting gait; one to three of each kind."""

    def __init__(self, width: int, height: int, rng: np.random.Generator, kinds: tuple[str, ...], ground_top_px: float,
                 ground_bottom_px: float, night: bool) -> None:
        unit = _unit(height)
        self.unit = unit
        self.span_px = width + 400 * unit
        self.lo_px = -200 * unit
        self.walkers = []
        direction = 1.0 if rng.random() < 0.5 else -1.0  # a group walks one way
        for kind in kinds:
            colour, body, leg, speed, ears = ANIMAL_SHAPES[kind]
            for _ in range(int(rng.integers(1, 4))):
                feet_y = rng.uniform(ground_top_px, ground_bottom_px)
                scale = unit * (1.0 + 0.8 * (feet_y - ground_top_px) / max(ground_bottom_px - ground_top_px, 1))
                shade = np.array(colour, np.float32) * rng.uniform(0.85, 1.1) * (0.3 if night else 1.0)
                self.walkers.append((float(rng.uniform(0, width)), feet_y, scale, body, leg, speed * body * direction,
                                     tuple(int(c) for c in np.clip(shade, 0, 255)), ears,
                                     float(rng.uniform(0, 2 * np.pi))))
        self.walkers.sort(key=lambda walker: walker[1])  # farther (higher) first, nearer drawn over them

    def draw(self, frame: np.ndarray, t_s: float, dx: float = 0.0) -> None:
        for x0, feet_y, s, body, leg, speed, colour, ears, phase in self.walkers:
            x = _wrap(x0 + speed * s * t_s - dx, self.lo_px, self.span_px)
            facing = 1.0 if speed > 0 else -1.0
            stride = 2 * np.pi * abs(speed) / (body * 0.9) * t_s + phase
            back_y = feet_y - leg * s - 0.2 * body * s
            half = body * s / 2
            thickness = max(1, round(0.09 * body * s))
            for offset, lag in ((-0.38, 0.0), (-0.3, np.pi), (0.3, np.pi), (0.38, 0.0)):  # hind and fore pairs
                hip = (x + offset * body * s, back_y + 0.15 * body * s)
                swing = 0.35 * np.sin(stride + lag)
                foot = (hip[0] + facing * leg * s * np.sin(swing), hip[1] + leg * s * np.cos(swing))
                cv2.line(frame, _pt(hip), _pt(foot), colour, thickness, AA)
            cv2.ellipse(frame, _pt((x, back_y + 0.1 * body * s)), (max(1, round(half)), max(1, round(0.2 * body * s))),
                        0, 0, 360, colour, -1, AA)
            head = (x + facing * 0.55 * body * s, back_y - 0.12 * body * s)
            cv2.circle(frame, _pt(head), max(1, round(0.14 * body * s)), colour, -1, AA)
            snout = (head[0] + facing * 0.2 * body * s, head[1] + 0.04 * body * s)
            cv2.line(frame, _pt(head), _pt(snout), colour, max(1, round(0.12 * body * s)), AA)
            if ears:
                ear = np.array([[head[0] - 0.08 * body * s, head[1] - 0.08 * body * s],
                                [head[0] - 0.02 * facing * body * s, head[1] - 0.26 * body * s],
                                [head[0] + 0.08 * body * s, head[1] - 0.08 * body * s]])
                cv2.fillPoly(frame, [np.round(ear * 16).astype(np.int32)], colour, AA, shift=4)
            tail = (x - facing * 0.62 * body * s, back_y + 0.02 * body * s * np.sin(stride))
            cv2.line(frame, _pt((x - facing * half, back_y + 0.05 * body * s)), _pt(tail), colour, thickness, AA)


class Balloons:
    """Hot-air balloons drifting with the wind and slowly rising, striped envelopes over baskets."""

    COLOURS = ((220, 50, 50), (250, 200, 40), (40, 110, 210), (60, 170, 80), (240, 120, 30), (150, 60, 170))

    def __init__(self, width: int, height: int, rng: np.random.Generator, sky_bottom_px: float, night: bool) -> None:
        unit = _unit(height)
        count = int(rng.integers(2, 6))
        self.height = height
        self.span_px = width + 300 * unit
        self.lo_px = -150 * unit
        self.x0 = rng.uniform(0, width, count)
        self.y0 = rng.uniform(0.15, 0.75, count) * sky_bottom_px
        self.radius_px = rng.uniform(18, 45, count) * unit
        self.drift_px_s = rng.uniform(8, 20) * unit * (1 if rng.random() < 0.5 else -1) * self.radius_px / (30 * unit)
        self.rise_px_s = rng.uniform(1, 5, count) * unit
        dim = 0.35 if night else 1.0
        self.colours = [tuple(int(c * dim) for c in self.COLOURS[i]) for i in rng.integers(0, len(self.COLOURS),
                                                                                           (count, 2)).ravel()]

    def draw(self, frame: np.ndarray, t_s: float, dx: float = 0.0) -> None:
        order = np.argsort(self.radius_px)  # smaller (farther) first
        for i in order:
            r = float(self.radius_px[i])
            x = _wrap(self.x0[i] + self.drift_px_s[i] * t_s - dx, self.lo_px, self.span_px)
            y = self.y0[i] - self.rise_px_s[i] * t_s
            first, second = self.colours[2 * i], self.colours[2 * i + 1]
            envelope = np.array([[x - r, y], [x - 0.35 * r, y + 1.25 * r], [x + 0.35 * r, y + 1.25 * r], [x + r, y]])
            cv2.fillPoly(frame, [np.round(envelope * 16).astype(np.int32)], first, AA, shift=4)
            cv2.ellipse(frame, _pt((x, y)), (round(r), round(1.1 * r)), 0, 180, 360, first, -1, AA)
            cv2.ellipse(frame, _pt((x, y)), (max(1, round(0.4 * r)), round(1.1 * r)), 0, 180, 360, second, -1, AA)
            stripe = np.array([[x - 0.4 * r, y], [x - 0.14 * r, y + 1.25 * r], [x + 0.14 * r, y + 1.25 * r],
                               [x + 0.4 * r, y]])
            cv2.fillPoly(frame, [np.round(stripe * 16).astype(np.int32)], second, AA, shift=4)
            basket_top = y + 1.5 * r
            for side in (-1, 1):
                cv2.line(frame, _pt((x + side * 0.35 * r, y + 1.25 * r)), _pt((x + side * 0.15 * r, basket_top)),
                         (60, 45, 30), 1, AA)
            cv2.rectangle(frame, _pt((x - 0.17 * r, basket_top)), _pt((x + 0.17 * r, basket_top + 0.25 * r)),
                          (110, 75, 40), -1, AA)


def _pt(point: tuple[float, float]) -> tuple[int, int]:
    return round(point[0]), round(point[1])


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
