"""A trained detector: network + model card (calibration, threshold); scores clips into calibrated verdicts."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from detector.calibration import Calibration
from detector.distortions import AUGMENT_MIN_SIDE_PX
from detector.normalise import NORMALISATION_VERSION, Window, normalise
from provenance.errors import ModelError

REFERENCE_DIR = Path(__file__).resolve().parent / "reference"
WEIGHTS_NAME = "model.safetensors"
CARD_NAME = "model.json"
# Fine detail below this (grey residual RMS, 8-bit levels) is a blank or flat picture; every clip of the
# sample data holds at least 1.9 (generated) and 3.2 (real) in the matched form.
MIN_DETAIL_LEVELS = 1.0
# Colour below this (Cb and Cr spread, 8-bit levels) is a greyscale picture, whose colour statistics the model
# leans on are absent: greyed, the sample's real clips scored ai-generated in 2 of 3 cases (docs/detector.md);
# every real sample clip holds at least 1.9 in the matched form, and at least 0.9 at half its saturation.
MIN_COLOUR_LEVELS = 0.5
FRAME_STRIDE = 4  # score every fourth frame of the 8 fps window: 2 frames per second, 4 per clip


@dataclass
class ClipScore:
    """A clip's calibrated probability of being AI-generated, its verdict and per-frame scores."""

    path: str
    score: float
    verdict: str
    threshold: float
    model: str
    frames: list[tuple[float, float]] = field(default_factory=list)
    note: str | None = None  # why the verdict is not the score's, if it is not

    def to_dict(self) -> dict:
        return {
            "path": self.path,
            "score": self.score,
            "verdict": self.verdict,
            "threshold": self.threshold,
            "model": self.model,
            "frames": [{"time": round(t, 4), "score": s} for t, s in self.frames],
            "note": self.note,
        }


def input_spec(tile_px: int, representation: str) -> dict:
    """How frames reach the network; stored in the model card so scoring repeats it exactly."""
    return {
        "normalisation": NORMALISATION_VERSION,
        "frame_stride": FRAME_STRIDE,
        "tile_px": tile_px,
        "representation": representation,
        "representation_note": "native-resolution tiles; residual = RGB minus its 3x3 local mean",
        "pooling": "mean tile logit per frame, mean frame logit per clip",
        **({"temporal": "the whole window's temporal statistics beside every tile's"}
           if representation.endswith("+temporal") else {}),
    }


