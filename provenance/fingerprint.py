"""A perceptual fingerprint of a clip: one 64-bit DCT hash per second of video, and matching a copy against them.

Each second's frames are cut to their central 80% (each way), shrunk to 32x32 luma and averaged; the hash takes
the 64 lowest-frequency AC coefficients of that image's DCT, one bit each for being above their median.
Re-encoding and rescaling move few bits; seconds that are flat (a fade to black, a title card on a plain
ground) carry no hash. A clip matches a credential when enough of its seconds lie within `MAX_DISTANCE_BITS`
of that credential's seconds at one time offset, so a trimmed copy matches too. The reader hashes the clip at
several phases of the second, since a trim rarely falls on a whole second of the original, and with several
central cuts, since in a copy cropped to 85% of its area the signed centre is the central 87% of the picture.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import cv2
import numpy as np

from provenance import media

__all__ = ["ALGORITHM_ID", "FingerprintMatch", "Fingerprinter", "Second", "chunks", "feed_clip", "fingerprint_clip",
           "hamming", "match", "read_clip", "soft_binding"]

ALGORITHM_ID = "io.provenance.dct-second.v1"
HASH_BITS = 64
SIDE_PX = 32
WINDOW_MS = 1000
# A second whose averaged 32x32 luma varies by less than this (standard deviation, levels) is flat: no hash.
MIN_CONTRAST_LEVELS = 4.0
# Hashes this close are the same second. The ledger's index finds every hash within it exactly: split into
# CHUNKS 16-bit chunks, two hashes within CHUNKS - 1 bits agree on at least one chunk (pigeonhole).
CHUNKS = 4
CHUNK_BITS = HASH_BITS // CHUNKS
MAX_DISTANCE_BITS = CHUNKS - 1
# A match needs this many seconds, at one offset, and this share of the clip's hashed seconds: a clip shorter than
# three seconds is never matched, since the hash of a second or two of plain content (a gradient, a blob) is common.
MIN_MATCHED_SECONDS = 3
MIN_MATCHED_FRACTION = 0.5
READ_PHASES = 4  # the reader hashes the clip with its seconds starting at 0, 1/4, 1/2 and 3/4 s
CENTRE_FRACTION = 0.8  # the part of the picture (each way, centred) that is hashed at signing
# The central cuts the reader hashes: the signed centre in the clip as signed, and in copies cropped (centred)
# to about 90%, 85% and 80% of their area.
READ_CENTRES = (CENTRE_FRACTION, 0.84, 0.87, 0.9)

_ROWS, _COLS = np.divmod(np.arange(1, HASH_BITS + 1), 9)  # the first 64 AC coefficients of a 9x9 corner, row-major


@dataclass(frozen=True)
class Second:
    """The hash of one second of video, from `start_ms` to `end_ms` of the clip."""

    start_ms: int
    end_ms: int
    hash: int


def hash_image(image: np.ndarray) -> int | None:
    """The 64-bit hash of a 32x32 float32 luma image; None when it is flat."""
    if float(image.std()) < MIN_CONTRAST_LEVELS:
        return None
    coefficients = cv2.dct(image)[_ROWS, _COLS]
    bits = coefficients > np.median(coefficients)
    return int.from_bytes(np.packbits(bits).tobytes(), "big")


def shrink(luma: np.ndarray, centre: float = CENTRE_FRACTION) -> np.ndarray:
    """The central `centre` (each way) of a frame's luma (H, W) as the 32x32 float image the hash is taken of."""
    height, width = luma.shape
    keep_h, keep_w = max(1, round(height * centre)), max(1, round(width * centre))
    top, left = (height - keep_h) // 2, (width - keep_w) // 2
    cut = luma[top:top + keep_h, left:left + keep_w]
    return cv2.resize(cut, (SIDE_PX, SIDE_PX), interpolation=cv2.INTER_AREA).astype(np.float32)


