"""Reading a damaged mark through the ledger: the cost per clip as the ledger grows.

For ledgers of 10,000 to 1,000,000 credentials (SQLite files made once, cached in bench/.cache/), one damaged
mark's evidence is matched against every issued payload, as `provenance verify` does when the blind decode
fails:
- baseline: `match_issued` with the payloads read from the ledger, every codeword coded again for the clip;
- kept: a `Verifier`'s `IssuedFromLedger`, which codes the ledger on its first clip and afterwards only asks
  the ledger whether anything was issued since.
Every match must find the damaged clip's own payload.

    .venv/bin/python bench/ledger_matching.py [--sizes 10000,100000,1000000] [--clips 5]
"""

from __future__ import annotations

import argparse
import sqlite3
import time
from itertools import islice
from pathlib import Path

import numpy as np

from provenance.ledger import DONE, INSERT_RECORD, RECORD_COLUMNS, Ledger, Record
from provenance.verify import IssuedFromLedger
from provenance.watermark import Detection, Payload, WatermarkKey, match_issued
from provenance.watermark.payload import encode_payload

CACHE = Path(__file__).resolve().parent / ".cache" / "ledgers"
KEY = WatermarkKey(b"ledger matching benchmark key 32")
PER_BIT_Z = 0.6  # evidence per coded bit of the damaged mark: too little for the code, plenty for the ledger


def ledger_of(size: int) -> Path:
    """A SQLite ledger of `size` completed credentials with random payloads (cached)."""
    path = CACHE / f"ledger-{size}.sqlite"
    if path.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    Ledger.open(path).close()  # the schema
    rng = np.random.default_rng(size)
    template = Record(payload="", sha256="0" * 64, manifest_store=bytes(200), signer="CN=Benchmark",
                      signer_chain_pem="-----BEGIN CERTIFICATE-----", model="bench", path="",
                      created_at="2026-11-24T00:00:00+00:00", claim_generator="provenance", state=DONE)
    with sqlite3.connect(path) as connection:
        for start in range(0, size, 100_000):
            payloads = rng.integers(0, 256, (min(100_000, size - start), 8), dtype=np.uint8)
            rows = []
            for index, value in enumerate(payloads, start):
                record = {**template.__dict__, "payload": value.tobytes().hex(), "path": f"/clips/{index}.mp4"}
                rows.append((*(record[name] for name in RECORD_COLUMNS), "bench:0:0"))
            connection.executemany(INSERT_RECORD, rows)
    return path


def damaged(payload: Payload, seed: int) -> Detection:
    """What extraction reports for a mark of `payload` too damaged to decode alone."""
    truth = 2.0 * encode_payload(payload, KEY.check_mask) - 1.0
    soft = PER_BIT_Z * truth + np.random.default_rng(seed).standard_normal(truth.size)
    return Detection(state="not-detected", payload=None, p_value=0.5, frames=1, coded_soft=soft)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--clips", type=int, default=5, help="clips matched per ledger")
    args = parser.parse_args()
    print(f"{'credentials':>11} | {'baseline per clip':>17} | {'kept: first clip':>16} | {'kept: next clips':>16} | "
          f"{'speed-up':>8}")
    for size in (int(text) for text in args.sizes.split(",")):
        with Ledger.open(ledger_of(size)) as ledger:
            targets = [Payload.from_hex(hex_payload) for hex_payload in islice(ledger.payloads(), args.clips)]
            clips = [damaged(payload, seed) for seed, payload in enumerate(targets)]
            start = time.perf_counter()
            for clip, payload in zip(clips, targets, strict=True):
                issued = (Payload.from_hex(hex_payload) for hex_payload in ledger.payloads())
                assert match_issued(clip, KEY, issued).payload == payload
            baseline = (time.perf_counter() - start) / len(clips)
            kept = IssuedFromLedger(ledger, KEY)
            times = []
            for clip, payload in zip(clips, targets, strict=True):
                start = time.perf_counter()
                assert kept.current().match(clip).payload == payload
                times.append(time.perf_counter() - start)
        following = float(np.mean(times[1:]))
        print(f"{size:>11,} | {baseline:>15.3f} s | {times[0]:>14.3f} s | {following:>14.3f} s | "
              f"{baseline / following:>7.0f}x")


if __name__ == "__main__":
    main()
