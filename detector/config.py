"""Settings of a training run: a plain record, light enough for the command line to read its defaults."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TrainConfig:
    """Settings of one training run (stored in the model card)."""

    backbone: str = "test_efficientnet"  # timm's 99 K-parameter EfficientNet: bigger ones learn sources
    weights: str | None = None
    tile_px: int = 128
    representation: str = "residual+statistics+temporal"
    batch_size: int = 32
    # Backbone training steps on top of the statistics. Trained backbones were kept in none of 24
    # leave-one-generator-out folds (docs/detector.md), so the reference recipe fits the statistics alone.
    max_steps: int = 0
    eval_every_steps: int = 25
    patience_evals: int = 4
    learning_rate: float = 3e-3
    weight_decay: float = 0.05
    augment_variants: int = 2
    validation_fraction: float = 0.15
    min_gain_auc: float = 0.02  # trained weights replace the untrained network only if they beat it by this much
    seed: int = 0
    torch_threads: int = 1  # one thread is several times faster than two on a shared, busy machine
    name: str = "detector"
    version: str = "1"
