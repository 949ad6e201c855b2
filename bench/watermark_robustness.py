"""Watermark robustness, quality, speed and false positives, with invisible-watermark's dwtDct side by side.

Clips come from ../shared/data (real camera clips first, then a few generated ones), cut to their first
3 seconds and, since most are small (median ~500 px wide), scaled up to 720p height before marking.
Both methods mark the same frames with the same 64-bit payload; the marked clip is encoded once
(H.264 CRF 18, as `watermark_clip` does), then every attack of `provenance.attacks.ATTACKS` is applied.

- ours: `extract_frames` on the attacked frames. Bit accuracy counts the decoder's 64 payload bits
  before the check; "exact" needs the check bits to pass; "detected" means p <= 1e-6. "ledger": exact
  payload once `match_issued` has also tried the clip against a ledger of 10,000 issued payloads (the
  clips' own among them), as `provenance verify` does when the blind decode fails. The unmarked clips and
  frames of the false-positive checks are matched against the same ledger.
- dwtDct: decoded per frame from up to 16 evenly spaced frames, majority vote per bit (its own video
  aggregation). "Detected" means at least as many matching bits as a binomial test at 1e-6 requires.

Usage: .venv/bin/python bench/watermark_robustness.py [--clips N] [--null N] [--attacks a,b,...]
Derived clips are cached under bench/.cache/.
"""

from __future__ import annotations

import argparse
import csv
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from scipy import stats
from skimage.metrics import structural_similarity

from provenance.attacks import ATTACKS, Clip, reencode
from provenance.watermark import FALSE_POSITIVE_RATE, Embedder, Payload, WatermarkKey, extract, extract_frames
from provenance.watermark.issued import match_issued

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
CACHE = Path(__file__).resolve().parent / ".cache"
CLIP_SECONDS = 3.0
BENCH_HEIGHT_PX = 720
MARKED_CRF = 18
BASELINE_FRAMES = 16
QUALITY_FRAMES = 6
SPEED_FRAMES = 24
GENERATED_SHARE = 0.25
SECRET = b"benchmark watermark secret 32 b"
PAYLOAD_BITS = 64
ISSUED_PAYLOADS = 10000  # the ledger the attacked clips are also matched against
BASELINE_THRESHOLD_BITS = int(stats.binom.isf(FALSE_POSITIVE_RATE, PAYLOAD_BITS, 0.5)) + 1


@dataclass
class Tally:
    bit_accuracy: list[float] = field(default_factory=list)
    exact: list[bool] = field(default_factory=list)
    detected: list[bool] = field(default_factory=list)

    def add(self, bits: np.ndarray | None, truth: np.ndarray, exact: bool, detected: bool) -> None:
        self.bit_accuracy.append(0.5 if bits is None else float(np.mean(bits == truth)))
        self.exact.append(exact)
        self.detected.append(detected)

    def row(self) -> tuple[float, float, float]:
        return float(np.mean(self.bit_accuracy)), float(np.mean(self.exact)), float(np.mean(self.detected))


class DwtDct:
    """invisible-watermark's dwtDct (the mark Stable Diffusion ships), applied frame by frame."""

    def __init__(self, bits: np.ndarray) -> None:
        from imwatermark import WatermarkDecoder, WatermarkEncoder

        self.encoder = WatermarkEncoder()
        self.encoder.set_watermark("bits", [int(b) for b in bits])
        self.decoder = WatermarkDecoder("bits", PAYLOAD_BITS)

    def embed_rgb(self, frame: np.ndarray, index: int = 0) -> np.ndarray:
        bgr = cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)
        return cv2.cvtColor(self.encoder.encode(bgr, "dwtDct"), cv2.COLOR_BGR2RGB)

    def read_bits(self, frames: list[np.ndarray]) -> np.ndarray:
        picks = np.linspace(0, len(frames) - 1, min(BASELINE_FRAMES, len(frames))).round().astype(int)
        votes = [
            np.asarray(self.decoder.decode(cv2.cvtColor(frames[i], cv2.COLOR_RGB2BGR), "dwtDct"), dtype=float)
            for i in picks
        ]
        return (np.mean(votes, axis=0) > 0.5).astype(np.uint8)


