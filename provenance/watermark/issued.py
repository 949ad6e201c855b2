"""Reading a payload through the list of issued ones, when the blind decode fails.

Blind decoding has to find 64 bits among 2^64 words; a verifier that holds the ledger knows the few
payloads that were ever issued and can test each one's whole codeword at once. For one fixed codeword
the score sum(sign_b * evidence_b) / sqrt(bits) is exactly N(0, 1) on an unmarked clip (the evidence of
the coded bits is independent, unit-variance Gaussian there, because the key's payload noise is), so the
best of N issued payloads, read at K alignments, is `detected` only if N * K * P(Z >= its score) <= 1e-6:
the false-positive rate per clip stays at most 1e-6 however many payloads were issued. A marked clip scores about
sqrt(282) = 17 times its per-bit evidence, which carries it well past the threshold when there are too
few good bits left for the code.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

import numpy as np
from scipy.special import chdtrc, ndtr

from provenance.errors import BadInput
from provenance.watermark.extract import FALSE_POSITIVE_RATE, Detection
from provenance.watermark.pattern import WatermarkKey
from provenance.watermark.payload import CODED_BITS, PAYLOAD_BITS, Payload, encode_payloads

BATCH_PAYLOADS = 65536  # issued payloads coded per batch (bounds memory)
PAYLOAD_HEX_CHARS = PAYLOAD_BITS // 4
PACKED_PAIRS = -(-CODED_BITS // 16)  # a codeword packed as 16-bit pairs of bytes: 18
# Only readings whose coded-bit evidence has more energy than noise would (chi-square, 282 degrees of freedom)
# are matched, so an unmarked reading costs a scan of the ledger 1 time in 4. A gate can only lower the
# false-positive rate; this one keeps almost every match that the bound allows (at 0.45 deviations of evidence per
# coded bit, 83% of readings pass both, against 86% for the bound alone and 67% with a gate at 0.05).
MATCH_MAX_P = 0.25
# The sign (+1 for a 1) of each of a byte's 8 bits, most significant first, for every byte value: (256, 8).
BYTE_SIGNS = 2.0 * np.unpackbits(np.arange(256, dtype=np.uint8)[:, None], axis=1).astype(np.float32) - 1.0


class IssuedPayloads:
    """Issued payloads with their codewords under one key, coded once and kept for every clip matched after.

    Codewords are packed 16 coded bits to a pair of bytes (36 bytes a payload: 36 MB per million), and a
    reading is scored against all of them through tables of partial sums per pair, without unpacking them:
    about 40 ms per million payloads and reading.
    """

    def __init__(self, key: WatermarkKey, payloads_hex: Iterable[str] = ()) -> None:
        self.key = key
        self._payloads: list[np.ndarray] = []  # (n, 8) bytes per added batch
        self._codewords: list[np.ndarray] = []  # (18, n) packed codeword pairs per added batch
        self.add(payloads_hex)

    def __len__(self) -> int:
        return sum(len(batch) for batch in self._payloads)

    def add(self, payloads_hex: Iterable[str]) -> None:
        """Code and keep more payloads (hex); a value that is not a 64-bit payload cannot be a mark's and is left
        out."""
        batch: list[str] = []
        for text in payloads_hex:
            if len(text) == PAYLOAD_HEX_CHARS:
                batch.append(text)
            if len(batch) == BATCH_PAYLOADS:
                self._add_batch(batch)
                batch = []
        if batch:
            self._add_batch(batch)

    def _add_batch(self, payloads_hex: list[str]) -> None:
        try:
            values = np.frombuffer(bytes.fromhex("".join(payloads_hex)), dtype=np.uint8).reshape(-1, PAYLOAD_BITS // 8)
        except ValueError:
            raise BadInput("issued payloads must be hexadecimal") from None
        packed = np.packbits(encode_payloads(np.unpackbits(values, axis=1), self.key.check_mask), axis=1)
        pairs = packed[:, 0::2].astype(np.uint16) | (packed[:, 1::2].astype(np.uint16) << 8)
        self._payloads.append(values)
        self._codewords.append(np.ascontiguousarray(pairs.T))

    def scores(self, evidence: np.ndarray) -> np.ndarray:
        """Each payload's best score over the readings `evidence` (CODED_BITS, K): (N,), N(0, 1) when unmarked."""
        readings = evidence.shape[1]
        padded = np.zeros((PACKED_PAIRS * 16, readings), dtype=np.float32)
        padded[:CODED_BITS] = evidence
        # byte_tables[j, v, k]: what codeword byte j holding value v adds to reading k's correlation
        byte_tables = np.einsum("vi,jik->jvk", BYTE_SIGNS, padded.reshape(-1, 8, readings))
        # pair_tables[k, j, odd * 256 + even]: the same for the pair of bytes (2j, 2j + 1), one lookup for both
        pair_tables = byte_tables[0::2, None, :, :] + byte_tables[1::2, :, None, :]
        pair_tables = np.ascontiguousarray(pair_tables.reshape(PACKED_PAIRS, 65536, readings).transpose(2, 0, 1))
        best = []
        for codewords in self._codewords:
            totals = np.zeros((readings, codewords.shape[1]), dtype=np.float32)
            for reading, tables in enumerate(pair_tables):
                for pair, table in enumerate(tables):
                    totals[reading] += np.take(table, codewords[pair])
            best.append(totals.max(axis=0))
        return np.concatenate(best) / np.float32(np.sqrt(CODED_BITS))

    def payload(self, index: int) -> Payload:
        for values in self._payloads:
            if index < len(values):
                return Payload(values[index].tobytes())
            index -= len(values)
        raise IndexError(index)

    def match(self, detection: Detection) -> Detection:
        """`detection` with the best-matching issued payload when that match alone is decisive; else unchanged.

        The evidence is read at the chosen alignment and, when that is not the stamped frame's own, at that one
        too, and at up to 4 runner-up alignments of the sync search; the false-positive bound counts every
        comparison (payloads × alignments). A detection that already
        carries a payload, or whose coded-bit evidence is no stronger than noise's (chi-square p-value above
        MATCH_MAX_P) at either alignment, is returned as it is.
        """
        if not worth_matching(detection) or not len(self):
            return detection
        readings = _readings(detection)
        strong = [soft for soft in readings if _stronger_than_noise(soft)]
        scores = self.scores(np.stack(strong, axis=1))
        top = int(np.argmax(scores))
        count = len(scores)
        p_value = min(1.0, count * len(readings) * float(ndtr(-float(scores[top]))))
        if p_value > FALSE_POSITIVE_RATE:
            return detection
        return replace(detection, state="detected", payload=self.payload(top), p_value=p_value, issued_compared=count)


def worth_matching(detection: Detection) -> bool:
    """Whether a detection lacks a payload and has coded-bit evidence stronger than noise's at one of its readings."""
    return detection.payload is None and any(_stronger_than_noise(soft) for soft in _readings(detection))


def match_issued(detection: Detection, key: WatermarkKey, issued: Iterable[Payload]) -> Detection:
    """`IssuedPayloads.match` against `issued`, coded for this one call."""
    if not worth_matching(detection):
        return detection
    return IssuedPayloads(key, (payload.hex for payload in issued)).match(detection)


def _readings(detection: Detection) -> list[np.ndarray]:
    readings = (detection.coded_soft, detection.uncropped_soft, *detection.runner_up_soft)
    return [np.asarray(soft, dtype=np.float32) for soft in readings if soft is not None]


def _stronger_than_noise(soft: np.ndarray) -> bool:
    return chdtrc(CODED_BITS, float(np.sum(np.asarray(soft, dtype=np.float64) ** 2))) <= MATCH_MAX_P
