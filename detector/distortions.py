"""Distortions of a frame window, built from `provenance.attacks`: named evaluation conditions and random
platform-like chains for training, applied alike to both classes. Frames are uint8 RGB (T, H, W, 3)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from provenance import attacks
from provenance.errors import BadInput

Frames = np.ndarray
Distortion = Callable[[Frames, float], Frames]

AUGMENT_VERSION = "attacks-chain-2"
AUGMENT_MIN_SIDE_PX = 64  # encoders can crash on tiny frames; platforms do not serve them either
AUGMENT_CODECS = ("h264", "h264", "h265", "vp9")
AUGMENT_CRF_RANGE = (18, 42)
AUGMENT_SCALE_RANGE = (0.4, 1.0)
AUGMENT_CROP_AREA_RANGE = (0.4, 1.0)
AUGMENT_BLUR_SIGMA_RANGE_PX = (0.3, 1.5)
AUGMENT_NOISE_SIGMA_RANGE = (1.0, 6.0)
AUGMENT_COLOUR_FACTOR_RANGE = (0.8, 1.2)
AUGMENT_STEP_PROBABILITY = 0.5


def run(attack: attacks.Attack, frames: Frames, fps: float) -> Frames:
    """Apply a `provenance.attacks` attack to a stack of frames."""
    result = attack(attacks.Clip(list(frames), fps)).frames
    if not result:
        raise BadInput("distortion left no frames")
    return np.stack(result[: len(frames)])


def reencode(frames: Frames, fps: float, codec: str = "h264", crf: int = 23) -> Frames:
    """Encode the frames with a real encoder and decode them back."""
    return run(attacks.reencode(codec, crf), frames, fps)


@dataclass(frozen=True)
class Condition:
    """A named evaluation condition: a fixed attack chain."""

    name: str
    attack: attacks.Attack

    def apply(self, frames: Frames, fps: float) -> Frames:
        return run(self.attack, frames, fps)


CONDITIONS: dict[str, Condition] = {
    c.name: c
    for c in (
        Condition("clean", attacks.identity()),
        Condition("h264-crf28", attacks.reencode("h264", 28)),
        Condition("h264-crf40", attacks.reencode("h264", 40)),
        Condition("downscale-50", attacks.compose(attacks.scale(0.5), attacks.reencode("h264", 23))),
        Condition("h264-crf28+downscale-50", attacks.compose(attacks.scale(0.5), attacks.reencode("h264", 28))),
    )
}


def condition(name: str) -> Condition:
    """Look up a named evaluation condition."""
    if name not in CONDITIONS:
        raise BadInput(f"unknown distortion {name!r}; choose from {', '.join(CONDITIONS)}")
    return CONDITIONS[name]


def random_platform_chain(rng: np.random.Generator, short_side_px: int) -> attacks.Attack:
    """A random chain of what platforms do to frames whose short side is `short_side_px`: crop, rescale,
    blur, noise, colour, then a re-encode; the short side never goes below `AUGMENT_MIN_SIDE_PX`."""
    chain = []
    side = float(short_side_px)
    if rng.random() < AUGMENT_STEP_PROBABILITY:
        area = max(rng.uniform(*AUGMENT_CROP_AREA_RANGE), min(1.0, (AUGMENT_MIN_SIDE_PX / side) ** 2))
        chain.append(attacks.crop(area, rng.random(), rng.random()))
        side *= float(np.sqrt(area))
    if rng.random() < AUGMENT_STEP_PROBABILITY:
        chain.append(attacks.scale(max(rng.uniform(*AUGMENT_SCALE_RANGE), min(1.0, AUGMENT_MIN_SIDE_PX / side))))
    if rng.random() < AUGMENT_STEP_PROBABILITY / 2:
        chain.append(attacks.blur(rng.uniform(*AUGMENT_BLUR_SIGMA_RANGE_PX)))
    if rng.random() < AUGMENT_STEP_PROBABILITY / 2:
        chain.append(attacks.noise(rng.uniform(*AUGMENT_NOISE_SIGMA_RANGE), seed=int(rng.integers(1 << 31))))
    if rng.random() < AUGMENT_STEP_PROBABILITY / 2:
        colour = (attacks.brightness, attacks.contrast, attacks.saturation)[rng.integers(3)]
        chain.append(colour(rng.uniform(*AUGMENT_COLOUR_FACTOR_RANGE)))
    chain.append(attacks.reencode(str(rng.choice(AUGMENT_CODECS)), int(rng.integers(*AUGMENT_CRF_RANGE))))
    return attacks.compose(*chain)
