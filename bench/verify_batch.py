"""Batch verification: `provenance verify --workers 2` on 100 clips of 10 s 720p, half of them signed.

The unsigned half: clips from ../shared/data (both labels, spread over the sources), scaled up to 1280x720
(aspect not kept) and looped to 10 s at 24 fps. The signed half: the same clips stamped by `provenance`
(watermark, C2PA manifest, ledger row). Built once, cached in bench/.cache/. Each run is the real command
in its own process tree; its memory is the peak of the tree's summed RSS, sampled every 100 ms, and its CPU
time per clip says how much of a throughput change is parallelism and how much is other load on the
machine. The single-worker run is the baseline, in the same invocation.

    .venv/bin/python bench/verify_batch.py [--clips 100] [--seconds 10] [--workers 2]
"""

from __future__ import annotations

import argparse
import collections
import csv
import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
CACHE = ROOT / "bench" / ".cache"
PROVENANCE = Path(sys.executable).with_name("provenance")
WIDTH, HEIGHT, FPS = 1280, 720, 24
SAMPLE_PERIOD_S = 0.1
EXPECTED_VERDICT = {"signed": "ai-generated", "plain": "no-evidence"}


def pick_sources(count: int) -> list[Path]:
    """`count` clips spread evenly over the shared data set (sorted by path, so both labels and every source)."""
    with open(SHARED_DATA / "clips.csv", newline="") as stream:
        rows = sorted(csv.DictReader(stream), key=lambda row: row["path"])
    step = len(rows) / count
    return [SHARED_DATA / rows[int(index * step)]["path"] for index in range(count)]


def looped_720p(source: Path, seconds: int):
    """The source's frames scaled to 720p, repeated until `seconds` at FPS."""
    from provenance import media

    frames = list(media.iter_frames(source, "rgb24"))
    for index in range(seconds * FPS):
        yield cv2.resize(frames[index % len(frames)], (WIDTH, HEIGHT), interpolation=cv2.INTER_LINEAR)


def build_clips(count: int, seconds: int) -> tuple[Path, list[Path]]:
    """The home (keys and ledger) and the clips, made once: `count // 2` plain and as many signed copies."""
    from provenance import media
    from provenance.keys import keygen
    from provenance.signing import Generation, Stamper

    folder = CACHE / f"verify_batch_{count}x{seconds}s_{HEIGHT}p"
    home, plain_dir, signed_dir = folder / "home", folder / "plain", folder / "signed"
    for path in (plain_dir, signed_dir):
        path.mkdir(parents=True, exist_ok=True)
    if not (home / "ca.pem").exists():
        keygen(home)
    clips = []
    with Stamper(home) as stamper:
        for index, source in enumerate(pick_sources(count // 2)):
            plain, signed = plain_dir / f"{index:03d}.mp4", signed_dir / f"{index:03d}.mp4"
            if not plain.exists():
                partial = plain.with_suffix(".part.mp4")
                media.write_video(partial, looped_720p(source, seconds), fps=FPS, crf=23, preset="veryfast")
                partial.rename(plain)
            if not signed.exists():
                stamper.sign_clip(plain, signed, Generation(model="bench"))
            clips += [plain, signed]
            print(f"\rclips ready: {len(clips)}/{count}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return home, clips


def tree_rss_bytes(root_pid: int) -> int:
    """Summed resident memory of a process and all its descendants (Linux /proc)."""
    children, rss = collections.defaultdict(list), {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            status = (entry / "status").read_text()
        except OSError:
            continue
        pid, parent = int(entry.name), int(stat.rsplit(")", 1)[1].split()[1])
        children[parent].append(pid)
        rss[pid] = next((int(line.split()[1]) * 1024 for line in status.splitlines() if line.startswith("VmRSS:")), 0)
    total, stack = 0, [root_pid]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack += children.get(pid, [])
    return total


def _children_cpu_s() -> float:
    """CPU seconds used so far by this process's finished descendants."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_verify(home: Path, clips: list[Path], workers: int) -> dict:
    """Run `provenance verify --json --workers N` on every clip; wall time, peak tree RSS and verdicts."""
    command = [str(PROVENANCE), "verify", *map(str, clips), "--json", "--workers", str(workers),
               "--home", str(home), "--trust-anchors", str(home / "ca.pem")]
    peak = 0
    cpu_before = _children_cpu_s()
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.wait(SAMPLE_PERIOD_S):
            peak = max(peak, tree_rss_bytes(process.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = process.communicate()
    seconds = time.perf_counter() - started
    cpu_s = _children_cpu_s() - cpu_before
    done.set()
    sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"provenance verify failed ({process.returncode}): {stderr.strip()[-500:]}")
    reports = [json.loads(line) for line in stdout.splitlines() if line.strip()]
    wrong = sum(report["verdict"] != EXPECTED_VERDICT[Path(report["path"]).parent.name] for report in reports)
    return {"workers": workers, "clips": len(reports), "seconds": seconds, "clips_per_s": len(reports) / seconds,
            "cpu_s_per_clip": cpu_s / len(reports), "peak_rss_mib": peak / 2**20, "wrong_verdicts": wrong,
            "load_average": os.getloadavg()[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=100, help="total clips, half signed (even)")
    parser.add_argument("--seconds", type=int, default=10, help="length of each clip")
    parser.add_argument("--workers", type=int, default=2, help="worker processes of the measured run")
    args = parser.parse_args()
    home, clips = build_clips(args.clips, args.seconds)
    print(f"{len(clips)} clips of {args.seconds} s at {WIDTH}x{HEIGHT} {FPS} fps, half signed; "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start")
    baseline = run_verify(home, clips, 1)
    measured = run_verify(home, clips, args.workers)
    print(f"{'run':<10} {'workers':>7} {'clips':>5} {'seconds':>8} {'clips/s':>8} {'CPU s/clip':>10}"
          f" {'peak RSS MiB':>12} {'wrong':>5} {'load after':>10}")
    for name, row in (("baseline", baseline), ("measured", measured)):
        print(f"{name:<10} {row['workers']:>7} {row['clips']:>5} {row['seconds']:>8.1f} {row['clips_per_s']:>8.2f}"
              f" {row['cpu_s_per_clip']:>10.2f} {row['peak_rss_mib']:>12.0f} {row['wrong_verdicts']:>5}"
              f" {row['load_average']:>10.1f}")
    speedup = measured["clips_per_s"] / baseline["clips_per_s"]
    memory = measured["peak_rss_mib"] / baseline["peak_rss_mib"]
    print(f"ratio {args.workers} workers / 1 worker: throughput x{speedup:.2f}, peak memory x{memory:.2f}")


if __name__ == "__main__":
    main()