class Fingerprinter:
    """Hashes frames into seconds as they are decoded: `add` each frame's luma with its time, then `seconds()`.

    `phase_ms` shifts where the seconds begin and `centre` is the central cut hashed (the reader's variants).
    """

    def __init__(self, phase_ms: int = 0, centre: float = CENTRE_FRACTION) -> None:
        self.phase_ms = phase_ms
        self.centre = centre
        self._seconds: list[Second] = []
        self._window = -1
        self._sum = np.zeros((SIDE_PX, SIDE_PX), np.float64)
        self._frames = 0

    def add(self, time_s: float, luma: np.ndarray) -> None:
        """Add one frame's luma (H, W uint8); frames come in time order."""
        self.add_small(time_s, shrink(luma, self.centre))

    def add_small(self, time_s: float, small: np.ndarray) -> None:
        """Add one frame already cut and shrunk by `shrink` (to share it between phases)."""
        window = int((time_s * 1000 - self.phase_ms) // WINDOW_MS)
        if window < 0:
            return
        if window != self._window:
            self._flush()
            self._window = window
        self._sum += small
        self._frames += 1

    def _flush(self) -> None:
        if self._frames:
            value = hash_image((self._sum / self._frames).astype(np.float32))
            if value is not None:
                start_ms = self._window * WINDOW_MS + self.phase_ms
                self._seconds.append(Second(start_ms, start_ms + WINDOW_MS, value))
        self._sum[:] = 0
        self._frames = 0

    def seconds(self) -> list[Second]:
        """The hashed seconds so far (the last, possibly partial, second included)."""
        self._flush()
        return list(self._seconds)


def feed_clip(path: str | os.PathLike, printers: Iterable[Fingerprinter]) -> None:
    """Decode a clip once into each of `printers`, its times counted from its first frame."""
    printers = list(printers)
    first_s: float | None = None
    for time_s, luma in media.iter_timed_frames(path, "gray"):
        first_s = time_s if first_s is None else first_s
        small = {centre: shrink(luma, centre) for centre in {printer.centre for printer in printers}}
        for printer in printers:
            printer.add_small(time_s - first_s, small[printer.centre])


def fingerprint_clip(path: str | os.PathLike) -> list[Second]:
    """A clip's hashed seconds, as signing records them."""
    printer = Fingerprinter()
    feed_clip(path, [printer])
    return printer.seconds()


def read_clip(path: str | os.PathLike) -> list[list[Second]]:
    """A clip's hashed seconds as the reader takes them: one list per phase and central cut, the first as signed."""
    printers = [Fingerprinter(phase * WINDOW_MS // READ_PHASES, centre)
                for centre in READ_CENTRES for phase in range(READ_PHASES)]
    feed_clip(path, printers)
    return [printer.seconds() for printer in printers]


def luma_of_yuv420p(frame: np.ndarray) -> np.ndarray:
    """The luma plane of a yuv420p frame array (H * 3/2, W)."""
    return frame[: frame.shape[0] * 2 // 3]


def luma_of_rgb(frame: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)


def hashing(printer: Fingerprinter, fps: float, luma: Callable[[np.ndarray], np.ndarray]
            ) -> Callable[[np.ndarray, int], np.ndarray]:
    """A frame function (frame, index) -> frame that also feeds each frame to `printer`, for encoders."""

    def feed(frame: np.ndarray, index: int) -> np.ndarray:
        printer.add(index / fps, luma(frame))
        return frame

    return feed


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()


def chunks(value: int) -> tuple[int, ...]:
    """The hash's CHUNKS 16-bit chunks, most significant first: the ledger's index keys."""
    mask = (1 << CHUNK_BITS) - 1
    return tuple((value >> (CHUNK_BITS * (CHUNKS - 1 - i))) & mask for i in range(CHUNKS))


def soft_binding(seconds: Iterable[Second]) -> dict:
    """The C2PA soft-binding assertion of a fingerprint: one block per second, its timespan in ms."""
    return {"alg": ALGORITHM_ID, "blocks": [
        {"scope": {"timespan": {"start": s.start_ms, "end": s.end_ms}}, "value": f"{s.hash:016x}"} for s in seconds
    ]}


@dataclass(frozen=True)
class FingerprintMatch:
    """A credential whose seconds a clip matches: how many, out of how many hashed, and how closely."""

    payload: str
    seconds_matched: int
    seconds_compared: int
    mean_distance_bits: float
    offset_ms: int  # where the clip starts in the credential's clip

    def to_dict(self) -> dict:
        return {"seconds_matched": self.seconds_matched, "seconds_compared": self.seconds_compared,
                "mean_distance_bits": round(self.mean_distance_bits, 2), "offset_ms": self.offset_ms}


def match(phases: list[list[Second]], candidates: Iterable[tuple[str, int, int]]) -> FingerprintMatch | None:
    """The best credential a clip's hashed seconds (one list per phase and cut, see `read_clip`) match, or None.

    `candidates` are (payload, start_ms, hash) rows of credentials' seconds, e.g. those sharing a chunk with the
    clip's hashes. Seconds are counted at one offset per credential (a copy plays in order), each once.
    """
    by_chunk: dict[tuple[int, int], list[tuple[str, int, int]]] = defaultdict(list)
    for row in candidates:
        for index, key in enumerate(chunks(row[2])):
            by_chunk[index, key].append(row)
    best: FingerprintMatch | None = None
    for seconds in phases:
        votes: dict[tuple[str, int], dict[int, int]] = defaultdict(dict)  # (payload, offset) -> second -> distance
        for second in seconds:
            near = {row for i, key in enumerate(chunks(second.hash)) for row in by_chunk.get((i, key), ())}
            for payload, start_ms, value in near:
                distance = hamming(value, second.hash)
                if distance <= MAX_DISTANCE_BITS:
                    matched = votes[payload, start_ms - second.start_ms]
                    matched[second.start_ms] = min(distance, matched.get(second.start_ms, HASH_BITS))
        for (payload, offset), matched in votes.items():
            found = FingerprintMatch(payload, len(matched), len(seconds), sum(matched.values()) / len(matched), offset)
            if _enough(found) and (best is None or _rank(found) > _rank(best)):
                best = found
    return best


def _enough(found: FingerprintMatch) -> bool:
    return (found.seconds_matched >= MIN_MATCHED_SECONDS
            and found.seconds_matched >= MIN_MATCHED_FRACTION * found.seconds_compared)


def _rank(found: FingerprintMatch) -> tuple[float, float]:
    return found.seconds_matched / found.seconds_compared, -found.mean_distance_bits
