"""verify --detector: the detector speaks only when no mark is left, and its threshold decides the verdict."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import run, run_json

from provenance.signing import Generation, Stamper
from provenance.verify import Report, decide


def test_unmarked_clip_gets_a_calibrated_score(clip: Path, home: Path) -> None:
    [report] = run_json("verify", clip, "--detector", "builtin", home=home)
    detector = report["detector"]
    assert 0.0 <= detector["score"] <= 1.0 and detector["model"]
    expected = "likely-ai-generated" if detector["score"] >= detector["threshold"] else "no-evidence"
    assert report["verdict"] == expected


def test_marked_clip_is_not_scored(clip: Path, home: Path, tmp_path: Path) -> None:
    with Stamper(home) as stamper:
        signed = stamper.sign_clip(clip, tmp_path / "signed.mp4", Generation(model="m")).path
    [report] = run_json("verify", signed, "--detector", "builtin", home=home)
    assert report["verdict"] == "ai-generated" and report["detector"]["score"] is None


@pytest.mark.parametrize(("score", "verdict"), [(0.91, "likely-ai-generated"), (0.2, "no-evidence")])
def test_threshold_decides_when_marks_are_silent(score: float, verdict: str) -> None:
    report = Report(path="x.mp4", detector={"score": score, "threshold": 0.9, "model": "m"})
    assert decide(report) == verdict


def test_a_model_folder_that_does_not_exist_is_a_clear_error(clip: Path, home: Path, tmp_path: Path) -> None:
    for workers in ("1", "2"):
        result = run("verify", clip, "--detector", tmp_path / "nowhere", "--workers", workers, home=home)
        assert result.exit_code == 1 and result.stderr.startswith("error: ") and "Traceback" not in result.stderr