def read_index() -> list[dict]:
    with open(DATA / "clips.csv") as stream:
        return list(csv.DictReader(stream))


def select_clips(count: int) -> list[Path]:
    """Real clips of at least 3 s first (longest variety of sources), then a share of generated ones."""
    rows = read_index()
    real = [r for r in rows if r["label"] == "real" and float(r["seconds"]) >= CLIP_SECONDS]
    generated = [r for r in rows if r["label"] == "generated"]
    n_generated = max(1, round(count * GENERATED_SHARE))
    picked = _spread_over_sources(real, count - n_generated) + _spread_over_sources(generated, n_generated)
    return [DATA / r["path"] for r in picked]


def _spread_over_sources(rows: list[dict], count: int) -> list[dict]:
    by_source: dict[str, list[dict]] = {}
    for row in rows:
        by_source.setdefault(row["source"], []).append(row)
    picked: list[dict] = []
    while len(picked) < count and any(by_source.values()):
        for source in sorted(by_source):
            if by_source[source] and len(picked) < count:
                picked.append(by_source[source].pop(0))
    return picked


def bench_clip(path: Path) -> Clip:
    """The clip's first 3 seconds at 720p height (cached)."""
    cached = CACHE / "720p" / f"{path.parent.name}-{path.stem}.mp4"
    if not cached.exists():
        source = Clip.read(path)
        frames = source.frames[: max(1, round(CLIP_SECONDS * source.fps))]
        height, width = frames[0].shape[:2]
        size = (2 * round(width * BENCH_HEIGHT_PX / height / 2), BENCH_HEIGHT_PX)
        cached.parent.mkdir(parents=True, exist_ok=True)
        Clip([cv2.resize(f, size, interpolation=cv2.INTER_CUBIC) for f in frames], source.fps).write(cached, crf=12)
    return Clip.read(cached)


