"""Batch verification at scale: `provenance batch --engine ray` beside `verify --workers 1|2` on the same clips,
memory as the number of clips grows, and what 10^7 clips a day would take (cores, shared-ledger lookups).

Clips: `bench/verify_batch.py`'s set (clips from ../shared/data scaled to 1280x720 and looped to --seconds,
half of them signed; built once into bench/.cache/). The larger run names each clip --scale times (hard links
under new names), so memory can be compared at N and scale*N clips without encoding more video. Every run is
the real command in its own process tree, sampled every 100 ms from /proc: CPU seconds (all processes,
Ray's services included), peak RSS of the driver (the command's own process), of the busiest worker (a pool
process, or a Ray actor) and of the whole tree. Batch runs also give their start-up time: from launch to the
first clip starting. The shared ledger: a throwaway PostgreSQL on loopback (tests/postgres.py) holding
--ledger-rows credentials, with 1, 2, 4... reader processes each doing a clip's lookups (the payload's
credential, and the count that says whether anything was issued) as fast as it can.

    .venv/bin/python bench/batch_scale.py [--clips 200] [--seconds 10] [--scale 5] [--readers 1,2,4,8]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

import pyarrow.parquet as pq
from verify_batch import EXPECTED_VERDICT, PROVENANCE, ROOT, build_clips

sys.path.insert(0, str(ROOT / "tests"))
from postgres import postgres_server

SAMPLE_PERIOD_S = 0.1
CLIPS_PER_DAY = 10_000_000
TICKS_PER_S = os.sysconf("SC_CLK_TCK")
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")


class TreeSampler:
    """Per-process peak RSS, CPU time and command line of a process and its descendants, sampled from /proc."""

    def __init__(self, root: int) -> None:
        self.root = root
        self.peak_rss: dict[int, int] = {}
        self.cpu_s: dict[int, float] = {}
        self.command: dict[int, str] = {}
        self.tree_peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_PERIOD_S):
            self.sample()

    def sample(self) -> None:
        parents, stats = {}, {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                pid = int(entry.name)
                parents[pid] = int(fields[1])
                stats[pid] = ((int(fields[11]) + int(fields[12])) / TICKS_PER_S, int(fields[21]) * PAGE_BYTES)
        tree, stack = [], [self.root]
        children: dict[int, list[int]] = {}
        for pid, parent in parents.items():
            children.setdefault(parent, []).append(pid)
        while stack:
            pid = stack.pop()
            tree.append(pid)
            stack += children.get(pid, [])
        total = 0
        for pid in tree:
            if pid not in stats:
                continue
            cpu, rss = stats[pid]
            total += rss
            self.cpu_s[pid] = max(self.cpu_s.get(pid, 0.0), cpu)
            self.peak_rss[pid] = max(self.peak_rss.get(pid, 0), rss)
            with contextlib.suppress(OSError):  # read each time: a Ray worker renames itself when given an actor
                self.command[pid] = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        self.tree_peak = max(self.tree_peak, total)


def measure(command: list[str], workers: str) -> tuple[dict, str]:
    """Run `command`; wall time, CPU s and peak RSS (driver, busiest worker, tree). `workers`: "pool" or "ray"."""
    started = time.time()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    sampler = TreeSampler(process.pid)
    stdout, stderr = process.communicate()
    seconds = time.time() - started
    sampler.stop()
    if process.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command[:3])} failed ({process.returncode}): {stderr.strip()[-800:]}")
    if workers == "ray":
        worker_pids = [pid for pid, text in sampler.command.items() if "MapWorker" in text]
    else:
        worker_pids = [pid for pid in sampler.peak_rss if pid != process.pid] or [process.pid]
    return {"started": started, "seconds": seconds, "cpu_s": sum(sampler.cpu_s.values()),
            "driver_mib": sampler.peak_rss.get(process.pid, 0) / 2**20,
            "worker_mib": max((sampler.peak_rss[pid] for pid in worker_pids), default=0) / 2**20,
            "tree_mib": sampler.tree_peak / 2**20}, stdout


def run_verify(home: Path, clips: list[Path], workers: int) -> dict:
    command = [str(PROVENANCE), "verify", *map(str, clips), "--json", "--workers", str(workers),
               "--home", str(home), "--trust-anchors", str(home / "ca.pem")]
    row, stdout = measure(command, "pool")
    verdicts = {(r := json.loads(line))["path"]: r["verdict"] for line in stdout.splitlines() if line.strip()}
    return {"run": f"verify --workers {workers}", **row, **judge(clips, verdicts), "startup_s": None}


def run_batch(home: Path, clips: list[Path], engine: str, work: Path) -> dict:
    listing, output = work / f"clips-{len(clips)}.txt", work / f"{engine}-{len(clips)}.parquet"
    listing.write_text("".join(f"{clip}\n" for clip in clips))
    command = [str(PROVENANCE), "batch", str(listing), "-o", str(output), "--engine", engine, "--num-cpus", "2",
               "--home", str(home), "--trust-anchors", str(home / "ca.pem")]
    row, _ = measure(command, "ray" if engine == "ray" else "pool")
    table = pq.read_table(output, columns=["path", "verdict", "timing"]).to_pylist()
    first = min(datetime.fromisoformat(r["timing"]["started_at"]).timestamp() for r in table if r["timing"])
    verdicts = {r["path"]: r["verdict"] for r in table}
    return {"run": f"batch --engine {engine}", **row, **judge(clips, verdicts), "startup_s": first - row["started"]}


def judge(clips: list[Path], verdicts: dict[str, str]) -> dict:
    """Clips reported and verdicts that are not the expected one (by the clip's folder: signed or plain)."""
    wrong = sum(verdicts.get(str(clip)) != EXPECTED_VERDICT[kind(clip)] for clip in clips)
    return {"clips": len(verdicts), "wrong": wrong}


def kind(clip: Path) -> str:
    return clip.name.split("-")[0] if clip.parent.name == "scaled" else clip.parent.name


def scaled_set(clips: list[Path], scale: int, work: Path) -> list[Path]:
    """Each clip named `scale` times (hard links, or copies across file systems) under work/scaled/."""
    folder = work / "scaled"
    folder.mkdir()
    named = []
    for copy in range(scale):
        for clip in clips:
            target = folder / f"{clip.parent.name}-{clip.stem}-{copy}.mp4"
            try:
                os.link(clip, target)
            except OSError:
                target.write_bytes(clip.read_bytes())
            named.append(target)
    return named


def _reader(url: str, payloads: list[str], seconds: float, counts: multiprocessing.Queue) -> None:
    from provenance.ledger import Ledger

    with Ledger.open(url) as ledger:
        done, deadline, index = 0, time.perf_counter() + seconds, 0
        while time.perf_counter() < deadline:
            assert ledger.get(payloads[index % len(payloads)]) is not None
            ledger.issued_extent()
            done, index = done + 1, index + 1
    counts.put(done)


def ledger_lookups(home: Path, rows: int, readers: list[int], seconds: float) -> list[tuple[int, float]]:
    """Clip lookups per second served by PostgreSQL to each number of concurrent readers."""
    from provenance.ledger import PENDING, Ledger, Record

    with Ledger.open(None, home=home) as local:
        records = list(local)
    template = records[0]
    with postgres_server() as url:
        with Ledger.open(url) as ledger:
            for index in range(rows):
                source = records[index] if index < len(records) else template
                payload = source.payload if index < len(records) else f"{index:016x}"
                path = source.path if index < len(records) else f"/clips/{index}.mp4"
                ledger.begin(Record(**{**source.__dict__, "payload": payload, "path": path, "state": PENDING}))
                ledger.complete(payload)
            assert ledger.issued_extent()[0] == rows
        payloads = [record.payload for record in records]
        measured = []
        for count in readers:
            queue: multiprocessing.Queue = multiprocessing.Queue()
            procs = [multiprocessing.Process(target=_reader, args=(url, payloads, seconds, queue))
                     for _ in range(count)]
            for proc in procs:
                proc.start()
            total = sum(queue.get(timeout=seconds + 60) for _ in procs)
            for proc in procs:
                proc.join()
            measured.append((count, total / seconds))
    return measured


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=200, help="clips of the main runs, half signed (even)")
    parser.add_argument("--seconds", type=int, default=10, help="length of each clip")
    parser.add_argument("--scale", type=int, default=5, help="the memory run names every clip this many times")
    parser.add_argument("--readers", default="1,2,4,8", help="concurrent ledger readers to measure")
    parser.add_argument("--ledger-rows", type=int, default=10_000, help="credentials in the PostgreSQL ledger")
    parser.add_argument("--reader-seconds", type=float, default=5.0)
    args = parser.parse_args()
    home, clips = build_clips(args.clips, args.seconds)
    print(f"{len(clips)} clips of {args.seconds} s at 1280x720 24 fps, half signed; {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f} at start", flush=True)
    with tempfile.TemporaryDirectory(prefix="batch-scale-", dir=ROOT / "bench" / ".cache") as folder:
        work = Path(folder)
        runs = [run_verify(home, clips, 1), run_verify(home, clips, 2), run_batch(home, clips, "local", work),
                run_batch(home, clips, "ray", work)]
        runs.append(run_batch(home, scaled_set(clips, args.scale, work), "ray", work))
    show_runs(runs)
    lookups = ledger_lookups(home, args.ledger_rows, [int(n) for n in args.readers.split(",")], args.reader_seconds)
    show_projection(runs, lookups, args.ledger_rows)


