"""Generator backends by name: a registry of factories, so a new backend is added (and tested) by registering it."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from generator.backends.base import Backend, ClipSpec
from provenance.errors import BadInput

__all__ = ["BACKENDS", "Backend", "ClipSpec", "create_backend", "register_backend"]

BackendFactory = Callable[..., Backend]
BACKENDS: dict[str, BackendFactory] = {}


def register_backend(name: str, factory: BackendFactory) -> None:
    """Make `create_backend(name, **options)` call `factory(**options)`."""
    BACKENDS[name] = factory


def create_backend(name_or_path: str | os.PathLike | Backend, **options) -> Backend:
    """A backend from a registered name, or from a local model directory (loaded with diffusers)."""
    if isinstance(name_or_path, Backend):
        return name_or_path
    key = str(name_or_path)
    if key in BACKENDS:
        return BACKENDS[key](**options)
    if Path(key).is_dir():
        return BACKENDS["diffusers"](model_dir=key, **options)
    raise BadInput(f"unknown backend {key!r}: use one of {', '.join(sorted(BACKENDS))} or a model directory")


def _procedural(**options) -> Backend:
    from generator.backends.procedural import ProceduralBackend

    return ProceduralBackend(**options)


def _diffusers(model_dir: str | os.PathLike | None = None, **options) -> Backend:
    if model_dir is None:
        raise BadInput("the diffusers backend loads a model from a local folder: give that folder as the backend "
                       "(Generator('/models/ltx-video')) or as model_dir")
    from generator.backends.diffusers_backend import DiffusersBackend

    return DiffusersBackend(model_dir, **options)


register_backend("procedural", _procedural)
register_backend("diffusers", _diffusers)
