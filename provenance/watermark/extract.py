"""Extraction: frame residuals summed on the grid, re-aligned by the sync field, then a test and a decode.

Each frame is resized to the 256x256 grid (whatever its size or aspect ratio), high-passed and divided
by its local level; the residuals are summed over frames and the sum's spectrum is whitened. It is
searched for the sync field over scale and aspect (crops keeping 68-100% of each side, 1.2% steps, the two
sides' fractions up to 8% apart, at half resolution), horizontal flip and every shift, then refined per axis
at full resolution, to a fraction of a cell.

The decision is a one-sided z-test on the correlation with the key's detection noise, standardised by
the spread of the same correlation at all other circular shifts of that noise. The alignment is chosen
with the sync noise only, and the canvas's component along the sync field as the chosen alignment sees
it is taken out of the test, so the search does not bias it. The payload decode adds evidence: one of an
unmarked clip's 8 candidate words passes the 24 check bits with probability at most q = 8 * 2^-24, so the
p-value is q * P(Z >= z) when one passes and q + (1 - q) * P(Z >= z) when none does. "detected" needs
p <= 1e-6.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field

import cv2
import numpy as np
from scipy.special import ndtr

from provenance import media
from provenance.borders import framed
from provenance.errors import BadInput
from provenance.watermark.pattern import (
    DETECTION_ENERGY,
    GRID_CELLS,
    PAYLOAD_ENERGY,
    SYNC_ENERGY,
    WatermarkKey,
    band_filter,
)
from provenance.watermark.payload import (
    CODED_BITS,
    CRC_BITS,
    LIST_PATHS,
    PAYLOAD_BITS,
    Payload,
    checked_payload,
    decode_candidates,
    encode_payload,
)

FALSE_POSITIVE_RATE = 1e-6  # per clip: p-value at or below this means "detected"
INCONCLUSIVE_P = 1e-3  # p-values between the two thresholds mean "inconclusive"
CHECK_PASS_PROBABILITY = LIST_PATHS * 2.0**-CRC_BITS  # chance that one of an unmarked clip's candidates passes
MIN_VISIBLE_FRACTION = 0.68  # smallest crop searched, as a fraction of each side
COARSE_SCALE_STEP = 0.012  # relative step of the scale search
# Ratios of the kept height to the kept width (as fractions of each side) the coarse search tries: a crop that
# keeps 88% of the height and 82% of the width is 1.07. The per-axis refinement closes the rest of the gap.
COARSE_ASPECTS = (1 / 1.08, 1 / 1.04, 1.0, 1.04, 1.08)
FINE_SCALE_STEPS = (0.004, 0.002)  # relative scale steps of the per-axis refinement rounds
COARSE_CELLS = GRID_CELLS // 2  # the uniform-scale search runs at half resolution
COARSE_SCREENED = 8  # best coarse (scale, flip) candidates re-scored at full resolution
COARSE_KEPT = 2  # of those, the best are refined per axis
RUNNER_UP_READINGS = 4  # the next best screened alignments, read too for a verifier matching against its ledger
MAX_GROUPS = 256  # per-frame evidence is kept for this many frames, then for runs of consecutive frames
FIRST_CHECK_FRAMES = 24  # streaming extraction checks for a decisive result after 24, 48, 96, ... frames
EARLY_CHECKS = 8  # at most this many early checks (up to 3072 frames)
EARLY_CHECK_SHARE = 0.05  # share of the false-positive budget spent on early checks, split evenly among them
MIN_FRAME_SIDE_PX = 16
# An alignment closer than this to unscaled and unshifted is the stamped frame's own (the search's finest steps).
UNCROPPED_SCALE_TOLERANCE = 0.003
UNCROPPED_SHIFT_TOLERANCE_CELLS = 0.25
NULL_EXCLUDED_CELLS = 8  # shifts this close to zero are not used to estimate the null spread
LONG_CLIP_SECONDS = 20.0  # longer clips are read from their reference frames only
MAX_READ_FRAMES = 4096  # an unmarked clip is read to its end or this many frames (about 30 s of decoding at 1080p)
HIGH_PASS_SIGMA_CELLS = 1.5  # content below this scale is removed before correlation
LOCAL_LEVEL_CELLS = 9  # window over which the residual's local level is measured
LOCAL_LEVEL_FLOOR = 0.5  # luma levels; keeps flat areas from being amplified without bound
WHITENING_WINDOW_BINS = 9  # the summed residual's power spectrum is averaged over this many bins per side


@dataclass
class Detection:
    """What extraction found: a three-state verdict, the payload (only if its check bits pass), evidence."""

    state: str
    payload: Payload | None
    p_value: float
    frames: int
    per_frame: list[float] = field(default_factory=list)
    z_detection: float = 0.0
    z_sync: float = 0.0
    alignment: tuple[float, float, float, float, bool] = (1.0, 1.0, 0.0, 0.0, False)
    raw_bits: np.ndarray | None = None  # the decoder's 64 payload bits before the check (diagnostics only)
    coded_soft: np.ndarray | None = None  # evidence for each coded bit (positive: 1), N(0, 1) on unmarked clips
    uncropped_soft: np.ndarray | None = None  # the same at the stamped frame's own alignment, when another was chosen
    runner_up_soft: list[np.ndarray] = field(default_factory=list)  # the same at the next best alignments found
    issued_compared: int = 0  # payloads of the ledger the evidence was matched against (0: read without them)

    @property
    def detected(self) -> bool:
        return self.state == "detected"

    def to_dict(self) -> dict:
        return {
            "detected": self.detected,
            "state": self.state,
            "payload": self.payload.hex if self.payload else None,
            "p_value": self.p_value,
            "frames": self.frames,
            "issued_compared": self.issued_compared,
        }


@dataclass(frozen=True)
class _Alignment:
    scale_y: float
    scale_x: float
    shift_y: float  # canvas cell of received cell 0, per axis
    shift_x: float
    flipped: bool
    z_sync: float

    @property
    def uncropped(self) -> bool:
        """Whether this is, within the search's precision, the stamped frame's own alignment (not cropped, not
        flipped)."""
        offset = max(min(shift % GRID_CELLS, -shift % GRID_CELLS) for shift in (self.shift_y, self.shift_x))
        scale_error = max(abs(1 - self.scale_y), abs(1 - self.scale_x))
        return not self.flipped and scale_error < UNCROPPED_SCALE_TOLERANCE and offset < UNCROPPED_SHIFT_TOLERANCE_CELLS


UNCROPPED = _Alignment(1.0, 1.0, 0.0, 0.0, False, 0.0)


class _FrameSums:
    """Frame residuals on the grid, summed in at most MAX_GROUPS runs of consecutive frames."""

    def __init__(self) -> None:
        self.groups: list[np.ndarray] = []
        self.group_size = 1
        self.frames = 0

    def add(self, luma: np.ndarray) -> None:
        grid = content_residual(
            cv2.resize(luma, (GRID_CELLS, GRID_CELLS), interpolation=cv2.INTER_AREA).astype(np.float32)
        )
        if self.groups and self.frames % self.group_size:
            self.groups[-1] += grid
        else:
            self.groups.append(grid)
        self.frames += 1
        if len(self.groups) > MAX_GROUPS:
            pairs = [self.groups[i] + self.groups[i + 1] for i in range(0, len(self.groups) - 1, 2)]
            self.groups = pairs + ([self.groups[-1]] if len(self.groups) % 2 else [])
            self.group_size *= 2

    def total(self) -> np.ndarray:
        return np.sum(self.groups, axis=0)


def content_residual(grid: np.ndarray) -> np.ndarray:
    """High-pass a frame on the grid and divide by its local level, so edges do not drown the mark."""
    residual = grid - cv2.GaussianBlur(grid, (0, 0), HIGH_PASS_SIGMA_CELLS)
    level = np.sqrt(np.maximum(cv2.blur(residual * residual, (LOCAL_LEVEL_CELLS, LOCAL_LEVEL_CELLS)), 0.0))
    return residual / (level + LOCAL_LEVEL_FLOOR)


def whitening_gain(grid: np.ndarray) -> np.ndarray:
    """FFT-domain gain that flattens a grid's own spectrum (1 / its locally averaged magnitude).

    What is left of the content after the high-pass still has a coloured, often directional spectrum;
    dividing it out lets every frequency of the mark count by its own signal-to-content ratio.
    """
    power = np.fft.fftshift(np.abs(np.fft.fft2(grid)) ** 2).astype(np.float32)
    window = (WHITENING_WINDOW_BINS, WHITENING_WINDOW_BINS)
    smoothed = np.fft.ifftshift(cv2.blur(power, window, borderType=cv2.BORDER_REFLECT)).astype(np.float64)
    return 1.0 / np.sqrt(smoothed + 1e-9 * max(float(smoothed.mean()), 1e-30))


def _whitened(grid: np.ndarray, gain: np.ndarray) -> np.ndarray:
    return np.real(np.fft.ifft2(np.fft.fft2(grid) * gain))


def _filtered(grid: np.ndarray, gain: np.ndarray) -> np.ndarray:
    return np.fft.irfft2(np.fft.rfft2(grid) * gain, s=grid.shape)


def _to_canvas(residual: np.ndarray, scale_y: float, scale_x: float, shift_y: float, shift_x: float) -> np.ndarray:
    matrix = np.array([[scale_x, 0.0, shift_x], [0.0, scale_y, shift_y]], dtype=np.float64)
    return cv2.warpAffine(
        residual.astype(np.float32), matrix, (GRID_CELLS, GRID_CELLS), flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT, borderValue=0.0,
    )


class _Analysis:
    """Alignment search and statistics over one whitened residual grid, for one key."""

    def __init__(self, key: WatermarkKey, residual: np.ndarray) -> None:
        self.key = key
        self.residual = residual
        self.runners_up: list[_Alignment] = []  # screened alignments after the best, by sync score
        self.sync_spectrum = np.fft.rfft2(key.sync_noise) * key.gain
        coarse_field = cv2.resize(key.sync_field, (COARSE_CELLS, COARSE_CELLS), interpolation=cv2.INTER_AREA)
        self.coarse_gain = band_filter(COARSE_CELLS)
        self.coarse_sync = np.fft.rfft2(coarse_field)
        self.detection_spectrum = np.fft.rfft2(key.detection_noise)

    def _sync_scores(self, source: np.ndarray, scale_y: float, scale_x: float) -> np.ndarray:
        """z-score of the sync field at every integer shift, for one scale (circular cross-correlation)."""
        canvas = _to_canvas(source, scale_y, scale_x, 0.0, 0.0)
        spectrum = np.fft.rfft2(canvas)
        norm = np.sqrt(np.sum(np.fft.irfft2(spectrum * self.key.gain, s=canvas.shape) ** 2))
        if norm <= 0:
            return np.zeros_like(canvas)
        return np.fft.irfft2(np.conj(spectrum) * self.sync_spectrum, s=canvas.shape) / norm

    def _best_shift(self, scores: np.ndarray, scale_y: float, scale_x: float) -> tuple[float, float, float]:
        """Highest score among shifts a crop could produce, refined to a fraction of a cell."""
        limit_y = int(np.ceil(GRID_CELLS * (1 - scale_y))) + 1
        limit_x = int(np.ceil(GRID_CELLS * (1 - scale_x))) + 1
        rows = np.arange(-1, limit_y + 1) % GRID_CELLS
        cols = np.arange(-1, limit_x + 1) % GRID_CELLS
        window = scores[np.ix_(rows, cols)]
        iy, ix = np.unravel_index(int(np.argmax(window)), window.shape)
        peak = float(window[iy, ix])
        return peak, rows[iy] + _subcell(scores[:, cols[ix]], rows[iy]), cols[ix] + _subcell(scores[rows[iy]], cols[ix])

    def _coarse_score(self, source: np.ndarray, scale_y: float, scale_x: float) -> float:
        """Normalised sync correlation at the best shift for one scale per axis, on a half-resolution grid."""
        canvas = cv2.resize(_to_canvas(source, scale_y, scale_x, 0.0, 0.0), (COARSE_CELLS, COARSE_CELLS),
                            interpolation=cv2.INTER_AREA)
        spectrum = np.fft.rfft2(canvas) * self.coarse_gain
        norm = float(np.sqrt(np.sum(np.abs(spectrum) ** 2)))
        if norm <= 0:
            return 0.0
        scores = np.fft.irfft2(np.conj(spectrum) * self.coarse_sync, s=canvas.shape) / norm
        rows, cols = (np.arange(-1, int(np.ceil(COARSE_CELLS * (1 - scale))) + 2) % COARSE_CELLS
                      for scale in (scale_y, scale_x))
        return float(scores[np.ix_(rows, cols)].max())

    def _aligned(self, source: np.ndarray, scale_y: float, scale_x: float, flipped: bool) -> _Alignment:
        """The best shift for one scale per axis, as an alignment scored by its sync peak."""
        peak, shift_y, shift_x = self._best_shift(self._sync_scores(source, scale_y, scale_x), scale_y, scale_x)
        return _Alignment(scale_y, scale_x, shift_y, shift_x, flipped, peak)

    def _refined(self, source: np.ndarray, start: _Alignment, step: float) -> _Alignment:
        """The best of an alignment and its neighbours one relative `step` away in scale, per axis."""
        found = [start]
        for step_y in (-step, 0.0, step):
            for step_x in (-step, 0.0, step):
                if step_y or step_x:
                    scale_y, scale_x = min(start.scale_y * (1 + step_y), 1.0), min(start.scale_x * (1 + step_x), 1.0)
                    found.append(self._aligned(source, scale_y, scale_x, start.flipped))
        return max(found, key=lambda a: a.z_sync)

    def best_alignment(self) -> _Alignment:
        """The alignment that best explains the sync field.

        A search over scale and aspect at half resolution; its best few re-scored at full resolution (the
        half-resolution score alone misranks weak marks); the best two refined per axis, in finer steps.
        """
        sources = {False: self.residual, True: self.residual[:, ::-1]}
        coarse = [
            (self._coarse_score(sources[flipped], scale_y, scale_x), scale_y, scale_x, flipped)
            for flipped in (False, True)
            for scale_y, scale_x in _coarse_scales()
        ]
        screened = [
            self._aligned(sources[flipped], scale_y, scale_x, flipped)
            for _, scale_y, scale_x, flipped in sorted(coarse, reverse=True)[:COARSE_SCREENED]
        ]
        ranked = sorted(screened, key=lambda a: a.z_sync, reverse=True)
        best = max((self._refined(sources[a.flipped], a, FINE_SCALE_STEPS[0]) for a in ranked[:COARSE_KEPT]),
                   key=lambda a: a.z_sync)
        for step in FINE_SCALE_STEPS[1:]:
            best = self._refined(sources[best.flipped], best, step)
        self.runners_up = [a for a in ranked if not _same_place(a, best)]
        return best

    def canvas(self, alignment: _Alignment, residual: np.ndarray | None = None) -> np.ndarray:
        """A residual moved onto the embedding grid by an alignment, then band-passed."""
        source = self.residual if residual is None else residual
        if alignment.flipped:
            source = source[:, ::-1]
        moved = _to_canvas(source, alignment.scale_y, alignment.scale_x, alignment.shift_y, alignment.shift_x)
        return _filtered(moved, self.key.gain)

    def _detection_z(self, canvas: np.ndarray, alignment: _Alignment) -> float:
        """Correlation with the detection noise, in units of its spread over all other circular shifts.

        Shifting the key's noise keeps its spectrum, so the shifted correlations are null samples that
        share this clip's interaction with this key's spectrum; the cells next to zero shift are left out
        because a marked clip correlates there too. The alignment was chosen where the sync field fits
        best, so an unmarked canvas leans towards the sync field as that alignment sees it (cut to the
        visible area); the detection noise's chance overlap with that shape would move z by up to 0.1,
        so the correlation along it is taken out first.
        """
        cross = np.fft.irfft2(np.conj(np.fft.rfft2(canvas)) * self.detection_spectrum, s=canvas.shape)
        near = np.abs(((np.arange(GRID_CELLS) + GRID_CELLS // 2) % GRID_CELLS) - GRID_CELLS // 2) <= NULL_EXCLUDED_CELLS
        null = cross[~(near[:, None] & near[None, :])]
        spread = float(np.sqrt(np.mean(null**2)))
        if spread <= 0:
            return 0.0
        visible = _to_canvas(np.ones_like(canvas), alignment.scale_y, alignment.scale_x, alignment.shift_y,
                             alignment.shift_x)
        selected = _filtered(visible * self.key.sync_field, self.key.gain)
        overlap = float(np.sum(selected * self.key.detection_noise)) / max(float(np.sum(selected * selected)), 1e-12)
        return (float(cross[0, 0]) - overlap * float(np.sum(canvas * selected))) / spread

    def coded_evidence(self, canvas: np.ndarray) -> np.ndarray:
        """Each coded bit's evidence on an aligned canvas: N(0, 1) on unmarked clips, positive for a 1."""
        cells = self.key.bit_of_cell.ravel()
        evidence = np.bincount(cells, (canvas * self.key.payload_noise).ravel(), minlength=CODED_BITS)
        spread = np.sqrt(np.bincount(cells, (canvas**2).ravel(), minlength=CODED_BITS))
        return evidence / np.maximum(spread, 1e-12)

    def test(
        self, alignment: _Alignment
    ) -> tuple[float, Payload | None, float, np.ndarray | None, np.ndarray | None]:
        """(p-value, payload or None, detection z, unchecked payload bits, coded-bit evidence) at one alignment."""
        canvas = self.canvas(alignment)
        norm = float(np.sqrt(np.sum(canvas**2)))
        if norm <= 0:
            return 1.0, None, 0.0, None, None
        z_detection = self._detection_z(canvas, alignment)
        soft = self.coded_evidence(canvas)
        candidates = decode_candidates(soft)
        payload = checked_payload(candidates, self.key.check_mask)
        p_detection = float(ndtr(-z_detection))
        if payload is not None:
            p_value = CHECK_PASS_PROBABILITY * p_detection
        else:
            p_value = CHECK_PASS_PROBABILITY + (1 - CHECK_PASS_PROBABILITY) * p_detection
        return p_value, payload, z_detection, candidates[0][:PAYLOAD_BITS], soft