class Detector:
    """Scores clips with a trained network; `card` is the model card (JSON-serialisable dict)."""

    def __init__(self, net, card: dict) -> None:
        self.net_ = net
        self.card = card
        self.calibration = Calibration.from_dict(card.get("calibration", {}))

    @property
    def name(self) -> str:
        return f"{self.card.get('name', 'detector')}@{self.card.get('version', '0')}"

    @property
    def threshold(self) -> float:
        return self.calibration.threshold

    def frame_logits(self, window: np.ndarray) -> np.ndarray:
        """Raw logit of each scored frame (every `frame_stride`-th) of a normalised window's frames."""
        from detector.network import frame_logits

        return frame_logits(self.net_, window, self.card["input"]["tile_px"], self.card["input"]["frame_stride"])

    def score_window(self, path: str, window: Window) -> ClipScore:
        """Score an already normalised window of the clip at `path`."""
        stride = self.card["input"]["frame_stride"]
        logits = self.frame_logits(window.frames)
        score = float(self.calibration.probability(logits.mean()))
        times = window.times_s[::stride]
        per_frame = self.calibration.probability(logits)
        note = _outside_the_matched_form(window)
        verdict = "inconclusive" if note else self.calibration.verdict(score)
        return ClipScore(
            path=str(path), score=score, verdict=verdict, threshold=self.threshold, model=self.name,
            frames=[(float(t), float(s)) for t, s in zip(times, per_frame, strict=True)], note=note,
        )

    def score(self, path: str | os.PathLike) -> ClipScore:
        """Score one clip; an unreadable clip raises BadInput."""
        return self.score_window(str(path), normalise(path))

    def score_many(self, paths: Iterable[str | os.PathLike]) -> Iterator[ClipScore]:
        """Score clips in order, decoding the next clip while the network scores the current one."""
        paths = [str(p) for p in paths]
        with ThreadPoolExecutor(max_workers=1) as reader:
            pending = [reader.submit(normalise, p) for p in paths[:1]]
            for index, path in enumerate(paths):
                window = pending.pop(0).result()
                if index + 1 < len(paths):
                    pending.append(reader.submit(normalise, paths[index + 1]))
                yield self.score_window(path, window)

    def save(self, model_dir: str | os.PathLike) -> Path:
        """Write weights (safetensors) and the model card (JSON) into `model_dir`."""
        from detector.network import write_safetensors

        model_dir = Path(model_dir)
        model_dir.mkdir(parents=True, exist_ok=True)
        card = {**self.card, "calibration": self.calibration.to_dict(), "threshold": self.threshold}
        write_safetensors(self.net_.state_dict(), model_dir / f".{WEIGHTS_NAME}.part")
        os.chmod(model_dir / f".{WEIGHTS_NAME}.part", 0o644)  # shipped as package data: readable by all
        os.replace(model_dir / f".{WEIGHTS_NAME}.part", model_dir / WEIGHTS_NAME)
        (model_dir / f".{CARD_NAME}.part").write_text(json.dumps(card, indent=2) + "\n")
        os.replace(model_dir / f".{CARD_NAME}.part", model_dir / CARD_NAME)
        return model_dir


def _outside_the_matched_form(window: Window) -> str | None:
    """Why a window is unlike anything the matched form gives in training, if it is."""
    if window.source_side_px is not None and window.source_side_px < AUGMENT_MIN_SIDE_PX:
        return (f"frames {window.source_side_px} px on the short side: smaller than any the model was trained "
                f"on ({AUGMENT_MIN_SIDE_PX} px, rescaled copies included)")
    if window.detail_levels < MIN_DETAIL_LEVELS:
        return "the first seconds hold almost no detail (a blank or flat picture): nothing to judge"
    if window.colour_levels < MIN_COLOUR_LEVELS:
        return "the picture is greyscale: the colour statistics the model relies on are absent"
    return None


def read_card(model_dir: Path) -> dict:
    """The model card of a model folder."""
    path = model_dir / CARD_NAME
    if not path.is_file():
        raise ModelError(f"{model_dir}: no {CARD_NAME} model card (not a detector model folder)")
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{path}: unreadable model card ({exc})") from None
    if not isinstance(card, dict) or "backbone" not in card or "input" not in card:
        raise ModelError(f"{path}: model card lacks backbone/input")
    if card["input"].get("normalisation") != NORMALISATION_VERSION:
        raise ModelError(f"{path}: model expects normalisation {card['input'].get('normalisation')!r}, "
                         f"this library does {NORMALISATION_VERSION!r}")
    return card


def load(model_dir: str | os.PathLike | None = None, threads: int | None = None) -> Detector:
    """Load a detector folder (model.json + model.safetensors); None loads the shipped reference model.

    threads: CPU threads for torch (None keeps torch's default; 1 is fastest on a busy machine).
    """
    model_dir = Path(model_dir) if model_dir is not None else REFERENCE_DIR
    if not model_dir.is_dir():
        raise ModelError(f"{model_dir}: no such model folder")
    card = read_card(model_dir)  # a folder that is no model is refused before torch is imported (seconds)

    import torch

    from detector.network import build, load_weights

    if threads is not None:
        torch.set_num_threads(threads)
    net = build(card["backbone"], representation=card["input"].get("representation", "residual"))
    load_weights(net, model_dir / WEIGHTS_NAME)
    net.eval()
    return Detector(net, card)
