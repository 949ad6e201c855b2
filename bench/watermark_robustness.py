"""Watermark robustness, quality, speed and false positives, with invisible-watermark's dwtDct side by side.

Clips come from ../shared/data (a clip of every real footage source, then more real ones, then a share of
generated ones), cut to their first 3 seconds, at their own resolution (`--height 720`: scaled to 720p
height first, as earlier runs did), plus periodic clips: grids, stripes and tiles at several pitches and
angles burned into real footage (`provenance.attacks.pattern`). Both methods mark the same frames with the
same 64-bit payload; the marked clip is encoded once (H.264 CRF 18, as `watermark_clip` does), then every
attack of `provenance.attacks.ATTACKS` and `COMBINED_ATTACKS` is applied.

Quality per clip, as a viewer sees it: PSNR and SSIM of the stamped encode against the source, and against
a plain decode + encode of the source at the same settings; the mark's own cost is the PSNR the stamped
encode loses relative to that plain encode.

- ours: `extract_frames` on the attacked frames. Bit accuracy counts the decoder's 64 payload bits
  before the check; "exact" needs the check bits to pass; "detected" means p <= 1e-6. "ledger": exact
  payload once `match_issued` has also tried the clip against a ledger of 10,000 issued payloads (the
  clips' own among them), as `provenance verify` does when the blind decode fails. The unmarked clips and
  frames of the false-positive checks are matched against the same ledger.
- dwtDct: decoded per frame from up to 16 evenly spaced frames, majority vote per bit (its own video
  aggregation). "Detected" means at least as many matching bits as a binomial test at 1e-6 requires.

Usage: .venv/bin/python bench/watermark_robustness.py [--clips N] [--periodic N] [--height H] [--null N]
       [--attacks a,b,...] [--no-baseline] [--no-unmarked]
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

from provenance.attacks import ATTACKS, COMBINED_ATTACKS, Clip, pattern, reencode
from provenance.watermark import FALSE_POSITIVE_RATE, Embedder, Payload, WatermarkKey, extract, extract_frames
from provenance.watermark.issued import match_issued

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
CACHE = Path(__file__).resolve().parent / ".cache"
CLIP_SECONDS = 3.0
ALL_ATTACKS = {**ATTACKS, **COMBINED_ATTACKS}
# Periodic content burned into real footage: (kind, pitch px, angle degrees).
PERIODIC = [("grid", 12, 0), ("grid", 24, 0), ("grid", 40, 0), ("grid", 16, 30), ("stripes", 10, 0),
            ("stripes", 20, 45), ("tiles", 24, 0), ("tiles", 48, 15)]
MARKED_CRF = 18
BASELINE_FRAMES = 16
DWTDCT_MIN_SIDE_PX = 256
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
        """The marked frame; frames below 256x256, which it cannot mark, unchanged."""
        if min(frame.shape[:2]) < DWTDCT_MIN_SIDE_PX:
            return frame
        bgr = cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)
        return cv2.cvtColor(self.encoder.encode(bgr, "dwtDct"), cv2.COLOR_BGR2RGB)

    def read_bits(self, frames: list[np.ndarray]) -> np.ndarray | None:
        """Majority vote over up to 16 frames; None for frames it cannot read (below 256x256)."""
        if min(frames[0].shape[:2]) < DWTDCT_MIN_SIDE_PX:
            return None
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
    """A clip of every real source first (one of at least 3 s where the source has one, else its longest), then
    more real clips of at least 3 s spread over the sources, then a share of generated ones."""
    rows = read_index()
    real = sorted((r for r in rows if r["label"] == "real"), key=lambda r: float(r["seconds"]) < CLIP_SECONDS)
    generated = [r for r in rows if r["label"] == "generated"]
    n_generated = max(1, round(count * GENERATED_SHARE))
    picked = _spread_over_sources(real, len({r["source"] for r in real}))
    rest = [r for r in real if r not in picked and float(r["seconds"]) >= CLIP_SECONDS]
    picked += _spread_over_sources(rest, count - n_generated - len(picked))
    picked += _spread_over_sources(generated, count - len(picked))
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


def bench_clip(path: Path, height_px: int | None = None) -> Clip:
    """The clip's first 3 seconds, at its own size trimmed to even sides, or at `height_px` height (cached)."""
    cached = CACHE / (f"{height_px}p" if height_px else "native") / f"{path.parent.name}-{path.stem}.mp4"
    if not cached.exists():
        source = Clip.read(path)
        frames = source.frames[: max(1, round(CLIP_SECONDS * source.fps))]
        height, width = frames[0].shape[:2]
        if height_px:
            size = (2 * round(width * height_px / height / 2), height_px)
            frames = [cv2.resize(f, size, interpolation=cv2.INTER_CUBIC) for f in frames]
        else:
            frames = [f[: height - height % 2, : width - width % 2] for f in frames]
        cached.parent.mkdir(parents=True, exist_ok=True)
        Clip(frames, source.fps).write(cached, crf=12)
    return Clip.read(cached)