def issued_payloads() -> list[Payload]:
    """A ledger's worth of random issued payloads (the same in every run); callers put their clips' own in it."""
    rows = np.random.default_rng(2).integers(0, 256, (ISSUED_PAYLOADS, PAYLOAD_BITS // 8), dtype=np.uint8)
    return [Payload(row.tobytes()) for row in rows]


def quality(original: list[np.ndarray], marked: list[np.ndarray]) -> tuple[float, float]:
    """(PSNR dB over the clip, mean SSIM on a few frames) of the marked frames before any encoding."""
    mse = np.mean([np.mean((a.astype(np.float64) - b) ** 2) for a, b in zip(original, marked, strict=True)])
    picks = np.linspace(0, len(original) - 1, min(QUALITY_FRAMES, len(original))).round().astype(int)
    ssim = [structural_similarity(original[i], marked[i], channel_axis=2) for i in picks]
    return float(10 * np.log10(255.0**2 / mse)), float(np.mean(ssim))


def frames_per_second(fn: Callable[[np.ndarray, int], object], frames: list[np.ndarray]) -> float:
    start = time.perf_counter()
    for i, frame in enumerate(frames):
        fn(frame, i)
    return len(frames) / (time.perf_counter() - start)


def speed_rows(key: WatermarkKey, payload: Payload, baseline: DwtDct, sample: np.ndarray) -> list[str]:
    lines = []
    embedder = Embedder(key, payload)
    for height in (720, 1080):
        rgb = cv2.resize(sample, (height * 16 // 9, height), interpolation=cv2.INTER_CUBIC)
        frames = [np.roll(rgb, i, axis=1) for i in range(SPEED_FRAMES)]
        yuv = [cv2.cvtColor(f, cv2.COLOR_RGB2YUV_I420) for f in frames]
        ours_embed = frames_per_second(embedder.embed_yuv420p, yuv)
        marked = [embedder.embed_yuv420p(f, i)[:height] for i, f in enumerate(yuv)]
        start = time.perf_counter()
        extract_frames(marked, key)
        ours_extract = len(marked) / (time.perf_counter() - start)
        base_embed = frames_per_second(baseline.embed_rgb, frames[:4])
        start = time.perf_counter()
        baseline.read_bits(frames[:4])
        base_extract = 4 / (time.perf_counter() - start)
        lines.append(
            f"{height}p embed fps: ours {ours_embed:7.1f}  dwtDct {base_embed:6.1f}"
            f"  ratio {ours_embed / base_embed:6.1f}x"
            f"   extract fps: ours {ours_extract:7.1f}  dwtDct {base_extract:6.1f}"
            f"  ratio {ours_extract / base_extract:6.1f}x"
        )
    return lines


def unmarked_real(key: WatermarkKey, issued: list[Payload]) -> tuple[int, int, int, int]:
    """(clips, detected, inconclusive, matched to one of `issued`) over every clip in ../shared/data, unmarked."""
    rows = read_index()
    states, matched = [], 0
    for row in rows:
        detection = extract(DATA / row["path"], key, max_frames=round(CLIP_SECONDS * float(row["fps"])) or None)
        states.append(detection.state)
        matched += match_issued(detection, key, issued).detected
    return len(rows), states.count("detected"), states.count("inconclusive"), matched


def unmarked_synthetic(key: WatermarkKey, count: int, issued: list[Payload]) -> tuple[int, int, float, float, int]:
    """(detected, inconclusive, smallest p, KS p, matched to one of `issued`) over `count` random synthetic frames
    of random sizes."""
    rng = np.random.default_rng(2024)
    states, p_values, matched = [], [], 0
    for _ in range(count):
        height = int(rng.integers(64, 400))
        width = int(height * rng.uniform(0.5, 2.2))
        noise = rng.normal(0, 1, (height, width)).astype(np.float32)
        frame = 128 + rng.uniform(5, 60) * cv2.GaussianBlur(noise, (0, 0), float(rng.uniform(0.3, 4)))
        detection = extract_frames([np.clip(frame, 0, 255).astype(np.uint8)], key)
        states.append(detection.state)
        p_values.append(detection.p_value)
        matched += match_issued(detection, key, issued).detected
    uniformity = stats.kstest(p_values, "uniform").pvalue
    return states.count("detected"), states.count("inconclusive"), min(p_values), uniformity, matched


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=16, help="number of clips (real first, ~1/4 generated)")
    parser.add_argument("--null", type=int, default=10000, help="unmarked synthetic frames to check for false alarms")
    parser.add_argument("--attacks", default=",".join(ATTACKS), help="comma-separated names from provenance.attacks")
    args = parser.parse_args()
    names = args.attacks.split(",")
    key = WatermarkKey(SECRET)
    rng = np.random.default_rng(1)
    ours: dict[str, Tally] = {name: Tally() for name in names}
    via_ledger: dict[str, list[bool]] = {name: [] for name in names}
    base: dict[str, Tally] = {name: Tally() for name in names}
    psnr, ssim, base_psnr, base_ssim = [], [], [], []
    paths = select_clips(args.clips)
    issued = issued_payloads()
    sample = None
    for number, path in enumerate(paths, 1):
        clip = bench_clip(path)
        sample = clip.frames[0] if sample is None else sample
        payload = Payload(rng.bytes(PAYLOAD_BITS // 8))
        issued[number - 1] = payload
        embedder, baseline = Embedder(key, payload), DwtDct(payload.bits)
        marked_ours = [embedder.embed_rgb(f, i) for i, f in enumerate(clip.frames)]
        marked_base = [baseline.embed_rgb(f, i) for i, f in enumerate(clip.frames)]
        for psnr_list, ssim_list, marked in ((psnr, ssim, marked_ours), (base_psnr, base_ssim, marked_base)):
            value_psnr, value_ssim = quality(clip.frames, marked)
            psnr_list.append(value_psnr)
            ssim_list.append(value_ssim)
        encoded_ours = reencode("h264", MARKED_CRF, "medium")(Clip(marked_ours, clip.fps))
        encoded_base = reencode("h264", MARKED_CRF, "medium")(Clip(marked_base, clip.fps))
        for name in names:
            detection = extract_frames(ATTACKS[name](encoded_ours).frames, key)
            ours[name].add(detection.raw_bits, payload.bits, detection.payload == payload, detection.detected)
            via_ledger[name].append(match_issued(detection, key, issued).payload == payload)
            bits = baseline.read_bits(ATTACKS[name](encoded_base).frames)
            matches = int(np.sum(bits == payload.bits))
            base[name].add(bits, payload.bits, matches == PAYLOAD_BITS, matches >= BASELINE_THRESHOLD_BITS)
        worst = min(names, key=lambda n: ours[n].exact[-1])
        print(f"[{number}/{len(paths)}] {path.parent.name}/{path.name} {len(clip.frames)} frames "
              f"{clip.frames[0].shape[1]}x{clip.frames[0].shape[0]}  PSNR {psnr[-1]:.1f}  "
              f"exact on {sum(ours[n].exact[-1] for n in names)}/{len(names)} (e.g. missed: "
              f"{worst if not ours[worst].exact[-1] else '-'})", flush=True)

    print(f"\nRobustness on {len(paths)} clips (first {CLIP_SECONDS:.0f} s, scaled up to {BENCH_HEIGHT_PX}p), "
          f"64-bit payload; marked clips encoded at H.264 CRF {MARKED_CRF} before each attack")
    header = f"{'attack':36s} | {'ours: bit acc':>13s} {'exact':>6s} {'detect':>6s} {'ledger':>6s} | " \
             f"{'dwtDct: bit acc':>15s} {'exact':>6s} {'detect':>6s} | {'bit acc ratio':>13s}"
    print(header)
    print("-" * len(header))
    for name in names:
        a, b = ours[name].row(), base[name].row()
        print(f"{name:36s} | {a[0]:13.3f} {a[1]:6.2f} {a[2]:6.2f} {np.mean(via_ledger[name]):6.2f} | "
              f"{b[0]:15.3f} {b[1]:6.2f} {b[2]:6.2f} | "
              f"{a[0] / max(b[0], 1e-9):12.2f}x")
    print(f"\nQuality (before encoding): PSNR ours {np.mean(psnr):.2f} dB (min {np.min(psnr):.2f}), dwtDct "
          f"{np.mean(base_psnr):.2f} dB;  SSIM ours {np.mean(ssim):.4f} (min {np.min(ssim):.4f}), dwtDct "
          f"{np.mean(base_ssim):.4f}")
    for line in speed_rows(key, Payload(rng.bytes(8)), DwtDct(rng.integers(0, 2, PAYLOAD_BITS)), sample):
        print(line)
    count, detected, inconclusive, matched = unmarked_real(key, issued)
    print(f"\nUnmarked clips in ../shared/data (first {CLIP_SECONDS:.0f} s each): {count} clips, {detected} detected, "
          f"{inconclusive} inconclusive, {matched} matched to one of the {len(issued)} issued payloads")
    if args.null:
        detected, inconclusive, smallest, ks, matched = unmarked_synthetic(key, args.null, issued)
        print(f"Unmarked synthetic frames: {args.null}, {detected} detected, {inconclusive} inconclusive, "
              f"smallest p {smallest:.2e}, KS test of p-values against uniform: p = {ks:.3f}; {matched} matched to "
              "an issued payload")


if __name__ == "__main__":
    main()
