"""Static pieces of a procedural landscape, painted once per clip: sky, clouds, mountains, city, forest, ground,
grass, neon signs."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

PALETTES = {  # sky top, sky middle, horizon, sun or moon, water, cloud (lit)
    "day": ((52, 110, 200), (110, 160, 225), (190, 215, 238), (255, 252, 240), (30, 80, 120), (250, 250, 252)),
    "sunset": ((35, 40, 95), (190, 85, 95), (255, 170, 85), (255, 215, 140), (60, 50, 80), (255, 190, 160)),
    "sunrise": ((70, 95, 165), (225, 150, 160), (255, 205, 150), (255, 235, 190), (70, 85, 120), (255, 225, 210)),
    "night": ((3, 6, 20), (10, 18, 45), (28, 40, 75), (235, 235, 220), (8, 14, 30), (60, 66, 90)),
}
OVERCAST_MIX = 0.65  # how far rain and snow pull the sky toward grey
OVERCAST_GREY = np.array([150.0, 155.0, 162.0])


@dataclass
class Layer:
    """Part of the canvas: colour, coverage (None = opaque), first canvas row, parallax depth (-1 far, 1 near)."""

    rgb: np.ndarray
    alpha: np.ndarray | None
    top: int
    depth: float

    def __post_init__(self) -> None:
        self.inverse = None if self.alpha is None else (1.0 - self.alpha)


def fractal_noise(rng: np.random.Generator, rows: int, cols: int, beta: float = 2.0, stretch_x: float = 1.0
                  ) -> np.ndarray:
    """Zero-mean, unit-variance 1/f^beta noise, periodic in both directions; stretch_x > 1 widens features."""
    fy = np.fft.fftfreq(rows)[:, None]
    fx = np.fft.rfftfreq(cols)[None, :] * stretch_x
    freq = np.hypot(fx, fy)
    freq[0, 0] = np.inf
    spectrum = (rng.normal(size=freq.shape) + 1j * rng.normal(size=freq.shape)) / freq ** (beta / 2)
    noise = np.fft.irfft2(spectrum, s=(rows, cols))
    return ((noise - noise.mean()) / (noise.std() + 1e-9)).astype(np.float32)


def ridge(rng: np.random.Generator, cols: int, roughness: float = 2.6) -> np.ndarray:
    """A mountain-ridge profile in [0, 1] along `cols` columns."""
    line = fractal_noise(rng, 1, cols * 2, beta=roughness)[0, :cols]  # half a period: the ends differ
    line -= line.min()
    return line / (line.max() + 1e-9)


def mix(a, b, t):
    """Linear blend of colours or arrays: a at t=0, b at t=1."""
    return np.asarray(a, np.float32) * (1 - t) + np.asarray(b, np.float32) * t


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0, 1)
    return x * x * (3 - 2 * x)


def _to_uint8(x: np.ndarray) -> np.ndarray:
    return np.clip(x, 0, 255).astype(np.uint8)


class Palette:
    """The colours of one time of day, greyed by bad weather."""

    def __init__(self, time_of_day: str, overcast: bool) -> None:
        top, middle, horizon, self.light, water, cloud = (np.array(c, np.float32) for c in PALETTES[time_of_day])
        grey = OVERCAST_MIX if overcast else 0.0
        dim = 0.35 if time_of_day == "night" else 1.0
        self.top, self.middle, self.horizon = (mix(c, OVERCAST_GREY * dim, grey) for c in (top, middle, horizon))
        self.water = mix(water, OVERCAST_GREY * 0.45 * dim, grey)
        self.cloud = mix(cloud, OVERCAST_GREY * dim, grey * 0.6)
        self.night = time_of_day == "night"
        self.low_sun = time_of_day in ("sunset", "sunrise")
        self.overcast = overcast


def sky(palette: Palette, rows: int, cols: int, horizon: int, sun: tuple[float, float], rng: np.random.Generator
        ) -> np.ndarray:
    """Gradient sky with sun (or moon) and, at night, stars; covers the whole canvas."""
    height = np.clip(1 - np.arange(rows, dtype=np.float32) / max(horizon, 1), 0, 1)[:, None, None]
    upper = mix(palette.middle, palette.top, _smoothstep((height - 0.35) / 0.65))
    lower = mix(palette.horizon, palette.middle, _smoothstep(height / 0.35))
    image = np.where(height > 0.35, upper, lower) * np.ones((1, cols, 1), np.float32)
    yy, xx = np.mgrid[0:rows, 0:cols].astype(np.float32)
    distance = np.hypot(xx - sun[0], yy - sun[1]) / rows
    disc_radius = 0.035 if palette.low_sun else 0.025
    haze = 0.35 if palette.overcast else 1.0
    glow = (0.55 * np.exp(-distance / 0.12) + 0.25 * np.exp(-distance / 0.45)) * haze
    if palette.night:
        glow *= 0.35
        stars = rng.random((rows, cols)) > 0.9985
        image += (stars * rng.uniform(80, 230, (rows, cols)) * height[..., 0])[..., None]
    image = mix(image, palette.light, glow[..., None])
    disc = _smoothstep((disc_radius - distance) * rows / 1.5)[..., None] * haze
    return _to_uint8(mix(image, palette.light, disc))


def clouds(palette: Palette, rng: np.random.Generator, rows: int, cols: int, horizon: int, cover: float
           ) -> tuple[np.ndarray, np.ndarray]:
    """Periodic cloud band (colour, alpha) over rows [0, horizon); `cover` in 0..1."""
    noise = fractal_noise(rng, horizon, cols, beta=2.4, stretch_x=3.0)
    density = _smoothstep((noise - (1.1 - 1.6 * cover)) / 1.4)
    fade = np.clip(np.arange(horizon, dtype=np.float32) / horizon, 0, 1)[:, None]
    alpha = density * (0.95 - 0.55 * fade ** 2)
    shade = 0.72 + 0.28 * np.clip(noise / 2, -1, 1)
    colour = mix(palette.cloud * 0.7, palette.cloud, shade[..., None] * 0.5 + 0.5)
    if palette.low_sun:
        colour = mix(colour, palette.light, (fade * 0.35)[..., None])
    full = np.zeros((rows, cols), np.float32)
    full[:horizon] = alpha
    rgb = np.zeros((rows, cols, 3), np.uint8)
    rgb[:horizon] = _to_uint8(colour)
    return rgb, full


def mountains(palette: Palette, rng: np.random.Generator, cols: int, horizon: int, peak_px: float, far: bool,
              snow: bool) -> Layer:
    """One mountain range standing on the horizon; a far range is hazier and paler."""
    heights = (0.35 + 0.65 * ridge(rng, cols)) * peak_px
    top = int(max(0, horizon - heights.max() - 2))
    rows = horizon - top + 2
    yy = np.arange(top, top + rows, dtype=np.float32)[:, None]
    ridge_y = horizon - heights[None, :]
    alpha = np.clip(yy - ridge_y + 0.5, 0, 1)
    rock = np.array((70, 75, 85) if not snow else (95, 100, 115), np.float32)
    if palette.night:
        rock *= 0.25
    haze = 0.45 if far else 0.2
    base = mix(rock, mix(palette.horizon, palette.middle, 0.5), haze)
    detail = fractal_noise(rng, rows, cols, beta=1.7, stretch_x=0.6)[..., None] * (6 if far else 14)
    below_ridge = np.clip((yy - ridge_y) / (peak_px + 1), 0, 1)[..., None]
    colour = base * (1.05 - 0.25 * below_ridge) + detail
    if snow or rng.random() < 0.5:
        snowline = peak_px * (0.62 + 0.1 * fractal_noise(rng, 1, cols, beta=1.5)[0])[None, :]
        elevation = horizon - yy
        cap = _smoothstep((elevation - snowline) / (3 + 0.04 * peak_px))
        snow_colour = np.array((235, 238, 245), np.float32) * (0.3 if palette.night else 1.0)
        colour = mix(colour, mix(snow_colour + detail, palette.horizon, haze * 0.6), cap[..., None])
    return Layer(_to_uint8(colour), alpha.astype(np.float32), top, -0.6 if far else -0.3)


def city(palette: Palette, rng: np.random.Generator, cols: int, horizon: int, unit: float) -> Layer:
    """A skyline on the horizon: two rows of buildings with windows, lit at night."""
    tallest = int(260 * unit)
    top = max(0, horizon - tallest)
    rows = horizon - top + 1
    rgb = np.zeros((rows, cols, 3), np.float32)
    alpha = np.zeros((rows, cols), np.float32)
    for row_depth in (0.0, 1.0):
        x = 0
        while x < cols:
            width = int(rng.uniform(28, 80) * unit)
            height = int(rng.uniform(0.15, 1.0 - 0.35 * row_depth) * tallest)
            shade = rng.uniform(0.6, 1.0)
            light = 0.3 if palette.night else (0.6 if palette.low_sun else 1.0)
            wall = np.array((70, 78, 95), np.float32) * shade * light
            wall = mix(wall, palette.horizon, 0.3 - 0.25 * row_depth)
            y0 = rows - height
            rgb[y0:, x:x + width] = wall
            alpha[y0:, x:x + width] = 1.0
            _windows(rgb[y0:, x:x + width], palette, rng, unit)
            x += width + int(rng.uniform(0, 12) * unit)
    return Layer(_to_uint8(rgb), alpha, top, -0.1)


def _windows(facade: np.ndarray, palette: Palette, rng: np.random.Generator, unit: float) -> None:
    step_y, step_x = max(3, int(9 * unit)), max(3, int(8 * unit))
    size_y, size_x = max(1, int(5 * unit)), max(1, int(4 * unit))
    lit_share = 0.35 if palette.night else 0.0
    for y in range(step_y, facade.shape[0] - step_y, step_y):
        for x in range(step_x // 2, facade.shape[1] - size_x, step_x):
            if rng.random() < lit_share:
                facade[y:y + size_y, x:x + size_x] = rng.choice([(255, 214, 140), (255, 240, 200), (190, 210, 255)])
            elif not palette.night:
                facade[y:y + size_y, x:x + size_x] = mix(facade[y, x], palette.middle, 0.35)


def forest(palette: Palette, rng: np.random.Generator, cols: int, horizon: int, unit: float, ground_rows: int,
           tallest_px: float) -> Layer:
    """Conifers along the horizon, smaller and hazier at the back."""
    tallest = tallest_px
    top = int(max(0, horizon - tallest))
    rows = int(horizon - top + 0.12 * ground_rows)
    rgb = np.zeros((rows, cols, 3), np.uint8)
    mask = np.zeros((rows, cols), np.uint8)
    green = np.array((30, 70, 40), np.float32) * (0.25 if palette.night else 1.0)
    for depth in np.linspace(0, 1, 4):
        base = horizon - top + depth * 0.1 * ground_rows
        colour = mix(green * (1.15 - 0.5 * depth), palette.horizon, 0.45 * (1 - depth))
        for x in rng.uniform(-20, cols + 20, int(cols / (9 * unit) * (0.5 + depth))):
            height = rng.uniform(0.35, 0.8 + 0.2 * depth) * tallest
            half = height * rng.uniform(0.17, 0.25)
            tree = np.array([[x, base - height], [x - half, base], [x + half, base]])
            tint = tuple(int(c) for c in np.clip(colour * rng.uniform(0.85, 1.15), 0, 255))
            points = [np.round(tree * 16).astype(np.int32)]
            cv2.fillPoly(rgb, points, tint, cv2.LINE_AA, shift=4)
            cv2.fillPoly(mask, points, 255, cv2.LINE_AA, shift=4)
    return Layer(rgb, mask.astype(np.float32) / 255, top, 0.3)


GROUND_COLOURS = {"snow": (235, 238, 245), "sand": (214, 178, 120), "field": (70, 110, 45)}
NEON_COLOURS = ((255, 40, 200), (40, 240, 255), (255, 70, 60), (120, 255, 90), (255, 200, 40))
FLOWER_COLOURS = ((240, 60, 70), (250, 220, 60), (245, 245, 240), (200, 90, 220), (255, 140, 40))


def ground(palette: Palette, rng: np.random.Generator, cols: int, horizon: int, rows: int, surface: str) -> Layer:
    """Fields, snow or sand (a key of GROUND_COLOURS) from the horizon to the bottom edge."""
    snow = surface == "snow"
    depth = np.linspace(0, 1, rows, dtype=np.float32)[:, None, None]
    near = np.array(GROUND_COLOURS[surface], np.float32)
    far = mix(near, palette.horizon, 0.5)
    if palette.night:
        near, far = near * 0.18, far * 0.25
    texture = fractal_noise(rng, rows, cols, beta=1.8, stretch_x=4.0)[..., None] * (6 if snow else 14)
    colour = mix(far, near, depth ** 0.6) + texture * (0.3 + depth)
    return Layer(_to_uint8(colour), None, horizon, 0.4)


def road(palette: Palette, cols: int, top: int, rows: int, unit: float) -> Layer:
    """Asphalt with dashed lane lines."""
    asphalt = np.array((60, 60, 64), np.float32) * (0.4 if palette.night else 1.0)
    rgb = np.ones((rows, cols, 3), np.float32) * asphalt
    rgb[: max(1, int(4 * unit))] = asphalt * 1.6
    middle, dash = rows // 2, max(1, int(3 * unit))
    on = (np.arange(cols) // int(60 * unit)) % 2 == 0
    rgb[middle - dash // 2: middle + dash - dash // 2, on] = (220, 210, 150) if not palette.night else (120, 115, 90)
    return Layer(_to_uint8(rgb), None, top, 0.8)


def grass(palette: Palette, rng: np.random.Generator, cols: int, height: int, unit: float, flowers: bool) -> Layer:
    """Tall grass along the bottom of the frame (with flowers in it when asked), in front of everything else."""
    top = int(0.78 * height)
    rows = height + 2 - top
    rgb = np.zeros((rows, cols, 3), np.uint8)
    mask = np.zeros((rows, cols), np.uint8)
    dim = 0.25 if palette.night else 1.0
    light = 0.75 if palette.low_sun else 1.0
    for x in rng.uniform(-10, cols + 10, int(cols / (2.5 * unit))):
        root_y = rows - rng.uniform(0, 0.35) * rows
        length = rng.uniform(0.3, 1.0) * (root_y - 1)
        lean = rng.normal(0, 0.25) * length
        colour = np.array((60, 120, 40), np.float32) * rng.uniform(0.6, 1.25) * dim * light
        colour = tuple(int(c) for c in np.clip(mix(colour, palette.horizon * dim, 0.15), 0, 255))
        blade = np.array([[x - 2 * unit, root_y], [x + lean, root_y - length], [x + 2 * unit, root_y]])
        points = [np.round(blade * 16).astype(np.int32)]
        cv2.fillPoly(rgb, points, colour, cv2.LINE_AA, shift=4)
        cv2.fillPoly(mask, points, 255, cv2.LINE_AA, shift=4)
    rgb[int(0.7 * rows):] = np.maximum(rgb[int(0.7 * rows):], 1)  # a solid band at the bottom: no gaps to the edge
    mask[int(0.7 * rows):] = 255
    if flowers:
        for x, y in zip(rng.uniform(0, cols, int(cols / (14 * unit))), rng.uniform(0.15, 0.8, int(cols / (14 * unit))),
                        strict=True):
            colour = tuple(int(c * dim) for c in FLOWER_COLOURS[int(rng.integers(len(FLOWER_COLOURS)))])
            centre = (round(x * 16), round(y * rows * 16))
            cv2.circle(rgb, centre, max(16, round(4 * unit * 16)), colour, -1, cv2.LINE_AA, shift=4)
            cv2.circle(mask, centre, max(16, round(4 * unit * 16)), 255, -1, cv2.LINE_AA, shift=4)
    return Layer(rgb, mask.astype(np.float32) / 255, top, 0.9)


def neon_signs(city_layer: Layer, rng: np.random.Generator, unit: float) -> None:
    """Glowing neon signs and outlines on a skyline's buildings, painted into the layer."""
    rows, cols = city_layer.alpha.shape
    glow = np.zeros((rows, cols, 3), np.float32)
    solid = city_layer.alpha > 0.99
    thickness = max(1, round(3 * unit))
    for _ in range(max(3, int(cols / (110 * unit)))):
        x = int(rng.integers(0, cols))
        standing = np.flatnonzero(solid[:, x])
        if len(standing) < 20 * unit:
            continue
        width, height = int(rng.uniform(18, 60) * unit), int(rng.uniform(8, 30) * unit)
        y = int(rng.uniform(standing[0] + 4 * unit, max(standing[0] + 5 * unit, rows - height - 4 * unit)))
        colour = NEON_COLOURS[int(rng.integers(len(NEON_COLOURS)))]
        if rng.random() < 0.5:
            cv2.rectangle(glow, (x, y), (x + width, y + height), colour, thickness, cv2.LINE_AA)
        else:
            cv2.line(glow, (x, y), (x, y + 3 * height), colour, thickness, cv2.LINE_AA)
    halo = cv2.GaussianBlur(glow, (0, 0), 6 * unit)
    lit = city_layer.rgb.astype(np.float32) + 1.6 * halo + glow
    city_layer.rgb[:] = _to_uint8(lit) * solid[..., None] + city_layer.rgb * ~solid[..., None]
