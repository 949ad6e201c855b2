"""A real video model from a local directory, through diffusers: LTX-Video (text, image, extend, keyframe fill)."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import cv2
import numpy as np

from generator.backends.base import Backend, ClipSpec, Frames
from provenance.errors import BadInput, ModelError

# every LTX-Video checkpoint has the same five components, so one conditioning pipeline serves them all
SUPPORTED_PIPELINES = ("LTXConditionPipeline", "LTXPipeline", "LTXImageToVideoPipeline")
DEFAULT_CHUNK_FRAMES = 121
DEFAULT_STEPS = 30
DEFAULT_GUIDANCE = 3.0
DEFAULT_MAX_PROMPT_TOKENS = 128
KEYFRAME_FILL_FPS = 24.0  # the rate the model is told for in-betweens (it only conditions motion speed)
DTYPES = ("float32", "bfloat16", "float16")
PIPELINE_SIZE_STEP_PX = 32  # LTXConditionPipeline wants width and height divisible by this
TILING_ABOVE_PIXELS = 512 * 512  # decode larger frames in VAE tiles to bound memory

StepCallback = Callable[[int, int], None]  # (denoising steps done, steps per chunk)


def read_pipeline_class(model_dir: Path) -> str:
    """The pipeline class a diffusers model directory declares, or ModelError when it is not a supported model."""
    if not model_dir.is_dir():
        raise ModelError(f"{model_dir}: not a model directory")
    index = model_dir / "model_index.json"
    if not index.is_file():
        raise ModelError(f"{model_dir}: not a diffusers model (no model_index.json)")
    try:
        name = json.loads(index.read_text())["_class_name"]
    except (ValueError, KeyError, TypeError):
        raise ModelError(f"{index}: unreadable model index") from None
    if name not in SUPPORTED_PIPELINES:
        supported = ", ".join(SUPPORTED_PIPELINES)
        raise ModelError(f"{model_dir}: {name} is not supported; use an LTX-Video model ({supported})")
    return name


def _resized(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    if frame.shape[:2] == (height, width):
        return frame
    return cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)


def _frames_to_uint8(video: np.ndarray) -> list[np.ndarray]:
    return [np.clip(frame * 255 + 0.5, 0, 255).astype(np.uint8) for frame in video]


class DiffusersBackend(Backend):
    """LTX-Video from a local directory, offline: dtype and device picked for the machine, long clips in chunks."""

    keyframe_fill = True

    def __init__(self, model_dir: str | os.PathLike, device: str | None = None, dtype: str | None = None,
                 steps: int = DEFAULT_STEPS, guidance_scale: float = DEFAULT_GUIDANCE,
                 chunk_frames: int = DEFAULT_CHUNK_FRAMES, max_prompt_tokens: int = DEFAULT_MAX_PROMPT_TOKENS,
                 on_step: StepCallback | None = None) -> None:
        model_dir = Path(model_dir)
        self.pipeline_class = read_pipeline_class(model_dir)
        os.environ["HF_HUB_OFFLINE"] = "1"  # before diffusers is imported: never reach for the network
        import torch
        from diffusers import LTXConditionPipeline
        from diffusers.utils import logging as diffusers_logging
        from transformers.utils import logging as transformers_logging

        for library in (diffusers_logging, transformers_logging):  # progress goes through on_step, not chatter
            library.set_verbosity_error()
            library.disable_progress_bar()
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        dtype = dtype or ("bfloat16" if self.device.startswith("cuda") else "float32")  # no fp16 on CPU
        if dtype not in DTYPES:
            raise BadInput(f"dtype must be one of {', '.join(DTYPES)}, not {dtype!r}")
        self.dtype = dtype
        try:
            self.pipe = LTXConditionPipeline.from_pretrained(model_dir, local_files_only=True,
                                                             dtype=getattr(torch, dtype))
        except Exception as exc:  # the loader's failures have many types; all mean the folder is not a usable model
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelError(f"{model_dir}: cannot load the model ({first_line})") from None
        self.pipe.to(self.device)
        self.pipe.set_progress_bar_config(disable=True)
        self.model = f"{model_dir.name} ({self.pipeline_class})"
        self.size_step = math.lcm(PIPELINE_SIZE_STEP_PX, int(self.pipe.vae_spatial_compression_ratio))
        self.temporal = int(self.pipe.vae_temporal_compression_ratio)
        self.context_frames = self.temporal + 1
        self.steps, self.guidance_scale, self.max_prompt_tokens = steps, guidance_scale, max_prompt_tokens
        self.chunk_frames = self._valid_length(max(chunk_frames, 2 * self.context_frames))
        self.on_step = on_step

    def describe(self) -> dict:
        return {"backend": "diffusers", "pipeline": self.pipeline_class, "steps": self.steps,
                "guidance_scale": self.guidance_scale, "device": self.device, "dtype": self.dtype}

    def _valid_length(self, frames: int) -> int:
        """The smallest frame count the model can make (k * temporal compression + 1) that is >= `frames`."""
        return max(1, math.ceil((frames - 1) / self.temporal)) * self.temporal + 1

    def _model_size(self, width: int, height: int) -> tuple[int, int]:
        step = self.size_step
        return max(step, round(width / step) * step), max(step, round(height / step) * step)

    def _run(self, prompt: str, width: int, height: int, frames: int, fps: float, seed: int, conditions=()
             ) -> list[np.ndarray]:
        import torch
        from diffusers.pipelines.ltx.pipeline_ltx_condition import LTXVideoCondition

        gen_width, gen_height = self._model_size(width, height)
        if gen_width * gen_height > TILING_ABOVE_PIXELS:
            self.pipe.vae.enable_tiling()
        else:
            self.pipe.vae.disable_tiling()
        callback = None
        if self.on_step:
            def callback(pipe, step, timestep, tensors):
                self.on_step(step + 1, self.steps)
                return tensors
        conditioned = [LTXVideoCondition(**{kind: self._to_pil(value, gen_width, gen_height)}, frame_index=index)
                       for kind, value, index in conditions]
        with torch.inference_mode():
            output = self.pipe(
                conditions=conditioned or None, prompt=prompt or "", width=gen_width, height=gen_height,
                num_frames=frames, frame_rate=round(fps), num_inference_steps=self.steps,
                guidance_scale=self.guidance_scale, max_sequence_length=self.max_prompt_tokens, output_type="np",
                generator=torch.Generator(device="cpu").manual_seed(seed), callback_on_step_end=callback,
            ).frames[0]
        return [_resized(frame, width, height) for frame in _frames_to_uint8(np.asarray(output))]

    @staticmethod
    def _to_pil(value: np.ndarray | Sequence[np.ndarray], width: int, height: int):
        from PIL import Image

        def one(frame: np.ndarray):
            return Image.fromarray(_resized(frame, width, height))

        return one(value) if isinstance(value, np.ndarray) else [one(f) for f in value]

    def _chunks(self, prompt: str, spec: ClipSpec, seed: int, first_conditions, context: list[np.ndarray] | None
                ) -> Frames:
        """Frames in chunks; each chunk after the first continues from the previous chunk's last frames."""
        remaining = spec.frame_count
        chunk_index = 0
        while remaining > 0:
            overlap = len(context) if context else 0
            length = self._valid_length(min(self.chunk_frames, remaining + overlap))
            conditions = [("video", context, 0)] if context else list(first_conditions)
            made = self._run(prompt, spec.width, spec.height, length, spec.fps, seed + chunk_index, conditions)
            new = made[overlap:][:remaining]
            yield from new
            remaining -= len(new)
            context = made[-self.context_frames:]
            chunk_index += 1

    def text_to_video(self, prompt: str, spec: ClipSpec, seed: int) -> Frames:
        return self._chunks(prompt, spec, seed, (), None)

    def image_to_video(self, image: np.ndarray, prompt: str, spec: ClipSpec, seed: int) -> Frames:
        return self._chunks(prompt, spec, seed, [("image", image, 0)], None)

    def extend(self, context: Sequence[np.ndarray], prompt: str, spec: ClipSpec, seed: int) -> Frames:
        if not context:
            raise BadInput("extend needs at least one frame of the clip")
        return self._chunks(prompt, spec, seed, (), self._aligned_context(list(context)))

    def _aligned_context(self, context: list[np.ndarray]) -> list[np.ndarray]:
        """A context of k * temporal + 1 frames (the clip's last ones), as the video condition requires."""
        usable = (len(context) - 1) // self.temporal * self.temporal + 1
        return context[-usable:]

    def fill_between(self, first: np.ndarray, last: np.ndarray, fractions: Sequence[float], prompt: str, seed: int
                     ) -> list[np.ndarray]:
        length = self._valid_length(max(len(fractions) + 2, self.temporal + 1))
        height, width = first.shape[:2]
        made = self._run(prompt, width, height, length, KEYFRAME_FILL_FPS, seed,
                         [("image", first, 0), ("image", last, length - 1)])
        return [made[round(t * (length - 1))] for t in fractions]