def _same_place(a: _Alignment, b: _Alignment) -> bool:
    """Whether two alignments read the same cells, within a cell, or nearly so."""
    near = max(abs(a.scale_y - b.scale_y), abs(a.scale_x - b.scale_x)) < 2 * COARSE_SCALE_STEP
    return a.flipped == b.flipped and near and max(abs(a.shift_y - b.shift_y), abs(a.shift_x - b.shift_x)) < 2


def _subcell(profile: np.ndarray, index: int) -> float:
    """Parabolic interpolation of a peak's position around an integer index (circular)."""
    left, mid, right = profile[(index - 1) % len(profile)], profile[index], profile[(index + 1) % len(profile)]
    curvature = left - 2 * mid + right
    return float(np.clip(0.5 * (left - right) / curvature, -0.5, 0.5)) if curvature < 0 else 0.0


def _coarse_scales() -> list[tuple[float, float]]:
    """(scale_y, scale_x) pairs of the coarse search: every step of scale, at every aspect, inside the range."""
    count = int(np.log(MIN_VISIBLE_FRACTION) / np.log(1 - COARSE_SCALE_STEP)) + 1
    pairs = [(scale * min(1.0, aspect), scale * min(1.0, 1 / aspect))
             for scale in ((1 - COARSE_SCALE_STEP) ** i for i in range(count)) for aspect in COARSE_ASPECTS]
    return [pair for pair in pairs if min(pair) >= MIN_VISIBLE_FRACTION]


