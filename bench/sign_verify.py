"""Cost of C2PA signing and verification against the cost of just decoding the clip.

For a 60-second and a 3-minute 720p24 clip (made once, cached in bench/.cache/), each operation runs in
its own process so its peak memory is its own: PyAV decode (the baseline), c2pa-python signing the same
manifest on its own (what the library itself holds), `provenance` signing (manifest only, no watermark;
includes the ledger row), and `provenance` verification of the C2PA manifest.

    .venv/bin/python bench/sign_verify.py
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CACHE = Path(__file__).resolve().parent / ".cache"
CLIPS_S = (60, 180)
WIDTH, HEIGHT, FPS = 1280, 720, 24


def make_clip(seconds: int) -> Path:
    """A textured, moving 720p clip; cached."""
    from provenance import media

    path = CACHE / f"clip_{seconds}s_720p.mp4"
    if path.exists():
        return path
    CACHE.mkdir(exist_ok=True)
    rng = np.random.default_rng(seconds)
    texture = rng.integers(0, 40, (HEIGHT * 2, WIDTH * 2, 3), dtype=np.uint8)
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH]
    gradient = np.stack([xx * 200 // WIDTH, yy * 200 // HEIGHT, (xx + yy) * 100 // (WIDTH + HEIGHT)], -1)

    def frames():
        for t in range(seconds * FPS):
            dx, dy = (t * 3) % WIDTH, (t * 2) % HEIGHT
            yield (gradient + texture[dy:dy + HEIGHT, dx:dx + WIDTH]).astype(np.uint8)

    tmp = path.with_suffix(".part.mp4")
    media.write_video(tmp, frames(), fps=FPS, crf=23, preset="veryfast")
    tmp.rename(path)
    return path


def run_child(operation: str, clip: Path, home: Path) -> None:
    """Run one operation and print its wall time and this process's peak RSS as JSON."""
    from provenance import manifest as c2pa_manifest
    from provenance.keys import Credentials
    from provenance.signing import Generation, Stamper
    from provenance.verify import Verifier

    work = Path(tempfile.mkdtemp(dir=CACHE))
    start = time.perf_counter()
    if operation == "decode":
        import av

        with av.open(str(clip)) as container:
            container.streams.video[0].thread_type = "AUTO"
            for _ in container.decode(video=0):
                pass
    elif operation == "c2pa-sign":
        creds = Credentials.load(home)
        definition = c2pa_manifest.build_manifest("out.mp4", Generation(model="bench"), c2pa_manifest.now_iso())
        c2pa_manifest.sign_file(clip, work / "out.mp4", definition, creds.signer())
    elif operation == "sign":
        with Stamper(home, watermark=False) as stamper:
            stamper.sign_clip(clip, work / "out.mp4", Generation(model="bench"))
    elif operation == "verify":
        signed = CACHE / f"signed_{clip.name}"
        start = time.perf_counter()
        report = Verifier(trust_anchors=home / "ca.pem", home=home, watermark=False).verify(signed)
        assert report.c2pa.validation_state == "Trusted", report.to_dict()
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "peak_mb": peak_rss_mb()}))


def peak_rss_mb() -> float:
    """This process's own peak resident memory (VmHWM; unlike ru_maxrss, not inherited through fork)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def measure(operation: str, clip: Path, home: Path) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", operation, str(clip), str(home)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--child", nargs=3, metavar=("OP", "CLIP", "HOME"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_child(args.child[0], Path(args.child[1]), Path(args.child[2]))
        return
    from provenance.keys import keygen
    from provenance.signing import Generation, Stamper

    home = CACHE / "home"
    if not (home / "signing-key.pem").exists():
        keygen(home, force=True)
    rows = []
    for seconds in CLIPS_S:
        clip = make_clip(seconds)
        signed = CACHE / f"signed_{clip.name}"
        if not signed.exists():
            with Stamper(home, watermark=False) as stamper:
                stamper.sign_clip(clip, signed, Generation(model="bench"))
        results = {op: measure(op, clip, home) for op in ("decode", "c2pa-sign", "sign", "verify")}
        rows.append((seconds, clip.stat().st_size / 1e6, results))
    print("| clip | size | decode (baseline) | c2pa-python sign | provenance sign | provenance verify |")
    print("|---|---|---|---|---|---|")
    for seconds, size_mb, r in rows:
        base = r["decode"]["seconds"]
        cells = [f"{r[op]['seconds']:.2f} s ({r[op]['seconds'] / base:.3f}×), {r[op]['peak_mb']:.0f} MB"
                 for op in ("c2pa-sign", "sign", "verify")]
        print(f"| {seconds} s 720p24 | {size_mb:.0f} MB | {base:.2f} s, {r['decode']['peak_mb']:.0f} MB | "
              + " | ".join(cells) + " |")
    print("\ntimes as ratio to PyAV decoding the same clip; memory is each process's peak RSS")


if __name__ == "__main__":
    main()