def show_runs(runs: list[dict]) -> None:
    print(f"\n{'run':<22} {'clips':>5} {'seconds':>7} {'start-up':>8} {'clips/s':>7} {'CPU s/clip':>10} "
          f"{'driver MiB':>10} {'worker MiB':>10} {'tree MiB':>8} {'wrong':>5}")
    for row in runs:
        startup = f"{row['startup_s']:.1f}" if row["startup_s"] is not None else "-"
        print(f"{row['run']:<22} {row['clips']:>5} {row['seconds']:>7.1f} {startup:>8} "
              f"{row['clips'] / row['seconds']:>7.2f} {row['cpu_s'] / row['clips']:>10.2f} {row['driver_mib']:>10.0f} "
              f"{row['worker_mib']:>10.0f} {row['tree_mib']:>8.0f} {row['wrong']:>5}")
    one, two, local, ray, big = runs
    print(f"\nray / verify --workers 2, time: x{ray['seconds'] / two['seconds']:.2f} "
          f"(x{(ray['seconds'] - ray['startup_s']) / two['seconds']:.2f} without Ray's start-up); "
          f"batch --engine local / verify --workers 2: x{local['seconds'] / two['seconds']:.2f}; "
          f"verify --workers 2 / 1: throughput x{one['seconds'] / two['seconds']:.2f}")
    print(f"memory, ray at {big['clips']} / {ray['clips']} clips: driver x{big['driver_mib'] / ray['driver_mib']:.2f}, "
          f"worker x{big['worker_mib'] / ray['worker_mib']:.2f}, tree x{big['tree_mib'] / ray['tree_mib']:.2f}")


def show_projection(runs: list[dict], lookups: list[tuple[int, float]], rows: int) -> None:
    ray = runs[3]
    per_s = CLIPS_PER_DAY / 86_400
    cpu = ray["cpu_s"] / ray["clips"]
    print(f"\n10^7 clips/day = {per_s:.0f} clips/s: at {cpu:.2f} CPU s per clip (Ray run above, services "
          f"included) {per_s * cpu:.0f} cores busy around the clock; the ledger serves at most one credential "
          f"lookup and one issued-count query per clip: {per_s:.0f} clip lookups/s")
    print(f"PostgreSQL on loopback, {rows} credentials, clip lookups/s (a credential by payload + the issued count):")
    for count, rate in lookups:
        print(f"  {count} readers: {rate:,.0f}/s  (x{rate / per_s:.0f} the 10^7/day need)")


if __name__ == "__main__":
    main()
