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

AUGMENT_VERSION = "attacks-chain-3"
AUGMENT_MIN_SIDE_PX = 64  # encoders can crash on tiny frames; platforms do not serve them either
AUGMENT_CODECS = ("h264", "h264", "h265", "vp9")
AUGMENT_CRF_RANGE = (18, 42)
AUGMENT_SCALE_RANGE = (0.4, 1.0)
AUGMENT_CROP_AREA_RANGE = (0.4, 1.0)
AUGMENT_BLUR_SIGMA_RANGE_PX = (0.3, 1.5)
AUGMENT_NOISE_SIGMA_RANGE = (1.0, 6.0)
AUGMENT_COLOUR_FACTOR_RANGE = (0.7, 1.3)  # brightness and contrast 1.3 flagged real clips when training stopped at 1.2
AUGMENT_STEP_PROBABILITY = 0.5
AUGMENT_COLOUR_PROBABILITY = 0.5  # platform and user colour edits are common


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


PILLARBOX_BAR_FRACTION = 1 / 6  # of the content's width, each side: 4:3 content in a 16:9 frame
LETTERBOX_BAR_FRACTION = 1 / 6  # of the content's height, top and bottom

# What platforms and users do to footage, one thing at a time: the false-positive audit's conditions.
# Codecs and pixel edits act on the frames of the 2-second window; the matched form re-encodes after each.
TRANSFORMS: dict[str, Condition] = {
    c.name: c
    for c in (
        Condition("h264-crf23", attacks.reencode("h264", 23)),
        Condition("h264-crf35", attacks.reencode("h264", 35)),
        Condition("h265-crf32", attacks.reencode("h265", 32)),
        Condition("vp9-crf40", attacks.reencode("vp9", 40)),
        Condition("scale-360p", attacks.scale_to_height(360)),
        Condition("scale-240p", attacks.scale_to_height(240)),
        Condition("upscale-2x", attacks.scale(2.0)),
        Condition("crop-64", attacks.crop(0.64)),
        Condition("brightness-1.3", attacks.brightness(1.3)),
        Condition("brightness-0.7", attacks.brightness(0.7)),
        Condition("contrast-1.3", attacks.contrast(1.3)),
        Condition("contrast-0.7", attacks.contrast(0.7)),
        Condition("saturation-0", attacks.saturation(0.0)),
        Condition("saturation-0.5", attacks.saturation(0.5)),
        Condition("blur-1", attacks.blur(1.0)),
        Condition("noise-5", attacks.noise(5.0)),
        Condition("pillarbox", attacks.bars(PILLARBOX_BAR_FRACTION, vertical=True)),
        Condition("letterbox", attacks.bars(LETTERBOX_BAR_FRACTION, vertical=False)),
        Condition("caption+logo", attacks.overlay()),
        Condition("rotate-90", attacks.rotate90()),
    )
}


def condition(name: str) -> Condition:
    """Look up a named evaluation condition (`CONDITIONS` or `TRANSFORMS`)."""
    known = CONDITIONS | TRANSFORMS
    if name not in known:
        raise BadInput(f"unknown distortion {name!r}; choose from {', '.join(known)}")
    return known[name]


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
    if rng.random() < AUGMENT_COLOUR_PROBABILITY:
        colour = (attacks.brightness, attacks.contrast, attacks.saturation)[rng.integers(3)]
        chain.append(colour(rng.uniform(*AUGMENT_COLOUR_FACTOR_RANGE)))
    chain.append(attacks.reencode(str(rng.choice(AUGMENT_CODECS)), int(rng.integers(*AUGMENT_CRF_RANGE))))
    return attacks.compose(*chain)
