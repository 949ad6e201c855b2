"""Platt scaling (scikit-learn) of raw logits, and the decision threshold set on held-out real clips."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression

from provenance.errors import ModelError

MAX_FALSE_POSITIVE_RATE = 0.01
INCONCLUSIVE_FALSE_POSITIVE_RATE = 0.10
MIN_SLOPE = 1e-3
VERDICTS = ("real", "inconclusive", "ai-generated")


@dataclass(frozen=True)
class Calibration:
    """score = sigmoid(slope * logit + intercept); verdict from `threshold` and the inconclusive band below it."""

    slope: float
    intercept: float
    threshold: float
    inconclusive_from: float

    def probability(self, logits: np.ndarray | float) -> np.ndarray:
        """Calibrated probability that the input is AI-generated; monotonic in the logit."""
        z = self.slope * np.asarray(logits, dtype=np.float64) + self.intercept
        return 1.0 / (1.0 + np.exp(-np.clip(z, -500, 500)))

    def verdict(self, score: float) -> str:
        """'ai-generated' at or above the threshold, 'inconclusive' in the band below it, else 'real'."""
        if score >= self.threshold:
            return "ai-generated"
        return "inconclusive" if score >= self.inconclusive_from else "real"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Calibration:
        try:
            return cls(*(float(data[k]) for k in ("slope", "intercept", "threshold", "inconclusive_from")))
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"model card has no usable calibration ({exc})") from None


def threshold_for_fpr(real_scores: np.ndarray, max_fpr: float) -> float:
    """Lowest threshold at which at most `max_fpr` of these real scores are at or above it."""
    ranked = np.sort(np.asarray(real_scores, dtype=np.float64))[::-1]
    allowed = int(np.floor(max_fpr * len(ranked)))
    if allowed >= len(ranked):
        return 0.0
    return float(min(1.0, np.nextafter(ranked[allowed], np.inf)))


def fit_calibration(
    logits: np.ndarray, labels: np.ndarray, max_fpr: float = MAX_FALSE_POSITIVE_RATE,
    inconclusive_fpr: float = INCONCLUSIVE_FALSE_POSITIVE_RATE,
) -> Calibration:
    """Fit Platt scaling on held-out clip logits, then the threshold for `max_fpr` on the held-out real clips."""
    logits, labels = np.asarray(logits, dtype=np.float64), np.asarray(labels)
    if set(np.unique(labels).tolist()) != {0, 1}:
        raise ModelError("calibration needs held-out clips of both labels")
    platt = LogisticRegression(C=1e4).fit(logits.reshape(-1, 1), labels)
    slope = max(float(platt.coef_[0, 0]), MIN_SLOPE)
    draft = Calibration(slope, float(platt.intercept_[0]), 1.0, 1.0)
    real_scores = draft.probability(logits[labels == 0])
    threshold = threshold_for_fpr(real_scores, max_fpr)
    inconclusive_from = min(threshold, threshold_for_fpr(real_scores, inconclusive_fpr))
    return Calibration(draft.slope, draft.intercept, threshold, inconclusive_from)
