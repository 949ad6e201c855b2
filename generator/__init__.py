"""Make video (text-to-video, image-to-video, extend, fill) over pluggable backends; every clip leaves stamped."""

from generator.backends import BACKENDS, Backend, ClipSpec, create_backend, register_backend
from generator.operations import Generator, extend, fill, image_to_video, text_to_video

__all__ = [
    "BACKENDS",
    "Backend",
    "ClipSpec",
    "Generator",
    "create_backend",
    "extend",
    "fill",
    "image_to_video",
    "register_backend",
    "text_to_video",
]
