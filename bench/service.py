"""The service's overhead: `provenance serve` with N concurrent clients against `provenance verify` from the shell.

Clips: those of bench/verify_batch.py (10 s 720p at 24 fps, half stamped; built once in bench/.cache/). For 1 and
2 workers, the same clips are verified twice in this run: by `provenance verify --workers W` (the baseline,
start-up included), and by uploads to `provenance serve --workers W` on loopback from `--clients` threads, each
waiting for its report (the service started beforehand, as it runs in production). Reported: clips/s, p50 and
p95 latency per upload, peak RSS of the service's process tree, wrong verdicts, jobs lost (accepted and never
answered), and the service's wall time over the shell's as a ratio.

    nice .venv/bin/python bench/service.py [--clips 8] [--seconds 10] [--clients 4]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from verify_batch import EXPECTED_VERDICT, FPS, HEIGHT, WIDTH, build_clips, run_verify, tree_rss_bytes

from provenance.service.process import ServiceProcess

SAMPLE_PERIOD_S = 0.1
REQUEST_TIMEOUT_S = 600.0


def upload(url: str, clip: Path) -> tuple[float, dict | None]:
    """POST one clip and wait for its report: (seconds, report or None when it never came)."""
    started = time.perf_counter()
    with open(clip, "rb") as stream:
        response = httpx.post(f"{url}/v1/verify", params={"wait": 300}, files={"file": (clip.name, stream)},
                              timeout=REQUEST_TIMEOUT_S)
    report = response.json() if response.status_code == 200 else None
    return time.perf_counter() - started, report


def run_service(home: Path, clips: list[Path], workers: int, clients: int) -> dict:
    """Upload every clip from `clients` threads to a service with `workers` workers."""
    args = ["--home", home, "--trust-anchors", home / "ca.pem", "--workers", workers, "--queue", len(clips)]
    with ServiceProcess(*args) as service:
        peak, done = 0, threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.wait(SAMPLE_PERIOD_S):
                peak = max(peak, tree_rss_bytes(service.process.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        started = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            results = list(pool.map(lambda clip: upload(service.url, clip), clips))
        seconds = time.perf_counter() - started
        done.set()
        sampler.join()
    latencies = sorted(latency for latency, _ in results)
    wrong = sum(report is not None and report["verdict"] != EXPECTED_VERDICT[clip.parent.name]
                for clip, (_, report) in zip(clips, results, strict=True))
    return {"seconds": seconds, "clips_per_s": len(clips) / seconds, "p50_s": statistics.median(latencies),
            "p95_s": latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))],
            "peak_rss_mib": peak / 2**20, "wrong_verdicts": wrong, "lost": sum(r is None for _, r in results)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=8, help="total clips, half stamped (even)")
    parser.add_argument("--seconds", type=int, default=10, help="length of each clip")
    parser.add_argument("--clients", type=int, default=4, help="concurrent uploading clients")
    args = parser.parse_args()
    home, clips = build_clips(args.clips, args.seconds)
    print(f"{len(clips)} clips of {args.seconds} s at {WIDTH}x{HEIGHT} {FPS} fps, half stamped; {args.clients} "
          f"clients; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start")
    print(f"{'run':<8} {'workers':>7} {'seconds':>8} {'clips/s':>8} {'p50 s':>6} {'p95 s':>6} {'peak RSS MiB':>12}"
          f" {'wrong':>5} {'lost':>4} {'service/shell':>13}")
    for workers in (1, 2):
        shell = run_verify(home, clips, workers)
        served = run_service(home, clips, workers, args.clients)
        print(f"{'shell':<8} {workers:>7} {shell['seconds']:>8.1f} {shell['clips_per_s']:>8.2f} {'':>6} {'':>6}"
              f" {shell['peak_rss_mib']:>12.0f} {shell['wrong_verdicts']:>5} {'':>4} {'':>13}")
        print(f"{'service':<8} {workers:>7} {served['seconds']:>8.1f} {served['clips_per_s']:>8.2f}"
              f" {served['p50_s']:>6.1f} {served['p95_s']:>6.1f} {served['peak_rss_mib']:>12.0f}"
              f" {served['wrong_verdicts']:>5} {served['lost']:>4} {served['seconds'] / shell['seconds']:>12.2f}x")


if __name__ == "__main__":
    main()