def _state(p_value: float, payload: Payload | None) -> str:
    """`detected` needs a payload that passes its keyed check bits as well as a small p-value.

    The check bits alone bound the false-positive rate by 8 * 2^-24 whatever the distribution of the
    detection statistic on unusual content (very smooth frames have a heavier tail than Gaussian),
    so strong detection evidence without a readable payload is only `inconclusive`.
    """
    if p_value <= FALSE_POSITIVE_RATE and payload is not None:
        return "detected"
    return "inconclusive" if p_value <= INCONCLUSIVE_P else "not-detected"


def _luma(frame: np.ndarray) -> np.ndarray:
    if frame.ndim not in (2, 3) or (frame.ndim == 3 and frame.shape[2] != 3):
        raise BadInput(f"expected a luma (H, W) or RGB (H, W, 3) frame, got shape {frame.shape}")
    if min(frame.shape[:2]) < MIN_FRAME_SIDE_PX:
        raise BadInput(f"frame {frame.shape[1]}x{frame.shape[0]} is too small to carry a watermark")
    if frame.dtype != np.uint8:
        raise BadInput(f"expected uint8 frames, got {frame.dtype}")
    return frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)


def _analyse(sums: _FrameSums, key: WatermarkKey, p_weight: float = 1.0) -> Detection:
    """Align, test and decode the summed residuals; the p-value is divided by `p_weight` (its share of alpha)."""
    if sums.frames == 0:
        raise BadInput("no frames to extract a watermark from")
    total = sums.total()
    whitening = whitening_gain(total)
    analysis = _Analysis(key, _whitened(total, whitening))
    alignment = analysis.best_alignment()
    p_value, payload, z_detection, raw_bits, coded_soft = analysis.test(alignment)
    p_value = min(1.0, p_value / p_weight)
    uncropped_soft = None
    if payload is None and coded_soft is not None and not alignment.uncropped:
        # Most re-uploads are re-encoded or rescaled, not cropped: a verifier holding the ledger can also
        # read the payload where the stamp put it, in case the weak sync field pointed elsewhere.
        uncropped_soft = analysis.coded_evidence(analysis.canvas(UNCROPPED))
    runner_up_soft = []
    if payload is None and coded_soft is not None:
        # A weak sync field after a crop and heavy compression can rank the true alignment second or third: the
        # ledger's codewords are long enough to tell it there (each reading counts in its false-positive bound).
        places = [a for a in analysis.runners_up if not a.uncropped][:RUNNER_UP_READINGS]
        runner_up_soft = [analysis.coded_evidence(analysis.canvas(a)) for a in places]
    expected = _expected_noise(key, payload)
    per_frame = []
    for group in sums.groups:
        canvas = analysis.canvas(alignment, _whitened(group, whitening))
        norm = float(np.sqrt(np.sum(canvas**2)) * np.sqrt(np.mean(expected**2)))
        per_frame.append(float(np.sum(canvas * expected)) / norm if norm > 0 else 0.0)
    return Detection(
        state=_state(p_value, payload), payload=payload, p_value=p_value, frames=sums.frames, per_frame=per_frame,
        z_detection=z_detection, z_sync=alignment.z_sync, raw_bits=raw_bits, coded_soft=coded_soft,
        uncropped_soft=uncropped_soft, runner_up_soft=runner_up_soft,
        alignment=(alignment.scale_y, alignment.scale_x, alignment.shift_y, alignment.shift_x, alignment.flipped),
    )


