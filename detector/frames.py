"""In-memory store of cached normalised windows, shared by training, evaluation and the baseline."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from detector.cache import DEFAULT_CACHE_DIR, load_window
from detector.model import FRAME_STRIDE


class FrameStore:
    """Loads each (clip, variant) window from the disk cache once and keeps the frames the model looks at."""

    def __init__(self, cache_dir: Path = DEFAULT_CACHE_DIR) -> None:
        self.cache_dir = Path(cache_dir)
        self._windows: dict[tuple[str, str], np.ndarray] = {}

    def window(self, path: str, variant: str = "clean") -> np.ndarray:
        """Every frame of the normalised window."""
        key = (path, variant)
        if key not in self._windows:
            self._windows[key] = load_window(path, variant, self.cache_dir).frames
        return self._windows[key]

    def frames(self, path: str, variant: str = "clean") -> np.ndarray:
        """The frames the network scores: every `FRAME_STRIDE`-th frame of the normalised window."""
        return self.window(path, variant)[::FRAME_STRIDE]
