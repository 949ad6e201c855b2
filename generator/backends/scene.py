"""Read a prompt into the scene the procedural renderer draws: time of day, landscape, weather, movers, camera."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

ELEMENT_WORDS = {
    "sea": ("sea", "ocean", "beach", "coast", "wave", "lake", "water", "harbor", "harbour", "bay", "shore"),
    "mountains": ("mountain", "peak", "alps", "hill", "valley", "ridge"),
    "city": ("city", "skyline", "town", "building", "downtown", "urban", "skyscraper"),
    "forest": ("forest", "tree", "wood", "pine", "jungle"),
    "clouds": ("cloud", "cloudy", "overcast", "storm", "stormy"),
    "rain": ("rain", "rainy", "raining", "storm", "stormy", "drizzle", "shower"),
    "snow": ("snow", "snowy", "snowing", "winter", "blizzard", "snowfall"),
    "boat": ("boat", "ship", "sailboat", "yacht", "sail", "sailing"),
    "bird": ("bird", "gull", "seagull", "flock", "eagle"),
    "car": ("car", "traffic", "road", "highway", "driving"),
}
TIME_WORDS = {
    "night": ("night", "midnight", "moon", "moonlit", "star", "starry", "dark"),
    "sunset": ("sunset", "dusk", "evening", "golden"),
    "sunrise": ("sunrise", "dawn", "morning", "daybreak"),
}
CAMERA_PHRASES = {  # checked in this order: "zoom out" must not read as "zoom"
    "static": ("static", "still camera", "locked", "tripod"),
    "pan_left": ("pan left", "pans left", "panning left"),
    "zoom_out": ("zoom out", "zooms out", "pull back", "pulls back", "pull out", "dolly out"),
    "pan_right": ("pan right", "pans right", "panning right", "pan", "panning", "tracking"),
    "zoom_in": ("zoom in", "zooms in", "push in", "dolly in", "zoom", "flying toward", "drone"),
}
LANDSCAPES = ("sea", "mountains", "city", "forest")
DEFAULT_LANDSCAPES = (("sea", "mountains"), ("mountains", "forest"), ("sea", "city"), ("sea",))


@dataclass(frozen=True)
class Scene:
    """What to draw; every field is decided by the prompt, or by the seed where the prompt is silent."""

    time_of_day: str  # "day" | "sunset" | "sunrise" | "night"
    elements: frozenset[str]
    camera: str  # "static" | "pan_left" | "pan_right" | "zoom_in" | "zoom_out"

    def has(self, element: str) -> bool:
        return element in self.elements

    def to_dict(self) -> dict:
        return {"time_of_day": self.time_of_day, "elements": sorted(self.elements), "camera": self.camera}


def _words(prompt: str) -> set[str]:
    words = set(re.findall(r"[a-z]+", prompt.lower()))
    return words | {w[:-1] for w in words if w.endswith("s")} | {w[:-2] for w in words if w.endswith("es")}


def _has_phrase(text: str, phrase: str) -> bool:
    return re.search(rf"\b{re.escape(phrase)}\b", text) is not None


def parse_scene(prompt: str, seed: int, image: bool = False) -> Scene:
    """The scene a prompt describes; `image` means a still supplies the landscape, so only movers are added."""
    rng = np.random.default_rng([seed, 1])
    words = _words(prompt)
    text = " ".join(re.findall(r"[a-z]+", prompt.lower()))
    elements = {name for name, keys in ELEMENT_WORDS.items() if words & set(keys)}
    time_of_day = next((name for name, keys in TIME_WORDS.items() if words & set(keys)), None)
    camera = next((name for name, phrases in CAMERA_PHRASES.items() if any(_has_phrase(text, p) for p in phrases)),
                  None)
    if not image:
        if "boat" in elements:
            elements.add("sea")
        if not elements & set(LANDSCAPES):
            elements.update(DEFAULT_LANDSCAPES[int(rng.integers(len(DEFAULT_LANDSCAPES)))])
        if time_of_day != "night" and not elements & {"rain", "snow"} and rng.random() < 0.6:
            elements.add("clouds")
        if elements & {"rain", "snow"}:
            elements.add("clouds")
        time_of_day = time_of_day or str(rng.choice(["day", "day", "sunset", "sunrise"]))
        camera = camera or str(rng.choice(["pan_right", "pan_left", "zoom_in", "zoom_out"]))
    else:
        time_of_day = time_of_day or "day"
        camera = camera or "zoom_in"
    return Scene(time_of_day=time_of_day, elements=frozenset(elements), camera=camera)
