"""Demo: generate a stamped clip, strip its manifest and re-encode it as an upload platform would, verify.

    make demo            (or: .venv/bin/python examples/demo.py [OUT_DIR])

Every step is the real `provenance` command; the platform's re-encode is PyAV through provenance.media.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np

from provenance import media

SAMPLE_DATA = Path(os.environ.get("PROVENANCE_SAMPLE_DATA")
                   or Path(__file__).resolve().parents[1].parent / "shared" / "data")
PROMPT = "a sailing boat on the sea at sunset, birds, clouds"


def provenance(*args: str | Path) -> None:
    """Run and echo one `provenance` command; stop the demo if it fails."""
    argv = [str(a) for a in args]
    print(f"\n$ provenance {shlex.join(argv)}", flush=True)
    subprocess.run([sys.executable, "-m", "provenance", *argv], check=True)


def platform_reupload(src: Path, dst: Path, crf: int = 30, scale: float = 0.5, keep_area: float = 0.8) -> None:
    """What a platform does to an upload: drop metadata, centre-crop, downscale, re-encode H.264."""
    side = np.sqrt(keep_area)

    def frames():
        for frame in media.iter_frames(src):
            h, w = frame.shape[:2]
            ch, cw = int(h * side), int(w * side)
            top, left = (h - ch) // 2, (w - cw) // 2
            crop = frame[top:top + ch, left:left + cw]
            yield cv2.resize(crop, (int(cw * scale), int(ch * scale)), interpolation=cv2.INTER_AREA)

    media.write_video(dst, frames(), fps=media.probe(src).fps, crf=crf)


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "demo-out").resolve()
    out.mkdir(parents=True, exist_ok=True)
    home = out / "home"
    generated, reuploaded = out / "generated.mp4", out / "reuploaded.mp4"
    for stale in (generated, reuploaded):
        stale.unlink(missing_ok=True)

    provenance("keygen", "--home", home, "--force", "--org", "Demo Studio")
    provenance("generate", PROMPT, "-o", generated, "--seconds", "3", "--size", "1280x720", "--seed", "7",
               "--home", home)
    provenance("verify", generated, "--trust-anchors", home / "ca.pem", "--home", home)

    print(f"\n# the platform strips the manifest, crops to 80% of the area, halves the size, re-encodes CRF 30 "
          f"-> {reuploaded.name}")
    platform_reupload(generated, reuploaded)
    provenance("verify", reuploaded, "--trust-anchors", home / "ca.pem", "--home", home)
    provenance("verify", reuploaded, "--trust-anchors", home / "ca.pem", "--home", home, "--json")

    verify_camera_footage(home)


def verify_camera_footage(home: Path) -> bool:
    """Verify a real camera clip from the sample data; say loudly, and return False, when there is none."""
    camera = sorted((SAMPLE_DATA / "clips" / "real").rglob("*.mp4"))
    if not camera:
        print(f"\n# SKIPPED the last step (verify real camera footage): no sample clips in {SAMPLE_DATA / 'clips/real'}"
              "\n# (set PROVENANCE_SAMPLE_DATA to the sample data folder; see README, Sample data)",
              file=sys.stderr, flush=True)
        return False
    print("\n# real camera footage: no marks, so no accusation")
    provenance("verify", camera[0], "--trust-anchors", home / "ca.pem", "--home", home)
    return True


if __name__ == "__main__":
    main()
