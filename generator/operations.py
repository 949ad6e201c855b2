"""The four operations (text-to-video, image-to-video, extend, fill), each writing only through the stamper."""

from __future__ import annotations

import collections
import os
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import cv2
import numpy as np

from generator.backends import Backend, ClipSpec, create_backend
from generator.backends.base import MAX_FPS
from generator.fill import FlowInterpolator, nominal_interval_s, retime
from provenance import media
from provenance.errors import BadInput
from provenance.signing import Generation, Ingredient, SignResult, Stamper

Progress = Callable[[int], None]
FILL_METHODS = ("auto", "flow", "model")
DEFAULT_IMAGE_LONG_SIDE_PX = 1280


def read_image(path: str | os.PathLike) -> np.ndarray:
    """An image file as RGB uint8, or a clear error; its size is checked before any pixel is decoded."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise BadInput(f"{path}: no such image file")
    unreadable = (UnidentifiedImageError, OSError, ValueError)
    try:
        image = Image.open(path)
    except Image.DecompressionBombError:
        raise BadInput(f"{path}: image is too large") from None
    except unreadable:
        raise BadInput(f"{path}: not a readable image") from None
    with image:
        width, height = image.size
        limit = media.DEFAULT_LIMITS.max_pixels
        if width * height > limit:
            raise BadInput(f"{path}: {width}x{height} is over the limit of {limit} pixels")
        try:
            return np.asarray(image.convert("RGB"))
        except unreadable:
            raise BadInput(f"{path}: not a readable image") from None


def spec_for_image(image: np.ndarray, fps: float, seconds: float) -> ClipSpec:
    """A clip shape that keeps the image's aspect ratio, no larger than 1280 px on its long side."""
    height, width = image.shape[:2]
    scale = min(1.0, DEFAULT_IMAGE_LONG_SIDE_PX / max(height, width))
    return ClipSpec(_even(width * scale), _even(height * scale), fps, seconds)


