"""verify --detector: the detector speaks only when no mark is left, and its verdict decides."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from cli_helpers import run, run_json

from provenance import media
from provenance.signing import Generation, Stamper
from provenance.verify import Report, decide


def test_unmarked_clip_gets_a_calibrated_score(clip: Path, home: Path) -> None:
    [report] = run_json("verify", clip, "--detector", "builtin", home=home)
    detector = report["detector"]
    assert 0.0 <= detector["score"] <= 1.0 and detector["model"]
    expected = "likely-ai-generated" if detector["verdict"] == "ai-generated" else "no-evidence"
    assert report["verdict"] == expected


def test_marked_clip_is_not_scored(clip: Path, home: Path, tmp_path: Path) -> None:
    with Stamper(home) as stamper:
        signed = stamper.sign_clip(clip, tmp_path / "signed.mp4", Generation(model="m")).path
    [report] = run_json("verify", signed, "--detector", "builtin", home=home)
    assert report["verdict"] == "ai-generated" and report["detector"]["score"] is None


@pytest.mark.parametrize(("detector_verdict", "verdict"), [
    ("ai-generated", "likely-ai-generated"), ("inconclusive", "no-evidence"), ("real", "no-evidence"),
])
def test_the_detectors_verdict_decides_when_marks_are_silent(detector_verdict: str, verdict: str) -> None:
    report = Report(path="x.mp4", detector={"score": 0.95, "threshold": 0.9, "model": "m", "verdict": detector_verdict})
    assert decide(report) == verdict


def test_a_clip_smaller_than_the_model_reads_is_not_judged(home: Path, tmp_path: Path) -> None:
    small = tmp_path / "small.mp4"
    rng = np.random.default_rng(0)
    media.write_video(small, [rng.integers(0, 256, (48, 96, 3), dtype=np.uint8) for _ in range(16)], fps=8)
    [report] = run_json("verify", small, "--detector", "builtin", home=home)
    assert report["verdict"] == "no-evidence" and report["detector"]["verdict"] == "inconclusive"
    assert "48 px" in report["detector"]["note"] and any("48 px" in line for line in report["evidence"])


def test_a_model_folder_that_does_not_exist_is_a_clear_error(clip: Path, home: Path, tmp_path: Path) -> None:
    for workers in ("1", "2"):
        result = run("verify", clip, "--detector", tmp_path / "nowhere", "--workers", workers, home=home)
        assert result.exit_code == 1 and result.stderr.startswith("error: ") and "Traceback" not in result.stderr
