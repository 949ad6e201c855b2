"""Keyed carrier patterns on a fixed grid: a sync field (for re-alignment), a detection field (for the
statistical test) and a payload field (one random cell set per coded bit), all band-limited noise.

Every pattern is band-pass filtered white Gaussian noise drawn from a generator seeded by HMAC-SHA256
of the secret, so without the secret the pattern cannot be predicted, read or forged.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from provenance.errors import KeyMissing
from provenance.watermark.payload import CODED_BITS, CRC_BITS

GRID_CELLS = 256  # the pattern's side, in grid cells; it is stretched over the whole frame
BAND_LOW_CYCLES = 16.0  # lowest spatial frequency carried, in cycles per frame side
BAND_HIGH_CYCLES = 64.0  # highest, in cycles per frame side
MIN_SECRET_BYTES = 16
# Share of the mark's energy given to each field: alignment, the detection test, the payload.
SYNC_ENERGY = 0.19
DETECTION_ENERGY = 0.05
PAYLOAD_ENERGY = 1.0 - SYNC_ENERGY - DETECTION_ENERGY


def band_filter(size: int = GRID_CELLS) -> np.ndarray:
    """Real FFT-domain gain (size, size//2+1) that keeps the carrier band with smooth edges."""
    fy = np.fft.fftfreq(size)[:, None] * size
    fx = np.fft.rfftfreq(size)[None, :] * size
    radius = np.hypot(fy, fx)
    rise = 0.5 - 0.5 * np.cos(np.pi * np.clip((radius - BAND_LOW_CYCLES / 2) / (BAND_LOW_CYCLES / 2), 0, 1))
    fall = 0.5 + 0.5 * np.cos(np.pi * np.clip((radius - BAND_HIGH_CYCLES * 0.8) / (BAND_HIGH_CYCLES * 0.2), 0, 1))
    return rise * fall


def apply_band(field_2d: np.ndarray, gain: np.ndarray) -> np.ndarray:
    """Filter a grid by an FFT-domain gain (circular, zero phase)."""
    return np.fft.irfft2(np.fft.rfft2(field_2d) * gain, s=field_2d.shape)


@dataclass(frozen=True, repr=False)
class WatermarkKey:
    """The secret that generates, and is needed to find, the watermark's patterns."""

    secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.secret, bytes | bytearray) or len(self.secret) < MIN_SECRET_BYTES:
            raise KeyMissing(f"the watermark secret must be at least {MIN_SECRET_BYTES} bytes")

    def __repr__(self) -> str:
        return f"WatermarkKey(id={self.key_id})"

    @property
    def key_id(self) -> str:
        """A short public fingerprint of the key (reveals nothing about the patterns)."""
        return self._derive(b"key-id")[:4].hex()

    def _derive(self, label: bytes) -> bytes:
        return hmac.new(bytes(self.secret), b"provenance.watermark.v1/" + label, hashlib.sha256).digest()

    def rng(self, label: str) -> np.random.Generator:
        """A random generator seeded from the secret and a label; different labels are independent."""
        return np.random.default_rng(np.frombuffer(self._derive(label.encode()), dtype=np.uint32).tolist())

    @cached_property
    def gain(self) -> np.ndarray:
        return band_filter()

    @cached_property
    def sync_noise(self) -> np.ndarray:
        """White noise whose band-passed version is the sync field."""
        return self.rng("sync").standard_normal((GRID_CELLS, GRID_CELLS)).astype(np.float32)

    @cached_property
    def detection_noise(self) -> np.ndarray:
        return self.rng("detection").standard_normal((GRID_CELLS, GRID_CELLS)).astype(np.float32)

    @cached_property
    def payload_noise(self) -> np.ndarray:
        return self.rng("payload").standard_normal((GRID_CELLS, GRID_CELLS)).astype(np.float32)

    @cached_property
    def bit_of_cell(self) -> np.ndarray:
        """Which coded bit each grid cell carries: a keyed, balanced, scattered assignment."""
        cells = GRID_CELLS * GRID_CELLS
        order = np.arange(cells) % CODED_BITS
        return self.rng("cells").permutation(order).reshape(GRID_CELLS, GRID_CELLS)

    @cached_property
    def check_mask(self) -> np.ndarray:
        """Keyed mask XOR-ed into the check bits, so that an all-zero or all-one word never passes."""
        return self.rng("check").integers(0, 2, CRC_BITS).astype(np.uint8)

    @cached_property
    def sync_field(self) -> np.ndarray:
        return _unit_rms(apply_band(self.sync_noise, self.gain))

    @cached_property
    def detection_field(self) -> np.ndarray:
        return _unit_rms(apply_band(self.detection_noise, self.gain))

    def payload_field(self, coded_bits: np.ndarray) -> np.ndarray:
        """Band-passed noise whose sign in each cell is flipped where that cell's coded bit is 0."""
        signs = (2.0 * coded_bits.astype(np.float32) - 1.0)[self.bit_of_cell]
        return _unit_rms(apply_band(self.payload_noise * signs, self.gain))

    def mark(self, coded_bits: np.ndarray) -> np.ndarray:
        """The whole mark on the grid (unit RMS): sync + detection + payload fields."""
        combined = (
            np.sqrt(SYNC_ENERGY) * self.sync_field
            + np.sqrt(DETECTION_ENERGY) * self.detection_field
            + np.sqrt(PAYLOAD_ENERGY) * self.payload_field(coded_bits)
        )
        return _unit_rms(combined).astype(np.float32)


def _unit_rms(grid: np.ndarray) -> np.ndarray:
    return grid / max(float(np.sqrt(np.mean(grid**2))), 1e-12)