def _expected_noise(key: WatermarkKey, payload: Payload | None) -> np.ndarray:
    """The noise behind the fields a marked clip is known to carry (sync, detection, and a decoded payload)."""
    expected = np.sqrt(SYNC_ENERGY) * key.sync_noise + np.sqrt(DETECTION_ENERGY) * key.detection_noise
    if payload is not None:
        signs = (2.0 * encode_payload(payload, key.check_mask).astype(np.float32) - 1.0)[key.bit_of_cell]
        expected = expected + np.sqrt(PAYLOAD_ENERGY) * key.payload_noise * signs
    return expected


def extract_frames(frames: Iterable[np.ndarray], key: WatermarkKey) -> Detection:
    """Look for the watermark in frames held in memory (luma (H, W) or RGB (H, W, 3), uint8)."""
    return _read(key, (_luma(np.asarray(frame)) for frame in frames))


def extract(path: str | os.PathLike, key: WatermarkKey, max_frames: int | None = MAX_READ_FRAMES) -> Detection:
    """Look for the watermark in a clip, streaming its luma in bounded memory.

    Clips longer than LONG_CLIP_SECONDS are read from their reference frames only (about half the
    frames of a typical H.264 stream, decoded in about half the time), and no clip beyond its first
    `max_frames` frames read (None: to its end), so an hour-long upload is judged in bounded time on its
    first minutes. Evidence is checked after 24, 48, 96, ... frames; once a check detects the mark and its
    payload passes the check bits, the rest of the clip is not decoded. Looking several times is paid for:
    each early check's p-value is multiplied by 8 / 0.05 = 160 and the final one divided by 0.95, so the
    chance that any look declares an unmarked clip "detected" stays at most 1e-6.
    """
    long_clip = media.probe(path).duration_s > LONG_CLIP_SECONDS
    frames = media.iter_reference_frames(path, "gray") if long_clip else media.iter_frames(path, "gray")
    return _read(key, frames, max_frames, EARLY_CHECKS)


