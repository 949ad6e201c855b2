"""Other issuers' public marks (Stability AI's dwtDct): false positives on every sample clip, recall on clips
marked here, and the time verify spends reading them.

- False positives: `provenance.marks.read_clip` (what `provenance verify` runs: up to 32 frames spread over
  the clip) on every clip of ../shared/data/clips.csv. None of those generators embeds the mark, so any
  clip-level "very-likely" is a false positive, and so is a clip that would be called ai-generated.
- Recall: clips of the sample data (one per source in turn, at least 32 frames), scaled to 720p height,
  their first 32 frames marked with invisible-watermark's own encoder on float pixels as SDXL and SVD do
  (the `bench` extra installs it), then read as stamped (no codec), as saved (H.264 CRF 18) and after
  re-encoding at CRF 23 and 28 (`provenance.attacks.reencode`).
- Time: wall seconds per clip of `read_clip` (decoding the spread frames included), and on one 10-second
  720p clip.

Usage: .venv/bin/python bench/other_marks.py [--marked N] [--no-unmarked]
Derived clips are cached under bench/.cache/other_marks/.
"""

from __future__ import annotations

import argparse
import csv
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np

from provenance import attacks, marks, media
from provenance.marks import stability

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
CACHE = Path(__file__).resolve().parent / ".cache" / "other_marks"
MARKED_FRAMES = 32
HEIGHT_PX = 720
LONG_CLIP_SECONDS = 10
BIT_BANDS = ((0, 27), (28, 33), (34, 35), (36, 48))  # Stability's none, partial, likely, very likely per frame
REENCODES = {"saved (CRF 18)": 18, "H.264 CRF 23": 23, "H.264 CRF 28": 28}


@dataclass
class Row:
    """What one group of clips read as."""

    name: str
    matches: list[int] = field(default_factory=list)  # matching bits of every frame read
    states: Counter = field(default_factory=Counter)
    seconds: list[float] = field(default_factory=list)
    clips: int = 0
    very_likely: list[int] = field(default_factory=list)  # frames at "very likely", clip by clip

    def add(self, frames: list[np.ndarray] | list[av.VideoFrame], seconds: float | None = None) -> None:
        [reading] = marks.read_frames(frames)
        self.clips += 1
        self.states[reading.state] += 1
        self.very_likely.append(reading.marked_frames)
        self.matches += [stability.matching_bits(frame) for frame in frames
                         if stability.frame_pixels(frame) >= stability.MIN_FRAME_PIXELS]
        if seconds is not None:
            self.seconds.append(seconds)

    def line(self) -> str:
        bits = np.asarray(self.matches)
        bands = "  ".join(f"{int(((bits >= low) & (bits <= high)).sum()):5d}" for low, high in BIT_BANDS)
        spread = f"{bits.min():3d} {int(np.median(bits)):3d} {bits.max():3d}" if len(bits) else "  -   -   -"
        states = "  ".join(f"{self.states[state]:4d}" for state in marks.STATES)
        timing = f"{np.mean(self.seconds):7.3f}" if self.seconds else "      -"
        return f"{self.name:22s} {self.clips:5d} {len(bits):6d}  {spread}  {bands}  {states}  {timing}"


def header() -> str:
    bands = "  ".join(f"{f'{low}-{high}':>5s}" for low, high in BIT_BANDS)
    states = "  ".join(f"{state[:4]:>4s}" for state in marks.STATES)
    return (f"{'clips':22s} {'n':>5s} {'frames':>6s}  min med max  {bands}  {states}  {'s/clip':>7s}\n"
            f"{'':22s} {'':5s} {'':6s}  {'matching bits per frame':^11s}  {'frames by matching bits':^33s}  "
            f"{'clip states':^24s}")


def read_timed(path: Path) -> tuple[list[av.VideoFrame], float]:
    """The frames verify reads from a clip, and the wall seconds of reading them (decode included)."""
    started = time.perf_counter()
    frames = [frame for _, frame in media.iter_spread_video_frames(path, marks.MAX_FRAMES)]
    marks.read_frames(frames)
    return frames, time.perf_counter() - started


def unmarked(table: list[dict]) -> list[Row]:
    rows = {label: Row(f"unmarked {label}") for label in ("real", "generated")}
    for entry in table:
        frames, seconds = read_timed(DATA / entry["path"])
        rows[entry["label"]].add(frames, seconds)
    return list(rows.values())


