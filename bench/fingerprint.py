"""The fingerprint soft binding (`io.provenance.dct-second.v1`): robustness, false matches, cost, ledger lookup.

- robustness: clips of the sample data (5 s or longer, spread over sources) fingerprinted as at signing, then
  copies (H.264 CRF 28 and 32, half size, 85% centre crop, a 4 s middle part) matched against the fingerprints of
  all those clips, as verify does; a copy counts when it matches its own clip.
- false matches: every clip of the sample data fingerprinted; each real clip matched against the fingerprints of all
  the other clips (a false accusation if it matches a clip of another source), and every pair of seconds of clips
  of different sources compared (within the match distance = a false second).
- cost: fingerprinting (one phase, as at signing; four, as verify reads) against a plain decode of the same clips.
- lookup: a clip's hashes looked up in a SQLite ledger of 10^6 fingerprinted seconds through the chunk index,
  against the same query with the index disabled (a full scan). The ledger is made once, in bench/.cache/.

    nice .venv/bin/python bench/fingerprint.py [--clips 12] [--rows 1000000]
"""

from __future__ import annotations

import argparse
import csv
import itertools
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from provenance import attacks, fingerprint, media
from provenance.fingerprint import MAX_DISTANCE_BITS, Second, chunks, fingerprint_clip, match, read_clip
from provenance.ledger import DONE, FINGERPRINT_TABLE, INSERT_FINGERPRINT, INSERT_RECORD, RECORD_COLUMNS, Ledger

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
CACHE = Path(__file__).resolve().parent / ".cache" / "fingerprints"
MIN_SECONDS = 5.0
SECONDS_PER_CREDENTIAL = 10
LOOKUP_REPEATS = 20
COPIES: dict[str, tuple[Callable[[float], attacks.Attack], int]] = {  # name: (attack for a clip of d seconds, CRF)
    "H.264 CRF 28": (lambda d: attacks.identity(), 28),
    "H.264 CRF 32": (lambda d: attacks.identity(), 32),
    "downscale 0.5": (lambda d: attacks.scale(0.5), 23),
    "crop 85% (centre)": (lambda d: attacks.crop(0.85), 23),
    "trim to a middle 4 s": (lambda d: attacks.window(4.0, start_s=round(0.3 * (d - 4.0), 2)), 23),
}


def catalogue() -> list[dict]:
    with open(DATA / "clips.csv", newline="") as stream:
        return list(csv.DictReader(stream))


def rows_of(name: str, seconds: list[Second]) -> list[tuple[str, int, int]]:
    return [(name, s.start_ms, s.hash) for s in seconds]


def spread(clips: list[dict], count: int) -> list[dict]:
    """`count` clips of at least MIN_SECONDS, taking sources in turn."""
    by_source: dict[str, list[dict]] = {}
    for clip in clips:
        if float(clip["seconds"]) >= MIN_SECONDS:
            by_source.setdefault(clip["source"], []).append(clip)
    turns = itertools.chain.from_iterable(itertools.zip_longest(*by_source.values()))
    return [clip for clip in turns if clip is not None][:count]


