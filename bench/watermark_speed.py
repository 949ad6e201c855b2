"""Watermark speed on real clips at 1080p: what embedding adds to decode+encode, and reading a 60 s clip.

- Overhead: `media.transcode` (decode, encode H.264 CRF 18, the same settings) against `watermark_clip`
  on a 4-second 1080p30 clip, in CPU seconds of this process (all threads), best of two runs, so other
  jobs on the machine do not distort the ratio; the time spent inside the embedder is shown apart.
- Long clip: `extract` on a 60-second 1080p30 H.264 (CRF 23) clip, marked and unmarked, wall time.

The footage is a real 720p camera clip from ../shared/data, scaled up to 1080p and looped back and
forth. Derived clips are cached under bench/.cache/. Usage: .venv/bin/python bench/watermark_speed.py
"""

from __future__ import annotations

import resource
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from provenance import media
from provenance.attacks import Clip
from provenance.watermark import Embedder, Payload, WatermarkKey, extract, watermark_clip

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
CACHE = Path(__file__).resolve().parent / ".cache"
SOURCE = DATA / "clips/real/stock-footage/videos_dance.mp4"
SIZE_1080P = (1920, 1080)
FPS = 30.0
OVERHEAD_SECONDS = 4
LONG_SECONDS = 60
SECRET = b"benchmark watermark secret 32 b"


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def footage(frame_count: int) -> list[np.ndarray]:
    """Real footage at 1080p, looped back and forth to the wanted length (frames are shared, not copied)."""
    frames = [cv2.resize(f, SIZE_1080P, interpolation=cv2.INTER_CUBIC) for f in Clip.read(SOURCE).frames]
    loop = frames + frames[-2:0:-1]
    return [loop[i % len(loop)] for i in range(frame_count)]


def cached_clip(name: str, frame_count: int, crf: int, embedder: Embedder | None) -> Path:
    path = CACHE / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        frames = footage(frame_count)
        marked = (embedder.embed_rgb(f, i) for i, f in enumerate(frames)) if embedder else iter(frames)
        media.write_video(path, marked, FPS, crf=crf, preset="veryfast")
    return path


def best_cpu(run: Callable[[], object], repeats: int = 2) -> float:
    times = []
    for _ in range(repeats):
        start = cpu_seconds()
        run()
        times.append(cpu_seconds() - start)
    return min(times)


def main() -> None:
    key, payload = WatermarkKey(SECRET), Payload.from_hex("00112233445566ff")
    embedder = Embedder(key, payload)
    source = cached_clip("1080p-4s.mp4", int(OVERHEAD_SECONDS * FPS), 16, None)
    with tempfile.TemporaryDirectory() as folder:
        plain = best_cpu(lambda: media.transcode(source, Path(folder) / "plain.mp4", pix_fmt="yuv420p"))
        marked = best_cpu(lambda: watermark_clip(source, Path(folder) / "marked.mp4", key, payload))
    yuv = [cv2.cvtColor(f, cv2.COLOR_RGB2YUV_I420) for f in footage(int(OVERHEAD_SECONDS * FPS))]
    inside = best_cpu(lambda: [embedder.embed_yuv420p(f, i) for i, f in enumerate(yuv)])
    print(f"1080p30, {OVERHEAD_SECONDS} s, H.264 CRF 18 preset medium (CPU seconds, best of 2)")
    print(f"  decode+encode {plain:6.1f}   watermark_clip {marked:6.1f}   ratio {marked / plain:5.2f}x "
          f"(+{marked / plain - 1:.0%}); inside the embedder {inside:.1f} s (+{inside / plain:.0%})")

    print(f"\nextract() on a {LONG_SECONDS} s 1080p30 H.264 CRF 23 clip (wall seconds)")
    for name, mark in (("marked", embedder), ("unmarked", None)):
        path = cached_clip(f"1080p-{LONG_SECONDS}s-{name}.mp4", int(LONG_SECONDS * FPS), 23, mark)
        start, start_cpu = time.perf_counter(), cpu_seconds()
        detection = extract(path, key)
        wall, cpu = time.perf_counter() - start, cpu_seconds() - start_cpu
        print(f"  {name:9s} {wall:6.1f} s wall, {cpu:6.1f} s CPU: {detection.state}, payload "
              f"{detection.payload.hex if detection.payload else None}, {detection.frames} frames used")


if __name__ == "__main__":
    main()