def _read(
    key: WatermarkKey, lumas: Iterable[np.ndarray], max_frames: int | None = None, early_checks: int = 0
) -> Detection:
    """Sum the frames inside each place the picture may be (the whole frame and, when there seem to be borders
    a platform added around it, inside those: `provenance.borders`) and test each; the false-positive budget
    is split evenly among the places and looks, so it stays at most 1e-6 per clip. The first detection with
    its payload wins, else the reading whose coded bits carry the most energy."""
    boxes, frames = framed(lumas)
    sums = [_FrameSums() for _ in boxes]
    share = 1.0 / len(boxes)
    next_check, checks = FIRST_CHECK_FRAMES, 0
    for frame in frames:
        sums[0].add(frame)  # the whole frame
        half = None
        for box, box_sums in zip(boxes[1:], sums[1:], strict=True):
            picture = frame[box]
            if min(picture.shape) >= 2 * GRID_CELLS:  # large enough to reduce from a half-size copy
                half = _halved(frame) if half is None else half
                picture = half[tuple(_halved_span(span) for span in box)]
            box_sums.add(picture)
        if max_frames is not None and sums[0].frames >= max_frames:
            break
        if sums[0].frames == next_check and checks < early_checks:  # the places take turns, so looks cost the same
            early = _analyse(sums[checks % len(sums)], key, share * EARLY_CHECK_SHARE / early_checks)
            if early.detected and early.payload is not None:
                return early
            next_check, checks = 2 * next_check, checks + 1
    final_share = 1.0 - EARLY_CHECK_SHARE if early_checks else 1.0
    readings = [_analyse(box_sums, key, share * final_share) for box_sums in sums]
    return min(readings, key=lambda reading: (not reading.detected, -_payload_energy(reading)))


def _halved(frame: np.ndarray) -> np.ndarray:
    """A frame at half size, for the readings inside borders: OpenCV averages exact halves several times faster
    than it reduces a large frame straight to the grid (only pictures still larger than the grid after halving:
    it enlarges by repeating pixels)."""
    return cv2.resize(frame, (frame.shape[1] // 2, frame.shape[0] // 2), interpolation=cv2.INTER_AREA)


def _halved_span(span: slice) -> slice:
    return slice(None if span.start is None else span.start // 2, None if span.stop is None else span.stop // 2)


def _payload_energy(detection: Detection) -> float:
    """The most energy among a detection's readings of the coded bits: where the picture really is, the payload
    is strongest even when too weak to decode (and on unmarked frames the energy says nothing about which codeword
    a reading is closest to, so choosing by it leaves matching against the ledger fair)."""
    readings = [soft for soft in (detection.coded_soft, detection.uncropped_soft) if soft is not None]
    return max((float(np.sum(np.square(soft, dtype=np.float64))) for soft in readings), default=0.0)