def _even(size_px: float) -> int:
    return max(16, int(size_px) // 2 * 2)


class Generator:
    """One backend and one stamper: every clip it makes leaves watermarked, signed and recorded in the ledger."""

    def __init__(self, backend: str | os.PathLike | Backend = "procedural", home: str | os.PathLike | None = None,
                 stamper: Stamper | None = None, include_prompt: bool = False, **backend_options) -> None:
        self.backend = create_backend(backend, **backend_options)
        self._owns_stamper = stamper is None
        self.stamper = stamper or Stamper(home)
        self.include_prompt = include_prompt

    def close(self) -> None:
        if self._owns_stamper:
            self.stamper.close()

    def __enter__(self) -> Generator:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def text_to_video(self, prompt: str, output: str | os.PathLike, spec: ClipSpec | None = None, seed: int = 0,
                      progress: Progress | None = None) -> SignResult:
        """A clip of the scene `prompt` describes."""
        _check_seed(seed)
        if not prompt.strip():
            raise BadInput("text-to-video needs a prompt")
        spec = spec or ClipSpec()
        frames = self.backend.text_to_video(prompt, spec, seed)
        return self._stamp(frames, output, spec.fps, "text_to_video", prompt, seed, spec.to_dict(), (), progress)

    def image_to_video(self, image: str | os.PathLike, prompt: str, output: str | os.PathLike,
                       spec: ClipSpec | None = None, seed: int = 0, progress: Progress | None = None) -> SignResult:
        """A clip that starts from the still `image` and brings it to life; the image is recorded as an ingredient."""
        _check_seed(seed)
        pixels = read_image(image)
        spec = spec or spec_for_image(pixels, ClipSpec.fps, ClipSpec.seconds)
        frames = self.backend.image_to_video(pixels, prompt, spec, seed)
        return self._stamp(frames, output, spec.fps, "image_to_video", prompt, seed, spec.to_dict(),
                           [Ingredient(Path(image), "inputTo")], progress)

    def extend(self, clip: str | os.PathLike, seconds: float, prompt: str, output: str | os.PathLike, seed: int = 0,
               progress: Progress | None = None) -> SignResult:
        """The whole of `clip` followed by `seconds` of new frames that continue it; the clip is the parent."""
        _check_seed(seed)
        info = media.probe(clip)
        fps = info.fps or ClipSpec.fps
        spec = ClipSpec(max(16, info.width), max(16, info.height), fps, seconds)
        frames = self._extended(clip, spec, prompt, seed)
        parameters = {**spec.to_dict(), "source_frames": info.frame_count}
        return self._stamp(frames, output, fps, "extend", prompt, seed, parameters,
                           [Ingredient(Path(clip), "parentOf")], progress)

    def _extended(self, clip: str | os.PathLike, spec: ClipSpec, prompt: str, seed: int) -> Iterator[np.ndarray]:
        context: collections.deque[np.ndarray] = collections.deque(maxlen=self.backend.context_frames)
        parent = self.stamper.existing_mark(clip)
        for frame in media.iter_frames(clip):
            frame = parent.remove_rgb(frame) if parent else frame
            context.append(frame)
            yield frame
        for frame in self.backend.extend(list(context), prompt, spec, seed):
            yield _match_size(frame, context[-1].shape)

    def fill(self, clip: str | os.PathLike, output: str | os.PathLike, fps: float | None = None,
             method: str = "auto", prompt: str = "", seed: int = 0, progress: Progress | None = None) -> SignResult:
        """Restore dropped frames (at the clip's own rate) or raise the rate to `fps`; the clip is the parent.

        method: "flow" (optical-flow interpolation), "model" (the backend's keyframe fill) or "auto" (the model's
        when it has one).
        """
        _check_seed(seed)
        if method not in FILL_METHODS:
            raise BadInput(f"fill method must be one of {FILL_METHODS}, not {method!r}")
        use_model = method == "model" or (method == "auto" and self.backend.keyframe_fill)
        interpolate = partial(self._model_fill, prompt=prompt, seed=seed) if use_model else FlowInterpolator()
        times = media.frame_times(clip)
        source_fps = 1.0 / nominal_interval_s(times)
        target_fps = fps or source_fps
        if not 1 <= target_fps <= MAX_FPS:
            raise BadInput(f"frame rate {target_fps} is outside 1 .. {MAX_FPS}")
        parent = self.stamper.existing_mark(clip)
        unmarked = ((t, parent.remove_rgb(frame) if parent else frame) for t, frame in media.iter_timed_frames(clip))
        frames = retime(unmarked, target_fps, interpolate)
        parameters = {"fps": round(target_fps, 4), "source_fps": round(source_fps, 4), "source_frames": len(times),
                      "method": "model" if use_model else "optical-flow"}
        return self._stamp(frames, output, target_fps, "fill", prompt or None, seed, parameters,
                           [Ingredient(Path(clip), "parentOf")], progress)

    def _model_fill(self, first: np.ndarray, last: np.ndarray, fractions, prompt: str, seed: int) -> list[np.ndarray]:
        return [_match_size(f, first.shape) for f in self.backend.fill_between(first, last, fractions, prompt, seed)]

    def _stamp(self, frames, output, fps: float, operation: str, prompt: str | None, seed: int, parameters: dict,
               ingredients, progress: Progress | None) -> SignResult:
        generation = Generation(model=self.backend.model, operation=operation, seed=seed,
                                parameters={**parameters, **self.backend.describe()}, prompt=prompt or None,
                                include_prompt=self.include_prompt)
        return self.stamper.sign_frames(frames, output, fps=fps, generation=generation, ingredients=ingredients,
                                        progress=progress)


def _check_seed(seed: int) -> None:
    if seed < 0:  # numpy's generators, which the backends seed, take no negative seed
        raise BadInput(f"seed {seed} must not be negative")


def _match_size(frame: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    if frame.shape[:2] == shape[:2]:
        return frame
    return cv2.resize(frame, (shape[1], shape[0]), interpolation=cv2.INTER_AREA)


def text_to_video(prompt: str, output: str | os.PathLike, *, backend: str | os.PathLike | Backend = "procedural",
                  home: str | os.PathLike | None = None, **options) -> SignResult:
    """One call: generate and stamp a clip from a prompt (see `Generator.text_to_video`)."""
    with Generator(backend, home) as generator:
        return generator.text_to_video(prompt, output, **options)


def image_to_video(image: str | os.PathLike, prompt: str, output: str | os.PathLike, *,
                   backend: str | os.PathLike | Backend = "procedural", home: str | os.PathLike | None = None,
                   **options) -> SignResult:
    """One call: animate a still image and stamp the clip (see `Generator.image_to_video`)."""
    with Generator(backend, home) as generator:
        return generator.image_to_video(image, prompt, output, **options)


def extend(clip: str | os.PathLike, seconds: float, prompt: str, output: str | os.PathLike, *,
           backend: str | os.PathLike | Backend = "procedural", home: str | os.PathLike | None = None,
           **options) -> SignResult:
    """One call: continue a clip by `seconds` and stamp the result (see `Generator.extend`)."""
    with Generator(backend, home) as generator:
        return generator.extend(clip, seconds, prompt, output, **options)


def fill(clip: str | os.PathLike, output: str | os.PathLike, *, backend: str | os.PathLike | Backend = "procedural",
         home: str | os.PathLike | None = None, **options) -> SignResult:
    """One call: restore missing frames or raise the frame rate, and stamp the result (see `Generator.fill`)."""
    with Generator(backend, home) as generator:
        return generator.fill(clip, output, **options)
