"""Watermark robustness by resolution: H.264 at the size a clip was stamped, and a platform's smaller renditions.

The main table (watermark_robustness.py) stamps every clip at 720p. The evidence a frame carries grows with the
number of pixels that hold the mark, so smaller frames survive less compression. Here the same clips (its
720p copies, resized) are stamped at each height and encoded at H.264 CRF 18, then:
- "native": re-encoded at each CRF at that height;
- "rendition": stamped at the largest height, scaled down to the smaller height, then re-encoded (what a
  platform serving 480p or 360p does).
Each cell gives our exact-payload rate read blind, then through a ledger of 10,000 issued payloads (the
clips' own among them), then both methods' bit accuracy and their ratio. invisible-watermark's dwtDct marks
the same frames in the same run (frame by frame, majority vote, as in the main bench); it cannot mark or read frames
under 256 px on a side.

Usage: .venv/bin/python bench/watermark_resolution.py [--clips N] [--heights 240,360,480,720] [--crfs 23,28,33]
                                                      [--strength X]
"""

from __future__ import annotations

import argparse

import cv2
import numpy as np
from watermark_robustness import (
    MARKED_CRF,
    PAYLOAD_BITS,
    SECRET,
    DwtDct,
    Tally,
    bench_clip,
    issued_payloads,
    quality,
    select_clips,
)

from provenance.attacks import Attack, Clip, compose, reencode, scale_to_height
from provenance.watermark import Embedder, Payload, WatermarkKey, extract_frames, match_issued

DWTDCT_MIN_SIDE_PX = 256  # invisible-watermark refuses smaller frames


def resized(clip: Clip, height: int) -> Clip:
    """The clip at another height (even width, area filter), same frame rate."""
    source_height, source_width = clip.frames[0].shape[:2]
    size = (2 * round(source_width * height / source_height / 2), height)
    return Clip([cv2.resize(f, size, interpolation=cv2.INTER_AREA) for f in clip.frames], clip.fps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=12, help="number of clips (real first, ~1/4 generated)")
    parser.add_argument("--heights", default="240,360,480,720", help="stamping heights in px, ascending")
    parser.add_argument("--crfs", default="23,28,33", help="H.264 CRFs of the re-encode")
    parser.add_argument("--strength", type=float, default=1.0, help="watermark strength (1.0: the default)")
    args = parser.parse_args()
    heights = [int(h) for h in args.heights.split(",")]
    crfs = [int(c) for c in args.crfs.split(",")]
    key = WatermarkKey(SECRET)
    rng = np.random.default_rng(11)
    issued = issued_payloads()
    cases = [("native", h, c) for h in heights for c in crfs]
    cases += [("rendition", h, c) for h in heights[:-1] for c in crfs]
    ours: dict[tuple, Tally] = {case: Tally() for case in cases}
    ledger: dict[tuple, list[bool]] = {case: [] for case in cases}
    base: dict[tuple, Tally] = {case: Tally() for case in cases}
    quality_by_height: dict[int, list[tuple[float, float]]] = {height: [] for height in heights}
    for number, path in enumerate(select_clips(args.clips), 1):
        original = bench_clip(path)
        marked: dict[int, tuple[Payload, Clip, Clip]] = {}  # per stamping height: payload, ours, dwtDct
        for height in heights:
            payload = Payload(rng.bytes(PAYLOAD_BITS // 8))
            issued[(number - 1) * len(heights) + heights.index(height)] = payload
            clip, baseline = resized(original, height), DwtDct(payload.bits)
            embedder = Embedder(key, payload, args.strength)
            ours_frames = [embedder.embed_rgb(f, i) for i, f in enumerate(clip.frames)]
            quality_by_height[height].append(quality(clip.frames, ours_frames))
            encode = reencode("h264", MARKED_CRF, "medium")
            marked[height] = (
                payload,
                encode(Clip(ours_frames, clip.fps)),
                encode(Clip([baseline.embed_rgb(f, i) for i, f in enumerate(clip.frames)], clip.fps))
                if min(clip.frames[0].shape[:2]) >= DWTDCT_MIN_SIDE_PX else None,
            )
        for kind, height, crf in cases:
            stamped_at = height if kind == "native" else heights[-1]
            payload, ours_clip, base_clip = marked[stamped_at]
            attack: Attack = reencode("h264", crf) if kind == "native" else compose(
                scale_to_height(height), reencode("h264", crf))
            detection = extract_frames(attack(ours_clip).frames, key)
            ours[(kind, height, crf)].add(detection.raw_bits, payload.bits, detection.payload == payload,
                                         detection.detected)
            ledger[(kind, height, crf)].append(match_issued(detection, key, issued).payload == payload)
            attacked = attack(base_clip).frames if base_clip is not None else []
            if attacked and min(attacked[0].shape[:2]) >= DWTDCT_MIN_SIDE_PX:
                bits = DwtDct(payload.bits).read_bits(attacked)
                base[(kind, height, crf)].add(bits, payload.bits, bool(np.all(bits == payload.bits)), False)
        print(f"[{number}/{args.clips}] {path.parent.name}/{path.name}", flush=True)

    print(f"\nExact payload and bit accuracy by resolution, {args.clips} clips (first 3 s), strength {args.strength}; "
          f"stamped clips encoded at H.264 CRF {MARKED_CRF}, then re-encoded. Rendition: stamped at {heights[-1]}p, "
          "scaled down, re-encoded.")
    for height, values in quality_by_height.items():
        psnr, ssim = np.array(values).T
        print(f"  stamped at {height}p: PSNR {psnr.mean():.2f} dB (min {psnr.min():.2f}), SSIM {ssim.mean():.4f} "
              f"(min {ssim.min():.4f})")
    print(f"{'case':24s} | {'ours: exact':>11s} {'ledger':>6s} {'bit acc':>7s} | {'dwtDct: bit acc':>15s} | ratio")
    print("-" * 80)
    for case in cases:
        kind, height, crf = case
        bit_accuracy, exact, _ = ours[case].row()
        label = f"{kind} {height}p CRF {crf}"
        if base[case].bit_accuracy:
            base_accuracy = base[case].row()[0]
            baseline = f"{base_accuracy:15.3f} | {bit_accuracy / max(base_accuracy, 1e-9):4.2f}x"
        else:
            baseline = f"{'too small':>15s} |"
        print(f"{label:24s} | {exact:11.2f} {np.mean(ledger[case]):6.2f} {bit_accuracy:7.3f} | {baseline}")


if __name__ == "__main__":
    main()
