"""Stamp clips: watermark, sign a C2PA manifest, record the credential in the ledger, write atomically."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from provenance import __version__, media
from provenance.errors import BadInput, LedgerError, UnsupportedFormat
from provenance.files import check_output, move_into_place, sha256_file, work_dir
from provenance.fingerprint import Fingerprinter, Second, feed_clip, hashing, luma_of_rgb, luma_of_yuv420p
from provenance.fingerprint import soft_binding as fingerprint_binding
from provenance.keys import Credentials, default_home, read_watermark_secret
from provenance.manifest import (
    SIGNABLE_VIDEO,
    Generation,
    Ingredient,
    build_manifest,
    now_iso,
    read_evidence,
    sign_file,
)

__all__ = ["Generation", "Ingredient", "SignResult", "Stamper", "sign"]

DEFAULT_STRENGTH = 1.0
DEFAULT_CRF = 18
DEFAULT_FPS = 25.0  # the frame rate assumed for a clip that does not state one
# The smallest short side whose mark reads back from the stamped file: of three 2 s clips, 3 read at 48 rows, 2 at
# 40 and none at 32 or fewer (after an H.264 CRF 23 re-encode: 3 at 64 rows, 2 at 48).
MIN_WATERMARK_SIDE_PX = 48


@dataclass(frozen=True)
class SignResult:
    """What one signing produced."""

    path: Path
    payload: str
    sha256: str
    watermarked: bool
    frames: int
    manifest_bytes: int

    def to_dict(self) -> dict:
        return {
            "path": str(self.path), "payload": self.payload, "sha256": self.sha256,
            "watermarked": self.watermarked, "frames": self.frames, "manifest_bytes": self.manifest_bytes,
        }


def _signer_name(chain_pem: bytes) -> str:
    from cryptography import x509

    return x509.load_pem_x509_certificates(chain_pem)[0].subject.rfc4514_string()


class Stamper:
    """Signs clips under one home: its credentials, watermark key and ledger, loaded once.

    An existing output is refused unless `overwrite`; the credentials issued for a replaced file stay in the
    ledger, marked replaced by the new one.
    """

    def __init__(
        self,
        home: str | os.PathLike | None = None,
        credentials: Credentials | None = None,
        ledger=None,
        watermark: bool = True,
        strength: float = DEFAULT_STRENGTH,
        crf: int = DEFAULT_CRF,
        overwrite: bool = False,
    ) -> None:
        from provenance.ledger import Ledger

        self.home = Path(home) if home else default_home()
        self.overwrite = overwrite
        self.credentials = credentials or Credentials.load(self.home)
        self.watermark = watermark
        self.strength = strength
        self.crf = crf
        self._key = self._watermark_key() if watermark else None
        self._signer = self.credentials.signer()
        self._signer_name = _signer_name(self.credentials.chain_pem)
        self.ledger = ledger if isinstance(ledger, Ledger) else Ledger.open(ledger, home=self.home)
        if not self.ledger.writable:
            self.ledger.close()
            raise LedgerError(f"ledger {self.ledger.where} is read-only here; every signing must be recorded in it")

    def _watermark_key(self):
        from provenance.watermark import WatermarkKey

        return WatermarkKey(read_watermark_secret(self.home))

    def close(self) -> None:
        self.ledger.close()

    def __enter__(self) -> Stamper:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def sign_clip(
        self,
        src: str | os.PathLike,
        dst: str | os.PathLike,
        generation: Generation,
        ingredients: Sequence[Ingredient] = (),
        progress: Callable[[int], None] | None = None,
    ) -> SignResult:
        """Stamp an existing clip into `dst`; a clip that already carries a manifest becomes its parent.

        Our own earlier watermark on the clip is replaced by the new one, so a stripped copy still reads.
        """
        src, dst = Path(src), self._check_dst(dst, [src, *(i.path for i in ingredients)])
        info = media.probe(src)
        if not self.watermark and not info.signable:
            raise UnsupportedFormat(f"{src}: {info.container} cannot carry a C2PA manifest; sign an MP4 or MOV")
        ingredients = list(ingredients)
        parent = read_evidence(src)
        if parent.present and all(i.path != src for i in ingredients):
            ingredients.append(Ingredient(src, "parentOf"))
        payload = self._new_payload()
        self._check_markable(info.width, info.height)
        printer = Fingerprinter()
        with work_dir(dst) as work:
            if self.watermark:
                marked = work / f"marked{dst.suffix}"
                embedder, existing = self._embedder(payload), self.existing_mark(src)

                feed = hashing(printer, info.fps or DEFAULT_FPS, luma_of_yuv420p)

                def restamp(frame: np.ndarray, index: int) -> np.ndarray:
                    feed(frame, index)
                    return embedder.embed_yuv420p(existing.remove_yuv420p(frame) if existing else frame, index)

                frames = media.transcode(src, marked, restamp, pix_fmt="yuv420p", crf=self.crf, progress=progress)
            else:
                marked, frames = src, info.frame_count
                feed_clip(src, [printer])
            return self._finish(marked, dst, work, generation, ingredients, payload, frames, printer.seconds())

    def existing_mark(self, clip: str | os.PathLike):
        """Our mark already on `clip` (to take out before stamping it again), or None."""
        if not self.watermark:
            return None
        from provenance.watermark.remove import ExistingMark

        return ExistingMark.find(clip, self._key, self.strength)

    def sign_frames(
        self,
        frames: Iterable[np.ndarray],
        dst: str | os.PathLike,
        fps: float,
        generation: Generation,
        ingredients: Sequence[Ingredient] = (),
        progress: Callable[[int], None] | None = None,
    ) -> SignResult:
        """Watermark and encode RGB frames (H, W, 3 uint8) into `dst`, then sign and record it."""
        dst = self._check_dst(dst, [i.path for i in ingredients])
        payload = self._new_payload()
        embedder = self._embedder(payload)
        printer = Fingerprinter()
        feed = hashing(printer, fps, luma_of_rgb)
        with work_dir(dst) as work:
            encoded = work / f"encoded{dst.suffix}"
            writer: media.VideoWriter | None = None
            try:
                for index, frame in enumerate(frames):
                    if writer is None:
                        self._check_markable(frame.shape[1], frame.shape[0])
                        writer = media.VideoWriter(encoded, frame.shape[1], frame.shape[0], fps, crf=self.crf)
                    feed(frame, index)
                    writer.write(embedder.embed_rgb(frame, index) if embedder else frame)
                    if progress:
                        progress(1)
                if writer is None:
                    raise BadInput("the generator produced no frames")
                writer.close()
            except BaseException:
                if writer is not None:
                    writer.__exit__(Exception, None, None)
                raise
            return self._finish(encoded, dst, work, generation, ingredients, payload, writer.frames_written,
                                printer.seconds())

    def _check_markable(self, width: int, height: int) -> None:
        """Refuse to watermark a frame too small for its mark ever to be read back."""
        if self.watermark and min(width, height) < MIN_WATERMARK_SIDE_PX:
            raise BadInput(f"{width}x{height} is too small to carry a readable watermark (the short side needs "
                           f"{MIN_WATERMARK_SIDE_PX} px): make it larger, or sign it without a watermark "
                           f"(sign --no-watermark, Stamper(watermark=False))")

    def _embedder(self, payload):
        if not self.watermark:
            return None
        from provenance.watermark import Embedder

        return Embedder(self._key, payload, strength=self.strength)

    def _new_payload(self):
        from provenance.watermark import Payload

        return Payload.random()

    def _check_dst(self, dst: str | os.PathLike, inputs: Iterable[str | os.PathLike]) -> Path:
        dst = check_output(dst, inputs, overwrite=self.overwrite)
        if dst.suffix.lower() not in SIGNABLE_VIDEO:
            raise UnsupportedFormat(f"output {dst} must be .mp4 or .mov: only those can carry a C2PA manifest")
        return dst

    def _finish(
        self, unsigned: Path, dst: Path, work: Path, generation: Generation, ingredients: Sequence[Ingredient],
        payload, frames: int, fingerprint: list[Second],
    ) -> SignResult:
        from provenance.ledger import Record
        from provenance.watermark import ALGORITHM_ID

        created_at = now_iso()
        soft_binding = (ALGORITHM_ID, bytes.fromhex(payload.hex)) if self.watermark else None
        manifest = build_manifest(dst.name, generation, created_at, soft_binding, ingredients,
                                  fingerprint_binding(fingerprint) if fingerprint else None)
        signed = work / f"signed{dst.suffix}"
        store = sign_file(unsigned, signed, manifest, self._signer, ingredients)
        digest = sha256_file(signed)
        self.ledger.begin(Record(
            payload=payload.hex, sha256=digest, manifest_store=store, signer=self._signer_name,
            signer_chain_pem=self.credentials.chain_pem.decode(), model=generation.model, created_at=created_at,
            path=str(dst.resolve()), claim_generator=f"provenance {__version__}", state="pending",
        ), fingerprint)
        placed = []

        def put_in_place() -> None:
            move_into_place(signed, dst, self.overwrite)
            placed.append(dst)

        try:
            self.ledger.complete(payload.hex, put_in_place)
        except BaseException:
            if not placed:  # once the file is in place, its pending row is settled by the next reconcile
                self.ledger.abandon(payload.hex)
            raise
        return SignResult(dst, payload.hex, digest, self.watermark, frames, len(store))


def sign(
    src: str | os.PathLike,
    dst: str | os.PathLike,
    model: str,
    *,
    home: str | os.PathLike | None = None,
    prompt: str | None = None,
    include_prompt: bool = False,
    seed: int | None = None,
    ingredients: Sequence[Ingredient] = (),
    watermark: bool = True,
    strength: float = DEFAULT_STRENGTH,
    ledger=None,
    overwrite: bool = False,
) -> SignResult:
    """Stamp one clip with the keys under `home`: the one-call form of `Stamper.sign_clip`."""
    generation = Generation(model=model, prompt=prompt, include_prompt=include_prompt, seed=seed)
    with Stamper(home, ledger=ledger, watermark=watermark, strength=strength, overwrite=overwrite) as stamper:
        return stamper.sign_clip(src, dst, generation, ingredients)
