"""Labelled clips from folders (`real/`, `generated/`, one subfolder per source) or a CSV (`path,label,source`)."""

from __future__ import annotations

import csv
import os
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from provenance.errors import BadInput

LABELS = {"real": 0, "generated": 1}
VIDEO_SUFFIXES = {".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi"}


@dataclass(frozen=True)
class Clip:
    """One labelled clip. `group` keeps sources that share scenes (an edit and its input) in one split."""

    path: str
    label: int
    source: str
    group: str


@dataclass(frozen=True)
class Dataset:
    """An ordered collection of clips with split helpers that never cut through a group."""

    clips: tuple[Clip, ...]

    def __len__(self) -> int:
        return len(self.clips)

    @property
    def labels(self) -> np.ndarray:
        return np.array([c.label for c in self.clips], dtype=np.int64)

    def sources(self, label: int | None = None) -> list[str]:
        """Source names in first-seen order, optionally only those of one label."""
        return list(dict.fromkeys(c.source for c in self.clips if label is None or c.label == label))

    def subset(self, keep: Iterable[Clip]) -> Dataset:
        wanted = set(keep)
        return Dataset(tuple(c for c in self.clips if c in wanted))

    def where(self, groups: Iterable[str]) -> Dataset:
        """Clips whose group is in `groups`."""
        chosen = set(groups)
        return Dataset(tuple(c for c in self.clips if c.group in chosen))

    def without(self, groups: Iterable[str]) -> Dataset:
        """Clips whose group is not in `groups`."""
        dropped = set(groups)
        return Dataset(tuple(c for c in self.clips if c.group not in dropped))

    def summary(self) -> dict:
        """Counts per label and per source, for the model card."""
        return {
            "clips": len(self.clips),
            "real": int((self.labels == 0).sum()),
            "generated": int((self.labels == 1).sum()),
            "sources": dict(Counter(f"{'generated' if c.label else 'real'}/{c.source}" for c in self.clips)),
        }

    def split_by_group(self, fraction: float, seed: int) -> tuple[Dataset, Dataset]:
        """Hold out whole groups until about `fraction` of each label's clips are held out (never every group)."""
        rng = np.random.default_rng(seed)
        held: set[str] = set()
        for label in LABELS.values():
            sizes = Counter(c.group for c in self.clips if c.label == label and c.group not in held)
            wanted = fraction * sum(sizes.values())
            taken = 0
            for group in rng.permutation(sorted(sizes)).tolist()[: max(0, len(sizes) - 1)]:
                if taken and taken + sizes[group] > wanted:
                    continue
                held.add(group)
                taken += sizes[group]
        return self.without(held), self.where(held)

    def group_folds(self, count: int) -> list[Dataset]:
        """Partition the clips into `count` folds of whole groups, each holding a similar share of either label's
        clips (largest groups first, each to the fold that holds the least of it so far)."""
        totals = {label: max(1, int((self.labels == label).sum())) for label in LABELS.values()}
        sizes: dict[str, Counter] = {}
        for clip in self.clips:
            sizes.setdefault(clip.group, Counter())[clip.label] += 1
        members: list[list[str]] = [[] for _ in range(count)]
        shares = np.zeros((count, len(totals)))
        for group in sorted(sizes, key=lambda g: (-max(sizes[g][k] / totals[k] for k in totals), g)):
            share = np.array([sizes[group][k] / totals[k] for k in totals])
            fold = int(np.argmin([(shares[f] + share).max() for f in range(count)]))
            members[fold].append(group)
            shares[fold] += share
        return [self.where(groups) for groups in members]


def _label(text: str, where: str) -> int:
    key = text.strip().lower()
    if key not in LABELS:
        raise BadInput(f"{where}: label {text!r} is not 'real' or 'generated'")
    return LABELS[key]


def _group(source: str, pairs: Mapping[str, str]) -> str:
    return pairs.get(source, source)


def from_folders(root: str | os.PathLike, pairs: Mapping[str, str] | None = None) -> Dataset:
    """Read `root/real/<source>/*` and `root/generated/<source>/*` (clips directly in a label folder: source '-')."""
    root = Path(root)
    pairs = pairs or {}
    clips = []
    for label_name, label in LABELS.items():
        folder = root / label_name
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*")):
            if path.suffix.lower() in VIDEO_SUFFIXES and path.is_file():
                relative = path.relative_to(folder)
                source = relative.parts[0] if len(relative.parts) > 1 else "-"
                clips.append(Clip(str(path), label, source, _group(source, pairs)))
    return _checked(Dataset(tuple(clips)), str(root))


def from_csv(csv_path: str | os.PathLike, pairs: Mapping[str, str] | None = None) -> Dataset:
    """Read a CSV with columns path,label,source (optional group); paths are relative to the CSV's folder."""
    csv_path = Path(csv_path)
    pairs = pairs or {}
    try:
        with open(csv_path, newline="", encoding="utf-8-sig") as stream:  # -sig: a byte-order mark is not a name
            rows = list(csv.DictReader(stream))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise BadInput(f"{csv_path}: cannot read CSV ({exc})") from None
    clips = []
    for number, row in enumerate(rows, start=2):
        where = f"{csv_path}:{number}"
        if None in row:  # DictReader files the cells beyond the header's columns under None
            raise BadInput(f"{where}: more cells than the header has columns")
        if not row.get("path") or not row.get("label") or not row.get("source"):
            raise BadInput(f"{where}: needs non-empty path, label and source columns")
        path = csv_path.parent / row["path"].strip()
        if not path.is_file():
            raise BadInput(f"{where}: {path} is not a file")
        source = row["source"].strip()
        group = (row.get("group") or "").strip() or _group(source, pairs)
        clips.append(Clip(str(path), _label(row["label"], where), source, group))
    return _checked(Dataset(tuple(clips)), str(csv_path))


def load_dataset(location: str | os.PathLike, pairs: Mapping[str, str] | None = None) -> Dataset:
    """A CSV file or a folder with real/ and generated/ subfolders."""
    location = Path(location)
    if location.is_file():
        return from_csv(location, pairs)
    if location.is_dir():
        return from_folders(location, pairs)
    raise BadInput(f"{location}: no such dataset (expected a CSV file or a folder with real/ and generated/)")


def _checked(dataset: Dataset, where: str) -> Dataset:
    if not dataset.clips:
        raise BadInput(f"{where}: no labelled clips found")
    return dataset