def robustness(count: int) -> None:
    picked = spread(catalogue(), count)
    printed = {clip["path"]: fingerprint_clip(DATA / clip["path"]) for clip in picked}
    candidates = [row for name, seconds in printed.items() for row in rows_of(name, seconds)]
    print(f"\nrobustness: {len(picked)} clips of {MIN_SECONDS:g} s or more from {len({c['source'] for c in picked})} "
          f"sources, matched against the fingerprints of all {len(picked)}")
    print("| copy | matched its own clip | matched another | seconds matched (median share) | mean distance (bits) |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        for label, (make, crf) in COPIES.items():
            own = other = 0
            shares, distances = [], []
            for clip in picked:
                copy = Path(folder) / "copy.mp4"
                make(float(clip["seconds"]))(attacks.Clip.read(DATA / clip["path"])).write(copy, crf=crf)
                found = match(read_clip(copy), candidates)
                if found is None:
                    shares.append(0.0)
                    continue
                own += found.payload == clip["path"]
                other += found.payload != clip["path"]
                shares.append(found.seconds_matched / found.seconds_compared)
                distances.append(found.mean_distance_bits)
            mean_distance = f"{statistics.mean(distances):.2f}" if distances else "-"
            print(f"| {label} | {own}/{len(picked)} | {other} | {statistics.median(shares):.2f} | {mean_distance} |")


def false_matches() -> None:
    clips = catalogue()
    started = time.perf_counter()
    phases = {clip["path"]: read_clip(DATA / clip["path"]) for clip in clips}
    elapsed = time.perf_counter() - started
    source = {clip["path"]: clip["source"] for clip in clips}
    real = [clip["path"] for clip in clips if clip["label"] == "real"]
    print(f"\nfalse matches: {len(clips)} clips fingerprinted in {elapsed:.1f} s; each of the {len(real)} real clips "
          "matched against the fingerprints of all the others")
    unrelated, same_source = [], []
    for path in real:
        others = [row for name, p in phases.items() if name != path for row in rows_of(name, p[0])]
        found = match(phases[path], others)
        if found is not None:
            (same_source if source[found.payload] == source[path] else unrelated).append((path, found))
    matchable = sum(len(phases[path][0]) >= fingerprint.MIN_MATCHED_SECONDS for path in real)
    print("| real clips | with 3+ hashed seconds | matched a clip of another source | matched one of its own source |")
    print("|---|---|---|---|")
    print(f"| {len(real)} | {matchable} | {len(unrelated)} | {len(same_source)} |")
    for path, found in unrelated + same_source:
        print(f"  {path} -> {found.payload} ({found.seconds_matched}/{found.seconds_compared} s, "
              f"{found.mean_distance_bits:.1f} bits)")
    hashes = np.array([s.hash for p in phases.values() for s in p[0]], dtype=np.uint64)
    owners = np.array([source[name] for name, p in phases.items() for _ in p[0]])
    near = total = 0
    for index in range(len(hashes) - 1):
        others = slice(index + 1, None)
        unrelated_mask = owners[others] != owners[index]
        distances = np.bitwise_count(hashes[others] ^ hashes[index])[unrelated_mask]
        near += int((distances <= MAX_DISTANCE_BITS).sum())
        total += int(unrelated_mask.sum())
    print(f"pairs of seconds of clips of different sources within {MAX_DISTANCE_BITS} bits: {near} of {total:,} "
          f"({near / total:.1e})")


def cost(count: int) -> None:
    picked = [DATA / clip["path"] for clip in spread(catalogue(), count)]
    time_fingerprinting(picked, f"{len(picked)} sample clips at their own size")
    time_fingerprinting([minute_of_1080p(picked)], "one minute of 1080p (the sample clips scaled and looped)")


def minute_of_1080p(sources: list[Path]) -> Path:
    """60 s of 1920x1080 H.264 at 25 fps made from `sources` (cached): the issue's unit of cost."""
    path = CACHE / "minute-1080p.mp4"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        frames = (cv2.resize(frame, (1920, 1080), interpolation=cv2.INTER_LINEAR)
                  for source in itertools.cycle(sources) for frame in media.iter_frames(source))
        partial = path.with_suffix(".partial.mp4")
        media.write_video(partial, itertools.islice(frames, 60 * 25), fps=25, crf=23, preset="veryfast")
        partial.rename(path)
    return path


def time_fingerprinting(picked: list[Path], what: str) -> None:
    def timed(fn: Callable[[Path], object]) -> float:
        started = time.perf_counter()
        for path in picked:
            fn(path)
        return time.perf_counter() - started

    seconds = sum(media.probe(path).duration_s for path in picked)
    decode = timed(lambda path: sum(1 for _ in media.iter_timed_frames(path, "gray")))
    signing = timed(fingerprint_clip)
    reading = timed(read_clip)
    print(f"\ncost: {what}, {seconds:.0f} s of video")
    print("| work | seconds | per second of video (ms) | vs plain decode |")
    print("|---|---|---|---|")
    readings = len(fingerprint.READ_CENTRES) * fingerprint.READ_PHASES
    for label, spent in (("plain decode (baseline)", decode), ("decode + fingerprint as signed", signing),
                         (f"decode + fingerprint as read ({readings} variants)", reading)):
        print(f"| {label} | {spent:.2f} | {1000 * spent / seconds:.1f} | {spent / decode:.2f}x |")


def ledger_of(rows: int) -> Path:
    """A SQLite ledger of `rows` fingerprinted seconds (random hashes, SECONDS_PER_CREDENTIAL per credential)."""
    path = CACHE / f"ledger-{rows}.sqlite"
    if path.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    work = path.with_suffix(".partial")
    work.unlink(missing_ok=True)
    Ledger.open(work).close()
    rng = np.random.default_rng(rows)
    record = {"sha256": "0" * 64, "manifest_store": bytes(200), "signer": "CN=Benchmark",
              "signer_chain_pem": "-----BEGIN CERTIFICATE-----", "model": "bench",
              "created_at": "2026-12-01T00:00:00+00:00", "claim_generator": "provenance", "state": DONE,
              "replaced_by": None}
    with sqlite3.connect(work) as connection:
        for credential in range(rows // SECONDS_PER_CREDENTIAL):
            payload = f"{credential:016x}"
            values = {**record, "payload": payload, "path": f"/clips/{credential}.mp4"}
            connection.execute(INSERT_RECORD, (*(values[name] for name in RECORD_COLUMNS), "bench:0:0"))
            hashes = rng.integers(0, 2**63, SECONDS_PER_CREDENTIAL, dtype=np.int64)
            connection.executemany(INSERT_FINGERPRINT, [
                (payload, 1000 * i, 1000 * i + 1000, int(h), *chunks(int(h))) for i, h in enumerate(hashes)])
    work.rename(path)
    return path


def lookup(rows: int) -> None:
    path = ledger_of(rows)
    query = read_clip(DATA / spread(catalogue(), 1)[0]["path"])
    hashes = [s.hash for seconds in query for s in seconds]
    with Ledger.open(path) as ledger:
        started = time.perf_counter()
        for _ in range(LOOKUP_REPEATS):
            ledger.fingerprint_candidates(hashes)
        indexed = (time.perf_counter() - started) / LOOKUP_REPEATS
    keys = [chunks(value) for value in hashes]
    where = " OR ".join(f"+c{i} IN ({', '.join('?' * len(keys))})" for i in range(4))  # unary + skips an index
    with sqlite3.connect(path) as connection:
        started = time.perf_counter()
        for _ in range(LOOKUP_REPEATS // 4 or 1):
            connection.execute(f"SELECT payload, start_ms, hash FROM {FINGERPRINT_TABLE} WHERE {where}",
                               [key[i] for i in range(4) for key in keys]).fetchall()
        scan = (time.perf_counter() - started) / (LOOKUP_REPEATS // 4 or 1)
    print(f"\nlookup: {len(set(hashes))} hashes of one clip (as read) in a ledger of {rows:,} fingerprinted "
          "seconds (SQLite)")
    print("| lookup | ms per clip | vs full scan |")
    print("|---|---|---|")
    print(f"| full scan (baseline) | {1000 * scan:.1f} | 1.00x |")
    print(f"| 4 x 16-bit chunk index | {1000 * indexed:.1f} | {indexed / scan:.2f}x |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=12, help="clips for robustness and cost")
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000, 1_000_000],
                        help="fingerprinted seconds in each lookup ledger")
    parser.add_argument("--only", choices=["robustness", "false-matches", "cost", "lookup"])
    args = parser.parse_args()
    parts = {"robustness": lambda: robustness(args.clips), "false-matches": false_matches,
             "cost": lambda: cost(args.clips), "lookup": lambda: [lookup(rows) for rows in args.rows]}
    for name, part in parts.items():
        if args.only in (None, name):
            part()


if __name__ == "__main__":
    main()
