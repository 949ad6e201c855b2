"""Read a prompt into the scene the procedural renderer draws: time of day, landscape, weather, movers, camera."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

ANIMAL_WORDS = {  # a word -> the animal drawn for it
    "fox": "fox", "wolf": "wolf", "wolves": "wolf", "dog": "dog", "puppy": "dog", "puppies": "dog",
    "deer": "deer", "stag": "deer", "animal": "deer", "wildlife": "deer", "horse": "horse", "pony": "horse",
    "ponies": "horse", "cow": "cow", "cattle": "cow", "sheep": "sheep", "lamb": "sheep", "cat": "cat",
    "kitten": "cat", "rabbit": "rabbit", "bunny": "rabbit", "bunnies": "rabbit", "hare": "rabbit", "bear": "bear",
}
ELEMENT_WORDS = {  # an entry of several words is matched as a phrase
    "sea": ("sea", "ocean", "beach", "coast", "wave", "lake", "water", "harbor", "harbour", "bay", "shore"),
    "mountains": ("mountain", "peak", "alps", "hill", "valley", "ridge"),
    "city": ("city", "skyline", "town", "building", "downtown", "urban", "skyscraper", "street"),
    "forest": ("forest", "tree", "wood", "pine", "jungle"),
    "grass": ("grass", "grassy", "meadow", "field", "prairie", "lawn", "pasture", "savanna", "countryside"),
    "desert": ("desert", "dune", "sand", "sandy", "sahara"),
    "flowers": ("flower", "blossom", "tulip", "daisy", "daisies", "poppy", "poppies", "wildflower"),
    "clouds": ("cloud", "cloudy", "overcast", "storm", "stormy"),
    "rain": ("rain", "rainy", "raining", "storm", "stormy", "drizzle", "shower"),
    "snow": ("snow", "snowy", "snowing", "winter", "blizzard", "snowfall"),
    "neon": ("neon", "cyberpunk", "glowing sign", "neon sign"),
    "boat": ("boat", "ship", "sailboat", "yacht", "sail", "sailing"),
    "bird": ("bird", "gull", "seagull", "flock", "eagle"),
    "car": ("car", "traffic", "road", "highway", "driving"),
    "balloon": ("balloon", "hot air balloon", "hot air"),
    "animal": tuple(ANIMAL_WORDS),
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
LANDSCAPES = ("sea", "mountains", "city", "forest", "grass", "desert")
DEFAULT_LANDSCAPES = (("sea", "mountains"), ("mountains", "forest"), ("sea", "city"), ("sea",))
STILL_ELEMENTS = ("bird", "rain", "snow", "balloon")  # what is drawn over a still (image-to-video, extend)
# words that carry no subject of their own: never reported as left out
FILLER_WORDS = frozenset({
    "a", "an", "the", "of", "in", "on", "at", "over", "under", "through", "with", "and", "or", "by", "to", "from",
    "into", "onto", "across", "above", "below", "near", "beside", "behind", "around", "along", "its", "it", "their",
    "his", "her", "some", "very", "while", "as", "is", "are", "this", "that"})


@dataclass(frozen=True)
class Scene:
    """What to draw; every field is decided by the prompt, or by the seed where the prompt is silent."""

    time_of_day: str  # "day" | "sunset" | "sunrise" | "night"
    elements: frozenset[str]
    camera: str  # "static" | "pan_left" | "pan_right" | "zoom_in" | "zoom_out"
    animals: tuple[str, ...] = ()  # kinds from ANIMAL_WORDS, when elements has "animal"

    def has(self, element: str) -> bool:
        return element in self.elements

    def to_dict(self) -> dict:
        return {"time_of_day": self.time_of_day, "elements": sorted(self.elements), "camera": self.camera,
                "animals": list(self.animals)}


def _tokens(prompt: str) -> list[str]:
    return re.findall(r"[a-z]+", prompt.lower())


def _forms(word: str) -> set[str]:
    """A word and its singulars ("foxes" -> "foxe", "fox")."""
    return {word} | ({word[:-1]} if word.endswith("s") else set()) | ({word[:-2]} if word.endswith("es") else set())


def _words(prompt: str) -> set[str]:
    return set().union(*(_forms(token) for token in _tokens(prompt)))


def _has_phrase(text: str, phrase: str) -> bool:
    return re.search(rf"\b{re.escape(phrase)}\b", text) is not None


def _matched(keys, words: set[str], text: str) -> list[str]:
    """The entries of `keys` the prompt contains: single words among `words`, phrases in `text`."""
    return [key for key in keys if (_has_phrase(text, key) if " " in key else key in words)]


def _camera_phrases(text: str) -> tuple[str | None, list[str]]:
    """The camera move the prompt asks for (the first kind that matches) and the phrases that asked for it."""
    for name, phrases in CAMERA_PHRASES.items():
        found = [phrase for phrase in phrases if _has_phrase(text, phrase)]
        if found:
            return name, found
    return None, []


def prompt_words(prompt: str, image: bool = False) -> dict[str, list[str]]:
    """The prompt's words the renderer draws from ("used") and the ones it cannot draw ("unused"), in order.

    `image`: the prompt goes with a still (image-to-video, extend), over which only movers, night and camera count.
    """
    tokens = _tokens(prompt)
    words, text = _words(prompt), " ".join(tokens)
    elements = STILL_ELEMENTS if image else tuple(ELEMENT_WORDS)
    times = ("night",) if image else tuple(TIME_WORDS)
    matched = [key for name in elements for key in _matched(ELEMENT_WORDS[name], words, text)]
    matched += [key for name in times for key in _matched(TIME_WORDS[name], words, text)]
    matched += _camera_phrases(text)[1]
    drawn = {word for key in matched for word in key.split()}
    report: dict[str, list[str]] = {"used": [], "unused": []}
    for token in dict.fromkeys(tokens):
        if _forms(token) & drawn:
            report["used"].append(token)
        elif token not in FILLER_WORDS and len(token) > 1:
            report["unused"].append(token)
    return report


def parse_scene(prompt: str, seed: int, image: bool = False) -> Scene:
    """The scene a prompt describes; `image` means a still supplies the landscape, so only movers are added."""
    rng = np.random.default_rng([seed, 1])
    words = _words(prompt)
    text = " ".join(_tokens(prompt))
    elements = {name for name, keys in ELEMENT_WORDS.items() if _matched(keys, words, text)}
    time_of_day = next((name for name, keys in TIME_WORDS.items() if _matched(keys, words, text)), None)
    camera = _camera_phrases(text)[0]
    animals = tuple(dict.fromkeys(ANIMAL_WORDS[word] for word in _matched(ANIMAL_WORDS, words, text)))
    if "neon" in elements:
        time_of_day = time_of_day or "night"  # neon is drawn lit, and shows after dark
    if not image:
        if "boat" in elements:
            elements.add("sea")
        if "neon" in elements:
            elements.add("city")
        if "flowers" in elements or ("animal" in elements and "desert" not in elements):
            elements.add("grass")  # flowers grow, and animals walk, in the grass (or on the sand)
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
    return Scene(time_of_day=time_of_day, elements=frozenset(elements), camera=camera, animals=animals)
