"""The interface every generator backend implements, and the clip shape it is asked for."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from provenance.errors import BadInput, ModelError

MAX_WIDTH = 3840
MAX_HEIGHT = 2160
MAX_SECONDS = 600.0
MAX_FPS = 120.0

Frames = Iterator[np.ndarray]


@dataclass(frozen=True)
class ClipSpec:
    """Size, rate and length of a clip to generate."""

    width: int = 1280
    height: int = 720
    fps: float = 24.0
    seconds: float = 4.0

    def __post_init__(self) -> None:
        if not (16 <= self.width <= MAX_WIDTH and 16 <= self.height <= MAX_HEIGHT):
            raise BadInput(f"size {self.width}x{self.height} is outside 16x16 .. {MAX_WIDTH}x{MAX_HEIGHT}")
        if not 1 <= self.fps <= MAX_FPS:
            raise BadInput(f"frame rate {self.fps} is outside 1 .. {MAX_FPS}")
        if not 0 < self.seconds <= MAX_SECONDS:
            raise BadInput(f"length {self.seconds} s is outside 0 .. {MAX_SECONDS} s")

    @property
    def frame_count(self) -> int:
        return max(1, round(self.seconds * self.fps))

    def to_dict(self) -> dict:
        return {"width": self.width, "height": self.height, "fps": self.fps, "seconds": self.seconds}


class Backend(ABC):
    """Makes RGB frames (H, W, 3 uint8), lazily; never writes files (the operations stamp what it makes)."""

    #: the name recorded in the manifest as the generating model
    model: str
    #: how many of a clip's last frames `extend` wants to see
    context_frames: int = 1
    #: True when the model itself can make the frames between two keyframes (see `fill_between`)
    keyframe_fill: bool = False

    @abstractmethod
    def text_to_video(self, prompt: str, spec: ClipSpec, seed: int) -> Frames:
        """Frames of the scene the prompt describes."""

    @abstractmethod
    def image_to_video(self, image: np.ndarray, prompt: str, spec: ClipSpec, seed: int) -> Frames:
        """Frames that bring a still image to life, starting from it."""

    @abstractmethod
    def extend(self, context: Sequence[np.ndarray], prompt: str, spec: ClipSpec, seed: int) -> Frames:
        """New frames that continue a clip whose last frames are `context`; the context itself is not repeated."""

    def fill_between(self, first: np.ndarray, last: np.ndarray, fractions: Sequence[float], prompt: str, seed: int
                     ) -> list[np.ndarray]:
        """Frames at `fractions` (0..1) of the way from keyframe `first` to keyframe `last`."""
        raise ModelError(f"{self.model} cannot fill between keyframes; use optical-flow fill")

    def prompt_words(self, prompt: str, image: bool = False) -> dict[str, list[str]] | None:
        """The prompt's words this backend draws from ("used") and ignores ("unused"); None when it reads them all.

        `image`: the prompt goes with a still or a clip (image-to-video, extend).
        """
        return None

    def describe(self) -> dict:
        """Settings recorded in the manifest's generation parameters."""
        return {"backend": type(self).__name__}
