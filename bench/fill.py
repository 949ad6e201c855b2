"""Frame fill quality: rebuild dropped frames of real footage, DIS optical flow against repeat and cross-fade.

Real camera clips from ../shared/data (never-GIF sources first, spread over sources). From each clip's first
frames, every frame between two kept ones (one kept every GAP frames) is rebuilt by each method and compared
with the true frame: PSNR and SSIM (scikit-image), plus time per rebuilt frame. All methods see the same
frames in the same run.

Usage: .venv/bin/python bench/fill.py [--clips N] [--frames N] [--gap 2,4]
"""

from __future__ import annotations

import argparse
import csv
import time
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from generator.fill import FlowInterpolator, blend_frames, repeat_frames
from provenance import media

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
BASELINES = {"repeat (baseline)": repeat_frames, "cross-fade (baseline)": blend_frames}


def select_clips(count: int) -> list[Path]:
    """Real clips, one source at a time in turn, so no single source dominates."""
    with open(DATA / "clips.csv") as table:
        rows = [r for r in csv.DictReader(table) if r["label"] == "real"]
    by_source: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_source[row["source"]].append(row)
    picked: list[Path] = []
    while len(picked) < count and any(by_source.values()):
        for source in sorted(by_source):
            if by_source[source] and len(picked) < count:
                picked.append(DATA / by_source[source].pop(0)["path"])
    return picked


def first_frames(path: Path, count: int) -> list[np.ndarray]:
    frames = []
    for frame in media.iter_frames(path):
        frames.append(frame)
        if len(frames) == count:
            break
    return frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=24)
    parser.add_argument("--frames", type=int, default=33, help="frames read from the start of each clip")
    parser.add_argument("--gap", default="2,4", help="keep one frame in GAP; comma-separated list")
    args = parser.parse_args()
    methods = {**BASELINES, "DIS flow, fast preset (ours, default)": FlowInterpolator(),
               "DIS flow, medium preset": FlowInterpolator(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)}
    clips = select_clips(args.clips)
    for gap in (int(g) for g in args.gap.split(",")):
        scores: dict[str, dict[str, list[float]]] = {m: defaultdict(list) for m in methods}
        rebuilt = 0
        for clip in clips:
            frames = first_frames(clip, args.frames)
            fractions = [k / gap for k in range(1, gap)]
            for start in range(0, len(frames) - gap, gap):
                truth = frames[start + 1:start + gap]
                for name, method in methods.items():
                    began = time.perf_counter()
                    made = method(frames[start], frames[start + gap], fractions)
                    scores[name]["ms"].append(1000 * (time.perf_counter() - began) / len(truth))
                    for real, guess in zip(truth, made, strict=True):
                        scores[name]["psnr"].append(peak_signal_noise_ratio(real, guess, data_range=255))
                        scores[name]["ssim"].append(structural_similarity(real, guess, channel_axis=2,
                                                                          data_range=255))
                rebuilt += len(truth)
        print(f"\n### gap {gap}: {gap - 1} of every {gap} frames dropped; {rebuilt} frames rebuilt "
              f"from {len(clips)} real clips\n")
        print("| method | PSNR (dB) | SSIM | ms / frame | PSNR vs cross-fade |")
        print("|---|---|---|---|---|")
        fade = np.mean(scores["cross-fade (baseline)"]["psnr"])
        for name, score in scores.items():
            psnr = np.mean(score["psnr"])
            print(f"| {name} | {psnr:.2f} | {np.mean(score['ssim']):.3f} | {np.mean(score['ms']):.1f} | "
                  f"{psnr - fade:+.2f} dB |")


if __name__ == "__main__":
    main()
