"""How the frames of a window relate: clip-level statistics of motion and of the high-pass residual over time.

Camera noise is redrawn every frame and follows the scene; a generator's residual can be frozen (textures
glued to the screen), redrawn with the content (flicker), or smoother in time than in space.
"""

from __future__ import annotations

import cv2
import numpy as np

REPEAT_LEVELS = 0.5  # a frame whose mean grey difference to the last kept one is below this repeats it
ENERGY_BLOCK_PX = 16
FLOOR = 1e-3  # added to energies and levels before taking logs
TEMPORAL_STATISTICS = 13


def _residual(grey: np.ndarray) -> np.ndarray:
    return grey - cv2.blur(grey, (3, 3))


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1]) if a.std() > 0 and b.std() > 0 else 0.0


def _moving_frames(frames: np.ndarray) -> np.ndarray:
    """Grey frames with repeats dropped: a low source frame rate repeats frames in the window, and how often it
    does is a trace of the format, not of how the picture was made."""
    grey = frames.astype(np.float32).mean(axis=-1)
    kept = [0]
    for index in range(1, len(grey)):
        if np.abs(grey[index] - grey[kept[-1]]).mean() > REPEAT_LEVELS:
            kept.append(index)
    return grey[kept]


def temporal_statistics(frames: np.ndarray) -> np.ndarray:
    """TEMPORAL_STATISTICS numbers for (T, H, W, 3) uint8 frames of a window, zeros for a still window.

    Over consecutive moving frames: the correlation of their residuals (mean, min, max, spread); the log energy
    of the frame difference's residual over the residual's (mean, spread); the log mean absolute difference
    (mean, spread); then the flicker of block residual energy, of the mean grey level, the share of residual
    energy that stays put over the window, the correlation of motion with the difference's residual, and the
    spread of the residual's log energy over time.
    """
    grey = _moving_frames(frames)
    if len(grey) < 3:
        return np.zeros(TEMPORAL_STATISTICS)
    residual = np.stack([_residual(g) for g in grey])
    energy = (residual**2).mean(axis=(1, 2)) + FLOOR
    steps = range(len(grey) - 1)
    correlation = np.array([_correlation(residual[t], residual[t + 1]) for t in steps])
    difference = [grey[t + 1] - grey[t] for t in steps]
    change = np.array([np.log((_residual(d) ** 2).mean() + FLOOR) - np.log(energy[t])
                       for t, d in enumerate(difference)])
    motion = np.array([np.log(np.abs(d).mean() + FLOOR) for d in difference])
    half = ENERGY_BLOCK_PX // 2
    blocks = cv2.blur(np.ascontiguousarray((residual**2).transpose(1, 2, 0)), (ENERGY_BLOCK_PX, ENERGY_BLOCK_PX))
    block_flicker = np.log(blocks[half::ENERGY_BLOCK_PX, half::ENERGY_BLOCK_PX] + FLOOR).std(axis=-1).mean()
    staying = (residual.mean(axis=0) ** 2).mean() / energy.mean()
    return np.array([
        correlation.mean(), correlation.min(), correlation.max(), correlation.std(), change.mean(), change.std(),
        motion.mean(), motion.std(), block_flicker, np.log(grey.mean(axis=(1, 2)).std() + FLOOR),
        np.log(staying + 1e-6), _correlation(motion, change), np.log(energy).std(),
    ])
