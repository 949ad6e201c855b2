"""Baseline: scikit-learn logistic regression on simple forensic statistics of the same normalised frames."""

from __future__ import annotations

import cv2
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from detector.data import Dataset
from detector.frames import FrameStore

SPECTRUM_BINS = 16
BLUR_SIGMA_PX = 1.0


def residual_spectrum(gray: np.ndarray, bins: int = SPECTRUM_BINS) -> np.ndarray:
    """Log power of the noise residual averaged in `bins` radial frequency rings."""
    residual = gray - cv2.GaussianBlur(gray, (0, 0), BLUR_SIGMA_PX)
    power = np.abs(np.fft.fftshift(np.fft.fft2(residual))) ** 2
    height, width = gray.shape
    yy, xx = np.mgrid[:height, :width]
    radius = np.hypot(yy - height / 2, xx - width / 2) / (min(height, width) / 2)
    ring = np.minimum((radius * bins).astype(int), bins - 1)
    return np.log1p(np.bincount(ring.ravel(), power.ravel(), bins) / np.bincount(ring.ravel(), minlength=bins))


def clip_features(frames: np.ndarray) -> np.ndarray:
    """Residual spectrum, colour and temporal statistics of a clip's frames (T, H, W, 3) uint8."""
    as_float = frames.astype(np.float32)
    gray = as_float.mean(axis=3)
    spectrum = np.mean([residual_spectrum(g) for g in gray], axis=0)
    hsv = np.stack([cv2.cvtColor(f, cv2.COLOR_RGB2HSV) for f in frames]).astype(np.float32)
    colour = np.concatenate([as_float.mean(axis=(0, 1, 2)), as_float.std(axis=(0, 1, 2)),
                             [hsv[..., 1].mean(), hsv[..., 1].std()]])
    differences = np.abs(np.diff(gray, axis=0)).mean(axis=(1, 2)) if len(gray) > 1 else np.zeros(1)
    temporal = np.array([np.median(differences), differences.std()])
    return np.concatenate([spectrum, colour, np.log1p(temporal)])


class StatisticsBaseline:
    """Standardised forensic statistics into logistic regression; `fit` then `predict_proba`."""

    def __init__(self, store: FrameStore, feature_memo: dict | None = None) -> None:
        self.store = store
        self.feature_memo = {} if feature_memo is None else feature_memo  # shared across folds of one run

    def features(self, dataset: Dataset, variant: str = "clean") -> np.ndarray:
        rows = []
        for clip in dataset.clips:
            key = (clip.path, variant)
            if key not in self.feature_memo:
                self.feature_memo[key] = clip_features(self.store.frames(clip.path, variant))
            rows.append(self.feature_memo[key])
        return np.stack(rows)

    def fit(self, dataset: Dataset, variants: list[str]) -> StatisticsBaseline:
        """Learn from every clip under every variant (the same augmentations the network sees)."""
        features = np.concatenate([self.features(dataset, v) for v in variants])
        labels = np.tile(dataset.labels, len(variants))
        self.model_ = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, class_weight="balanced", max_iter=2000))
        self.model_.fit(features, labels)
        return self

    def predict_proba(self, dataset: Dataset, variant: str = "clean") -> np.ndarray:
        """Probability each clip is generated."""
        return self.model_.predict_proba(self.features(dataset, variant))[:, 1]
