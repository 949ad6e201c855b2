"""Shared fixtures: real keys, real H.264 clips written by PyAV, all small and built once per session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from postgres import fresh_schema_url, postgres_server

from provenance import media
from provenance.keys import keygen

SAMPLE_DATA_ENV = "PROVENANCE_SAMPLE_DATA"  # where the sample clips are, when not ../shared/data
REQUIRE_SAMPLE_DATA_ENV = "PROVENANCE_REQUIRE_SAMPLE_DATA"  # set (CI): a missing sample file fails, not skips
DEFAULT_SAMPLE_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SAMPLE_DATA_SKIP = "needs the sample data folder"  # how every sample-data skip reason starts
TRUST_DATA_ENV = "PROVENANCE_TRUST_DATA"  # where the C2PA trust lists and signed samples are, when not ../shared/trust
DEFAULT_TRUST_DATA = DEFAULT_SAMPLE_DATA.parent / "trust"
TRUST_DATA_SKIP = "needs the C2PA trust data folder"


def sample_data(relative: str) -> Path:
    """A file or folder of the sample data set; the test skips when it is absent (fails when it is required)."""
    return _outside_data(relative, SAMPLE_DATA_ENV, DEFAULT_SAMPLE_DATA, SAMPLE_DATA_SKIP)


def trust_data(relative: str) -> Path:
    """A file of the C2PA trust data (trust lists, signed samples); skips or fails like `sample_data`."""
    return _outside_data(relative, TRUST_DATA_ENV, DEFAULT_TRUST_DATA, TRUST_DATA_SKIP)


def _outside_data(relative: str, env: str, default: Path, skip: str) -> Path:
    root = Path(os.environ.get(env) or default)
    path = root / relative
    if not path.exists():
        reason = f"{skip} {root} (no {relative} there; see README, Sample data; set {env}=DIR to use another folder)"
        if os.environ.get(REQUIRE_SAMPLE_DATA_ENV):
            pytest.fail(f"{reason}, and {REQUIRE_SAMPLE_DATA_ENV} is set", pytrace=False)
        pytest.skip(reason)
    return path


def scene_frames(width: int, height: int, count: int, seed: int = 0) -> list[np.ndarray]:
    """Natural-looking moving content: smooth gradients, a drifting blob and mild texture."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    texture = rng.normal(0, 6, (height, width, 3)).astype(np.float32)
    frames = []
    for t in range(count):
        cx, cy = width * (0.3 + 0.4 * t / max(count, 1)), height * 0.5
        blob = 90 * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * (0.15 * width) ** 2))
        base = np.stack([60 + 100 * xx / width + blob, 80 + 60 * yy / height + 0.5 * blob, 120 - 40 * xx / width], -1)
        frames.append(np.clip(base + texture, 0, 255).astype(np.uint8))
    return frames


@pytest.fixture(scope="session")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home folder with a development CA, signing certificate and watermark key."""
    path = tmp_path_factory.mktemp("home")
    keygen(path)
    return path


@pytest.fixture(scope="session")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-second 320x240 H.264 MP4 at 24 fps."""
    path = tmp_path_factory.mktemp("clips") / "camera.mp4"
    media.write_video(path, scene_frames(320, 240, 48), fps=24)
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL server started for this test session on loopback."""
    with postgres_server() as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty ledger of each backend: a SQLite file, or a fresh schema on the PostgreSQL server."""
    if request.param == "sqlite":
        return str(tmp_path / "ledger.sqlite")
    return fresh_schema_url(request.getfixturevalue("postgres_url"))
