"""Keyed invisible video watermark: a 64-bit payload that survives re-encoding, rescaling, cropping and trimming.

Detection is a one-sided z-test (p-values uniform on unmarked clips); the clip is declared "detected" when
its p-value is at most FALSE_POSITIVE_RATE = 1e-6 (the false-positive rate per clip), "inconclusive"
between 1e-6 and 1e-3, and "not-detected" above. See docs/watermark.md.
"""

from provenance.watermark.embed import Embedder, watermark_clip
from provenance.watermark.extract import FALSE_POSITIVE_RATE, INCONCLUSIVE_P, Detection, extract, extract_frames
from provenance.watermark.issued import IssuedPayloads, match_issued
from provenance.watermark.pattern import WatermarkKey
from provenance.watermark.payload import Payload

ALGORITHM_ID = "io.provenance.watermark.v1"

__all__ = [
    "ALGORITHM_ID",
    "FALSE_POSITIVE_RATE",
    "INCONCLUSIVE_P",
    "Detection",
    "Embedder",
    "IssuedPayloads",
    "Payload",
    "WatermarkKey",
    "extract",
    "extract_frames",
    "match_issued",
    "watermark_clip",
]
