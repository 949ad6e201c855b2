"""A fresh clone with no sample data beside it: the tests that need the sample clips skip, saying where they looked,
the others pass, and where the sample data is required (CI) its absence fails the run."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REQUIRE_SAMPLE_DATA_ENV, SAMPLE_DATA_ENV, SAMPLE_DATA_SKIP

REPOSITORY = Path(__file__).resolve().parents[1]
# the files that read the sample data, and a few that do not
SUBSET = ["tests/test_borders.py", "tests/test_generator.py::test_optical_flow_fill_beats_a_cross_fade_on_real_footage",
          "tests/test_watermark.py::test_unmarked_camera_clips_are_never_detected",
          "tests/test_watermark.py::test_mark_is_invisible",
          "tests/test_watermark.py::test_flat_frames_are_not_evidence",
          "tests/test_generator_cli.py::test_over_a_still_only_what_is_drawn_over_it_counts",
          "tests/test_watermark_payload.py"]
SAMPLE_DATA_TESTS = 8  # in SUBSET: five border tests, the optical-flow fill, the unmarked clips, the invisibility test


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository cloned into an empty folder: nothing beside it, so no ../shared."""
    if subprocess.run(["git", "-C", str(REPOSITORY), "rev-parse", "HEAD"], capture_output=True).returncode:
        pytest.skip(f"{REPOSITORY} is not a git checkout")
    target = tmp_path_factory.mktemp("newcomer") / "provenance"
    subprocess.run(["git", "clone", "--quiet", str(REPOSITORY), str(target)], check=True, timeout=120)
    assert not (target.parent / "shared").exists()
    return target


def _pytest_in(clone: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in (SAMPLE_DATA_ENV, REQUIRE_SAMPLE_DATA_ENV)}
    # `python -m` puts the clone first on sys.path, ahead of the installed (editable) checkout
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", *args],
                          cwd=clone, env={**environment, **env}, capture_output=True, text=True, timeout=900)


def test_the_clone_imports_its_own_code(clone: Path) -> None:
    where = subprocess.run([sys.executable, "-c", "import provenance; print(provenance.__file__)"], cwd=clone,
                           capture_output=True, text=True, check=True).stdout.strip()
    assert Path(where).resolve().is_relative_to(clone.resolve())


def test_without_sample_data_its_tests_skip_naming_the_folder_and_the_rest_pass(clone: Path) -> None:
    nowhere = clone.parent / "no-sample-data"
    result = _pytest_in(clone, {SAMPLE_DATA_ENV: str(nowhere)}, *SUBSET)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    summary = result.stdout.strip().splitlines()[-1]
    passed, skipped = (int(re.search(rf"(\d+) {word}", summary).group(1)) for word in ("passed", "skipped"))
    assert passed > 0 and skipped == SAMPLE_DATA_TESTS, summary
    reasons = re.findall(r"^SKIPPED \[(\d+)\] \S+: (.*)$", result.stdout, re.MULTILINE)
    assert sum(int(count) for count, _ in reasons) == skipped
    assert all(reason.startswith(f"{SAMPLE_DATA_SKIP} {nowhere} ") and SAMPLE_DATA_ENV in reason
               for _, reason in reasons), reasons


def test_where_sample_data_is_required_its_absence_fails(clone: Path) -> None:
    result = _pytest_in(clone, {REQUIRE_SAMPLE_DATA_ENV: "1"}, SUBSET[1])
    assert result.returncode == 1, result.stdout[-3000:]
    assert f"{SAMPLE_DATA_SKIP} {clone.parent / 'shared' / 'data'} " in result.stdout
    assert f"{REQUIRE_SAMPLE_DATA_ENV} is set" in result.stdout


def test_the_demo_says_loudly_when_it_skips_its_real_clip_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setenv(SAMPLE_DATA_ENV, str(tmp_path / "nowhere"))
    spec = importlib.util.spec_from_file_location("demo", REPOSITORY / "examples" / "demo.py")
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    assert demo.verify_camera_footage(tmp_path / "home") is False
    said = capsys.readouterr().err
    assert "SKIPPED" in said and str(tmp_path / "nowhere" / "clips" / "real") in said and SAMPLE_DATA_ENV in said
