"""Detector of AI-generated video from pixels alone: train, evaluate, score (torch is imported only when used)."""

from __future__ import annotations

from detector.data import Clip, Dataset, load_dataset
from detector.evaluation import evaluate, leave_one_generator_out
from detector.model import ClipScore, Detector, load
from detector.training import TrainConfig, train

__all__ = [
    "Clip",
    "ClipScore",
    "Dataset",
    "Detector",
    "TrainConfig",
    "evaluate",
    "leave_one_generator_out",
    "load",
    "load_dataset",
    "train",
]
