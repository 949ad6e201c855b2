"""Procedural generation speed at 720p: rendering alone, rendering + plain H.264, and rendering + stamping.

The stamped run is the generator's real path (watermark, H.264, C2PA signature, ledger row); the plain
encode is the same frames written with no provenance at all. Ratios to the plain encode are the cost of
provenance. `--stills DIR` also writes one small PNG per operation (text, image, extend, fill).

Usage: .venv/bin/python bench/generate.py [--seconds 5] [--size 1280x720] [--stills docs/img]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from generator import ClipSpec, Generator, create_backend
from generator.fill import FlowInterpolator
from provenance import media
from provenance.keys import keygen

PROMPTS = ("a boat on the sea at sunset, birds", "snowy mountains and a forest, pan left",
           "a city skyline at night with cars, rain", "clouds over mountains and a lake at sunrise, zoom in")
STILL_PANEL_WIDTH_PX = 400
STILL_COLOURS = 256  # palette PNGs keep each still well under 150 KB


def timed(work: Callable[..., object], *args) -> float:
    began = time.perf_counter()
    work(*args)
    return time.perf_counter() - began


def render_only(backend, prompt: str, spec: ClipSpec) -> None:
    for _ in backend.text_to_video(prompt, spec, 0):
        pass


def render_and_encode(backend, prompt: str, spec: ClipSpec, path: Path) -> None:
    media.write_video(path, backend.text_to_video(prompt, spec, 0), spec.fps)


def measure(spec: ClipSpec, home: Path, folder: Path) -> None:
    backend = create_backend("procedural")
    frames = spec.frame_count
    rows = []
    with Generator(backend, home=home) as generator:
        for index, prompt in enumerate(PROMPTS):
            render = timed(render_only, backend, prompt, spec)
            plain = timed(render_and_encode, backend, prompt, spec, folder / f"plain{index}.mp4")
            stamped = timed(generator.text_to_video, prompt, folder / f"stamped{index}.mp4", spec)
            rows.append((prompt, frames / render, frames / plain, frames / stamped))
    print(f"\n### procedural text-to-video, {spec.width}x{spec.height}, {frames} frames per clip\n")
    print("| prompt | render only (fps) | render + H.264, no provenance (fps) | render + stamp (fps) "
          "| stamped time / plain time |")
    print("|---|---|---|---|---|")
    for prompt, render, plain, stamped in rows:
        print(f"| {prompt} | {render:.1f} | {plain:.1f} | {stamped:.1f} | {plain / stamped:.2f}x |")
    mean = np.mean([r[1:] for r in rows], axis=0)
    print(f"| mean | {mean[0]:.1f} | {mean[1]:.1f} | {mean[2]:.1f} | {mean[1] / mean[2]:.2f}x |")


def _small(image: np.ndarray) -> np.ndarray:
    height = round(image.shape[0] * STILL_PANEL_WIDTH_PX / image.shape[1])
    return cv2.resize(image, (STILL_PANEL_WIDTH_PX, height), interpolation=cv2.INTER_AREA)


def _save(path: Path, panels: list[np.ndarray]) -> None:
    from PIL import Image

    small = [_small(panel) for panel in panels]
    gap = np.full((small[0].shape[0], 4, 3), 255, np.uint8)
    row = np.hstack([part for panel in small for part in (panel, gap)][:-1])
    Image.fromarray(row).quantize(STILL_COLOURS, dither=Image.Dither.NONE).save(path, optimize=True)


def stills(folder: Path, work: Path, home: Path) -> None:
    """One picture per operation, from clips the generator made and stamped."""
    folder.mkdir(parents=True, exist_ok=True)
    spec = ClipSpec(640, 360, 24, 2)
    with Generator(home=home) as generator:
        text = generator.text_to_video("a boat on the sea at sunset, birds", work / "text.mp4", spec, seed=3).path
        source = list(media.iter_frames(text))
        _save(folder / "text_to_video.png", [source[len(source) // 2]])
        photo = work / "photo.png"
        scene = next(create_backend("procedural").text_to_video("a city by the sea at sunset", spec, seed=8))
        cv2.imwrite(str(photo), cv2.cvtColor(scene, cv2.COLOR_RGB2BGR))
        animated = generator.image_to_video(photo, "birds, rain, zoom in", work / "image.mp4", spec).path
        _save(folder / "image_to_video.png", [scene, list(media.iter_frames(animated))[-1]])
        extended = generator.extend(text, 2, "rain", work / "extend.mp4").path
        _save(folder / "extend.png", [source[-1], list(media.iter_frames(extended))[-1]])
    before, after = source[8], source[16]
    middle = FlowInterpolator()(before, after, [0.5])[0]
    _save(folder / "fill.png", [before, middle, after])
    for png in sorted(folder.glob("*.png")):
        print(f"{png}: {png.stat().st_size // 1024} KB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--stills", type=Path, help="also write one PNG per operation into this folder")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        keygen(work / "home")
        measure(ClipSpec(width, height, 24, args.seconds), work / "home", work)
        if args.stills:
            stills(args.stills, work, work / "home")


if __name__ == "__main__":
    main()
