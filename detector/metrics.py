"""Detection metrics (scikit-learn), expected calibration error, tables and ROC plots."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

TARGET_FPR = 0.01
ECE_BINS = 10
METRIC_COLUMNS = ("auc", "ap", "tpr_at_1pct_fpr", "fpr_at_threshold", "ece")


def tpr_at_fpr(labels: np.ndarray, scores: np.ndarray, max_fpr: float = TARGET_FPR) -> float:
    """Highest true-positive rate on the ROC curve whose false-positive rate is at most `max_fpr`."""
    fpr, tpr, _ = roc_curve(labels, scores)
    return float(tpr[fpr <= max_fpr + 1e-12].max())


def expected_calibration_error(labels: np.ndarray, probabilities: np.ndarray, bins: int = ECE_BINS) -> float:
    """Sum over equal-width probability bins of |observed rate - mean probability|, weighted by bin size."""
    labels, probabilities = np.asarray(labels, dtype=np.float64), np.asarray(probabilities, dtype=np.float64)
    index = np.minimum((probabilities * bins).astype(int), bins - 1)
    error = 0.0
    for b in range(bins):
        members = index == b
        if members.any():
            error += members.mean() * abs(labels[members].mean() - probabilities[members].mean())
    return float(error)


def clip_metrics(labels: Sequence[int], scores: Sequence[float], threshold: float | None = None) -> dict:
    """AUC, AP, TPR at 1% FPR, FPR on real at `threshold`, ECE; rank metrics are None when a label is missing."""
    labels, scores = np.asarray(labels, dtype=np.int64), np.asarray(scores, dtype=np.float64)
    both = len(np.unique(labels)) == 2
    real = scores[labels == 0]
    return {
        "clips": len(labels),
        "real": int((labels == 0).sum()),
        "generated": int((labels == 1).sum()),
        "auc": float(roc_auc_score(labels, scores)) if both else None,
        "ap": float(average_precision_score(labels, scores)) if both else None,
        "tpr_at_1pct_fpr": tpr_at_fpr(labels, scores) if both else None,
        "fpr_at_threshold": float((real >= threshold).mean()) if threshold is not None and len(real) else None,
        "tpr_at_threshold": (
            float((scores[labels == 1] >= threshold).mean()) if threshold is not None and (labels == 1).any() else None
        ),
        "ece": expected_calibration_error(labels, scores),
    }


def format_table(rows: Mapping[str, Mapping[str, float | None]], columns: Sequence[str] = METRIC_COLUMNS) -> str:
    """A plain-text table: one row per key, one column per metric."""
    width = max([len("condition"), *(len(k) for k in rows)])
    sizes = [max(8, len(c)) for c in columns]
    lines = [f"{'':{width}}  " + "  ".join(f"{c:>{n}}" for c, n in zip(columns, sizes, strict=True))]
    for name, values in rows.items():
        cells = []
        for column, size in zip(columns, sizes, strict=True):
            value = values.get(column)
            cells.append(f"{'-':>{size}}" if value is None else f"{value:>{size}.3f}")
        lines.append(f"{name:{width}}  " + "  ".join(cells))
    return "\n".join(lines)


def plot_roc(curves: Mapping[str, tuple[Sequence[int], Sequence[float]]], path: str | os.PathLike, title: str) -> None:
    """Draw one ROC curve per named (labels, scores) pair into a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(5, 5), dpi=100)
    for name, (labels, scores) in curves.items():
        if len(np.unique(labels)) == 2:
            fpr, tpr, _ = roc_curve(labels, scores)
            axes.plot(fpr, tpr, label=f"{name} (AUC {roc_auc_score(labels, scores):.3f})")
    axes.plot([0, 1], [0, 1], color="grey", linestyle=":")
    axes.set(xlabel="false-positive rate (real flagged)", ylabel="true-positive rate", title=title)
    axes.legend(loc="lower right", fontsize=7)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