def stamp(clip: attacks.Clip) -> attacks.Clip:
    """Stability's mark on every frame, by invisible-watermark's encoder on float pixels (as SDXL and SVD)."""
    from imwatermark import WatermarkEncoder

    encoder = WatermarkEncoder()
    encoder.set_watermark("bits", stability.message_bits().astype(int).tolist())
    frames = [encoder.encode(frame[:, :, ::-1].astype(np.float32), "dwtDct")[:, :, ::-1] for frame in clip.frames]
    return attacks.Clip([np.clip(np.rint(frame), 0, 255).astype(np.uint8) for frame in frames], clip.fps)


def recall_sources(table: list[dict], count: int) -> list[dict]:
    """`count` clips of at least MARKED_FRAMES frames, one per source in turn."""
    by_source: dict[str, list[dict]] = {}
    for entry in table:
        if int(entry["frames"]) >= MARKED_FRAMES:
            by_source.setdefault(entry["source"], []).append(entry)
    picked: list[dict] = []
    while len(picked) < count and any(by_source.values()):
        picked += [clips.pop(0) for clips in by_source.values() if clips][: count - len(picked)]
    return picked


def marked(table: list[dict], count: int) -> list[Row]:
    rows = [Row("marked, as stamped"), *(Row(f"marked, {name}") for name in REENCODES)]
    CACHE.mkdir(parents=True, exist_ok=True)
    for entry in recall_sources(table, count):
        source = attacks.Clip.read(DATA / entry["path"], MARKED_FRAMES)
        stamped = stamp(attacks.scale_to_height(HEIGHT_PX)(source))
        rows[0].add(stamped.frames)
        saved = CACHE / f"{Path(entry['path']).stem}-{entry['source']}-crf18.mp4"
        if not saved.exists():
            stamped.write(saved, crf=REENCODES["saved (CRF 18)"])
        rows[1].add(*read_timed(saved))
        for row, crf in zip(rows[2:], list(REENCODES.values())[1:], strict=True):
            path = saved.with_name(saved.name.replace("crf18", f"crf{crf}"))
            if not path.exists():
                attacks.reencode(crf=crf)(attacks.Clip.read(saved)).write(path, crf=0)
            row.add(*read_timed(path))
    return rows


def long_clip_seconds(table: list[dict]) -> float:
    """Wall seconds of reading one 10-second 720p clip (the longest real clip, scaled and looped to length)."""
    path = CACHE / f"long-{HEIGHT_PX}p.mp4"
    if not path.exists():
        entry = max((e for e in table if e["label"] == "real"), key=lambda e: float(e["seconds"]))
        source = attacks.scale_to_height(HEIGHT_PX)(attacks.Clip.read(DATA / entry["path"]))
        need = round(LONG_CLIP_SECONDS * source.fps)
        frames = [source.frames[i % len(source.frames)] for i in range(need)]
        attacks.Clip(frames, source.fps).write(path, crf=23)
    return read_timed(path)[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--marked", type=int, default=12, help="clips to mark for recall (0: none)")
    parser.add_argument("--no-unmarked", action="store_true", help="skip the false-positive run")
    args = parser.parse_args()
    with open(DATA / "clips.csv") as handle:
        table = list(csv.DictReader(handle))
    rows = ([] if args.no_unmarked else unmarked(table)) + (marked(table, args.marked) if args.marked else [])
    print(f"Stability AI dwtDct mark; a clip reaches a level on >= {marks.MIN_LEVEL_FRAMES} frames "
          f"(at most {marks.MAX_FRAMES} read per clip)\n")
    print(header())
    for row in rows:
        print(row.line())
    for row in rows[0 if args.no_unmarked else 2:]:
        print(f"{row.name}: very likely frames per clip {row.very_likely}")
    for row in rows[: 0 if args.no_unmarked else 2]:
        print(f"false positives, {row.name}: {row.states['very-likely']} of {row.clips} clips very likely")
    if args.marked:
        print(f"time to read one {LONG_CLIP_SECONDS} s {HEIGHT_PX}p clip: {long_clip_seconds(table):.2f} s")


if __name__ == "__main__":
    main()
