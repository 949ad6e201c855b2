"""Detector of AI-generated video from pixels alone: train, evaluate, score.

The public names load their modules on first use, so the command line starts without scikit-learn or torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_HOME_OF = {
    "Clip": "detector.data",
    "ClipScore": "detector.model",
    "Dataset": "detector.data",
    "Detector": "detector.model",
    "TrainConfig": "detector.config",
    "evaluate": "detector.evaluation",
    "leave_one_generator_out": "detector.evaluation",
    "load": "detector.model",
    "load_dataset": "detector.data",
    "train": "detector.training",
}

__all__ = sorted(_HOME_OF)


def __getattr__(name: str) -> Any:
    if name not in _HOME_OF:
        raise AttributeError(f"module 'detector' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOME_OF[name]), name)