def bench_clips(count: int, periodic: int, height_px: int | None) -> list[tuple[str, Clip]]:
    """(name, clip) for `count` clips of ../shared/data and `periodic` patterns burned into real ones."""
    paths = select_clips(count)
    clips = [(f"{p.parent.name}/{p.name}", bench_clip(p, height_px)) for p in paths]
    real = [item for item, path in zip(clips, paths, strict=True) if "/real/" in str(path)]
    for number, (kind, pitch, angle) in enumerate(PERIODIC[:periodic]):
        name, clip = real[number % len(real)]
        clips.append((f"{kind}-{pitch}px-{angle}deg over {name}", pattern(kind, pitch, angle)(clip)))
    return clips


def issued_payloads() -> list[Payload]:
    """A ledger's worth of random issued payloads (the same in every run); callers put their clips' own in it."""
    rows = np.random.default_rng(2).integers(0, 256, (ISSUED_PAYLOADS, PAYLOAD_BITS // 8), dtype=np.uint8)
    return [Payload(row.tobytes()) for row in rows]


def quality(reference: list[np.ndarray], frames: list[np.ndarray]) -> tuple[float, float]:
    """(PSNR dB over the clip, mean SSIM on a few frames) of `frames` against `reference`."""
    mse = np.mean([np.mean((a.astype(np.float64) - b) ** 2) for a, b in zip(reference, frames, strict=True)])
    picks = np.linspace(0, len(reference) - 1, min(QUALITY_FRAMES, len(reference))).round().astype(int)
    ssim = [structural_similarity(reference[i], frames[i], channel_axis=2) for i in picks]
    return float(10 * np.log10(255.0**2 / max(mse, 1e-12))), float(np.mean(ssim))


@dataclass
class ClipQuality:
    """A stamped clip's quality after its H.264 encode, against the source and against a plain encode."""

    name: str
    size: str
    psnr_source: float  # stamped encode vs source
    psnr_plain: float  # plain encode vs source
    ssim_source: float
    ssim_plain: float  # stamped encode vs plain encode

    @property
    def cost_db(self) -> float:
        """PSNR the mark costs on top of the encode itself."""
        return self.psnr_plain - self.psnr_source


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
    parser.add_argument("--clips", type=int, default=40, help="clips of ../shared/data (all real sources)")
    parser.add_argument("--periodic", type=int, default=len(PERIODIC), help="periodic clips made from real ones")
    parser.add_argument("--height", type=int, default=None, help="scale clips to this height (default: their own)")
    parser.add_argument("--null", type=int, default=10000, help="unmarked synthetic frames to check for false alarms")
    parser.add_argument("--attacks", default=",".join(ALL_ATTACKS), help="names from provenance.attacks, with commas")
    parser.add_argument("--no-baseline", action="store_true", help="skip invisible-watermark's dwtDct")
    parser.add_argument("--no-unmarked", action="store_true", help="skip the unmarked clips of ../shared/data")
    args = parser.parse_args()
    names = args.attacks.split(",")
    key = WatermarkKey(SECRET)
    rng = np.random.default_rng(1)
    ours: dict[str, Tally] = {name: Tally() for name in names}
    via_ledger: dict[str, list[bool]] = {name: [] for name in names}
    base: dict[str, Tally] = {name: Tally() for name in names}
    psnr, ssim, base_psnr, base_ssim, encoded_quality = [], [], [], [], []
    clips = bench_clips(args.clips, args.periodic, args.height)
    issued = issued_payloads()
    sample = None
    for number, (clip_name, clip) in enumerate(clips, 1):
        sample = clip.frames[0] if sample is None or clip.frames[0].size > sample.size else sample
        payload = Payload(rng.bytes(PAYLOAD_BITS // 8))
        issued[number - 1] = payload
        embedder = Embedder(key, payload)
        marked_ours = [embedder.embed_rgb(f, i) for i, f in enumerate(clip.frames)]
        value_psnr, value_ssim = quality(clip.frames, marked_ours)
        psnr.append(value_psnr)
        ssim.append(value_ssim)
        encode = reencode("h264", MARKED_CRF, "medium")
        encoded_ours, plain = encode(Clip(marked_ours, clip.fps)), encode(clip)
        against_source = quality(clip.frames, encoded_ours.frames)
        against_plain = quality(plain.frames, encoded_ours.frames)
        height, width = clip.frames[0].shape[:2]
        encoded_quality.append(ClipQuality(clip_name, f"{width}x{height}", against_source[0],
                                           quality(clip.frames, plain.frames)[0], against_source[1], against_plain[1]))
        if not args.no_baseline:
            baseline = DwtDct(payload.bits)
            marked_base = [baseline.embed_rgb(f, i) for i, f in enumerate(clip.frames)]
            value_psnr, value_ssim = quality(clip.frames, marked_base)
            base_psnr.append(value_psnr)
            base_ssim.append(value_ssim)
            encoded_base = encode(Clip(marked_base, clip.fps))
        for name in names:
            detection = extract_frames(ALL_ATTACKS[name](encoded_ours).frames, key)
            ours[name].add(detection.raw_bits, payload.bits, detection.payload == payload, detection.detected)
            via_ledger[name].append(match_issued(detection, key, issued).payload == payload)
            if not args.no_baseline:
                bits = baseline.read_bits(ALL_ATTACKS[name](encoded_base).frames)
                matches = 0 if bits is None else int(np.sum(bits == payload.bits))
                base[name].add(bits, payload.bits, matches == PAYLOAD_BITS, matches >= BASELINE_THRESHOLD_BITS)
        missed = [n for n in names if not via_ledger[n][-1]]
        q = encoded_quality[-1]
        print(f"[{number}/{len(clips)}] {clip_name} {len(clip.frames)} frames {q.size}  PSNR {psnr[-1]:.1f}  "
              f"exact on {sum(ours[n].exact[-1] for n in names)}/{len(names)}, ledger on "
              f"{len(names) - len(missed)}/{len(names)} (missed: {','.join(missed) or '-'})  encoded: PSNR "
              f"{q.psnr_source:.2f} vs plain {q.psnr_plain:.2f} (cost {q.cost_db:.2f} dB), SSIM {q.ssim_source:.4f}, "
              f"vs plain {q.ssim_plain:.4f}", flush=True)

    where = f"scaled to {args.height}p" if args.height else "at their own resolution"
    print(f"\nRobustness on {len(clips)} clips ({args.periodic} periodic; first {CLIP_SECONDS:.0f} s, {where}), "
          f"64-bit payload; marked clips encoded at H.264 CRF {MARKED_CRF} before each attack")
    header = f"{'attack':46s} | {'ours: bit acc':>13s} {'exact':>6s} {'detect':>6s} {'ledger':>6s} | " \
             f"{'dwtDct: bit acc':>15s} {'exact':>6s} {'detect':>6s} | {'bit acc ratio':>13s}"
    print(header)
    print("-" * len(header))
    periodic = slice(len(clips) - args.periodic, len(clips))
    for name in names:
        a = ours[name].row()
        b = base[name].row() if base[name].exact else (float("nan"),) * 3
        print(f"{name:46s} | {a[0]:13.3f} {a[1]:6.2f} {a[2]:6.2f} {np.mean(via_ledger[name]):6.2f} | "
              f"{b[0]:15.3f} {b[1]:6.2f} {b[2]:6.2f} | {a[0] / max(b[0], 1e-9):12.2f}x"
              + (f"   periodic: ledger {np.mean(via_ledger[name][periodic]):.2f}" if args.periodic else ""))
    print(f"\nQuality (before encoding): PSNR ours {np.mean(psnr):.2f} dB (min {np.min(psnr):.2f}), SSIM ours "
          f"{np.mean(ssim):.4f} (min {np.min(ssim):.4f})"
          + (f"; dwtDct PSNR {np.mean(base_psnr):.2f} dB, SSIM {np.mean(base_ssim):.4f}" if base_psnr else ""))
    print(f"\nQuality after the H.264 CRF {MARKED_CRF} encode, per clip: stamped vs source, a plain encode vs source, "
          "the mark's cost, SSIM stamped vs source and vs the plain encode")
    print(f"{'clip':72s} {'size':>9s} {'PSNR':>6s} {'plain':>6s} {'cost':>5s} {'SSIM':>7s} {'vsplain':>7s}")
    for q in encoded_quality:
        print(f"{q.name[:72]:72s} {q.size:>9s} {q.psnr_source:6.2f} {q.psnr_plain:6.2f} {q.cost_db:5.2f} "
              f"{q.ssim_source:7.4f} {q.ssim_plain:7.4f}")
    costs = [q.cost_db for q in encoded_quality]
    versus_plain = [q.ssim_plain for q in encoded_quality]
    print(f"mean cost {np.mean(costs):.2f} dB (max {np.max(costs):.2f}); SSIM vs plain encode mean "
          f"{np.mean(versus_plain):.4f} (min {np.min(versus_plain):.4f})")
    if not args.no_baseline:
        for line in speed_rows(key, Payload(rng.bytes(8)), DwtDct(rng.integers(0, 2, PAYLOAD_BITS)), sample):
            print(line)
    if not args.no_unmarked:
        count, detected, inconclusive, matched = unmarked_real(key, issued)
        print(f"\nUnmarked clips in ../shared/data (first {CLIP_SECONDS:.0f} s each): {count} clips, "
              f"{detected} detected, {inconclusive} inconclusive, {matched} matched to one of the {len(issued)} "
              "issued payloads")
    if args.null:
        detected, inconclusive, smallest, ks, matched = unmarked_synthetic(key, args.null, issued)
        print(f"Unmarked synthetic frames: {args.null}, {detected} detected, {inconclusive} inconclusive, "
              f"smallest p {smallest:.2e}, KS test of p-values against uniform: p = {ks:.3f}; {matched} matched to "
              "an issued payload")

if __name__ == "__main__":
    main()
