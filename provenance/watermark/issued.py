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

from provenance.watermark.extract import FALSE_POSITIVE_RATE, Detection
from provenance.watermark.pattern import WatermarkKey
from provenance.watermark.payload import CODED_BITS, Payload, encode_payloads

BATCH_PAYLOADS = 65536  # issued payloads scored per matrix product (bounds memory)
# Only readings whose coded-bit evidence has more energy than noise would (chi-square, 282 degrees of freedom)
# are matched, so an unmarked reading costs a scan of the ledger 1 time in 4. A gate can only lower the
# false-positive rate; this one keeps almost every match that the bound allows (at 0.45 deviations of evidence per
# coded bit, 83% of readings pass both, against 86% for the bound alone and 67% with a gate at 0.05).
MATCH_MAX_P = 0.25


def match_issued(detection: Detection, key: WatermarkKey, issued: Iterable[Payload]) -> Detection:
    """`detection` with the best-matching issued payload when that match alone is decisive; else unchanged.

    The evidence is read at the chosen alignment and, when that is not the stamped frame's own, at that one
    too; the false-positive bound counts every comparison (payloads × alignments). A detection that already
    carries a payload, or whose coded-bit evidence is no stronger than noise's (chi-square p-value above
    MATCH_MAX_P) at either alignment, is returned as it is.
    """
    if detection.payload is not None:
        return detection
    readings = [soft for soft in (detection.coded_soft, detection.uncropped_soft) if soft is not None]
    strong = [np.asarray(soft, dtype=np.float32) for soft in readings if _stronger_than_noise(soft)]
    if not strong:
        return detection
    evidence = np.stack(strong, axis=1)
    best_score, best_payload, count = -np.inf, None, 0
    for batch in _batches(issued):
        signs = 2.0 * encode_payloads(np.stack([p.bits for p in batch]), key.check_mask).astype(np.float32) - 1.0
        scores = (signs @ evidence).max(axis=1) / np.sqrt(CODED_BITS)
        top = int(np.argmax(scores))
        if scores[top] > best_score:
            best_score, best_payload = float(scores[top]), batch[top]
        count += len(batch)
    if best_payload is None:
        return detection
    p_value = min(1.0, count * len(readings) * float(ndtr(-best_score)))
    if p_value > FALSE_POSITIVE_RATE:
        return detection
    return replace(detection, state="detected", payload=best_payload, p_value=p_value, issued_compared=count)


def _stronger_than_noise(soft: np.ndarray) -> bool:
    return chdtrc(CODED_BITS, float(np.sum(np.asarray(soft, dtype=np.float64) ** 2))) <= MATCH_MAX_P


def _batches(issued: Iterable[Payload]) -> Iterable[list[Payload]]:
    batch: list[Payload] = []
    for payload in issued:
        batch.append(payload)
        if len(batch) == BATCH_PAYLOADS:
            yield batch
            batch = []
    if batch:
        yield batch
