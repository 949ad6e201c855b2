"""Normalised (and distorted) frame windows computed once per clip and kept on disk."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from detector.distortions import AUGMENT_VERSION, condition, random_platform_chain, run
from detector.normalise import NORMALISATION_VERSION, Window, normalise
from provenance.errors import BadInput

DEFAULT_CACHE_DIR = Path(os.environ.get("PROVENANCE_DETECTOR_CACHE", "/tmp/provenance-detector-cache"))
AUGMENT_PREFIX = "augment-"


def augment_variants(count: int) -> list[str]:
    """Names of `count` random platform-like variants per clip."""
    return [f"{AUGMENT_PREFIX}{k}" for k in range(count)]


def _key(path: str, variant: str) -> str:
    stat = Path(path).stat()
    recipe = f"{variant}:{AUGMENT_VERSION}" if variant.startswith(AUGMENT_PREFIX) else variant
    text = f"{Path(path).resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{NORMALISATION_VERSION}|{recipe}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _distortion(path: str, variant: str) -> Callable | None:
    if variant.startswith(AUGMENT_PREFIX):
        seed = int(hashlib.sha256(f"{Path(path).name}|{variant}".encode()).hexdigest()[:12], 16)
        rng = np.random.default_rng(seed)
        return lambda frames, fps: run(random_platform_chain(rng, min(frames.shape[1:3])), frames, fps)
    chosen = condition(variant)
    return None if chosen.name == "clean" else chosen.apply


def load_window(path: str, variant: str = "clean", cache_dir: Path = DEFAULT_CACHE_DIR) -> Window:
    """The clip's normalised window under `variant` (a condition name or an augment variant), cached."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    target = cache_dir / f"{_key(path, variant)}.npz"
    if target.exists():
        with np.load(target, allow_pickle=False) as stored:
            return Window(stored["times_s"], stored["frames"])
    window = normalise(path, _distortion(path, variant))
    partial = target.with_suffix(f".{os.getpid()}.part.npz")
    np.savez_compressed(partial, times_s=window.times_s, frames=window.frames)
    os.replace(partial, target)
    return window


def _warm(job: tuple[str, str, str]) -> str | None:
    path, variant, cache_dir = job
    try:
        load_window(path, variant, Path(cache_dir))
    except BadInput as exc:
        return str(exc)
    return None


def warm_cache(
    paths: Iterable[str], variants: Iterable[str], cache_dir: Path = DEFAULT_CACHE_DIR, workers: int = 1,
    progress: Callable[[int], None] | None = None,
) -> list[str]:
    """Compute every (clip, variant) window not yet cached; returns the errors of unreadable clips."""
    jobs = [(p, v, str(cache_dir)) for p in paths for v in variants]
    errors: list[str] = []
    if workers <= 1:
        results = map(_warm, jobs)
        for error in results:
            errors += [error] if error else []
            if progress:
                progress(1)
        return errors
    with ProcessPoolExecutor(workers) as pool:
        for error in pool.map(_warm, jobs, chunksize=4):
            errors += [error] if error else []
            if progress:
                progress(1)
    return errors
