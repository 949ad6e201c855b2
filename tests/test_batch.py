"""Batch verification for moderation: folders, worker processes, one JSON line per clip, failures isolated."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from cli_helpers import run
from test_marks import stamp_dwtdct

from conftest import scene_frames
from provenance import media
from provenance.batch import run_batch
from provenance.batch.results import OUTSIDE_COLUMNS
from provenance.signing import Generation, Stamper
from provenance.verify import Verifier, verify_many


@pytest.fixture(scope="module")
def inbox(home: Path, clip: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two stamped clips, two unmarked ones, one corrupt file and a non-video, in nested folders."""
    folder = tmp_path_factory.mktemp("inbox")
    (folder / "nested").mkdir()
    with Stamper(home) as stamper:
        for name in ("a.mp4", "nested/b.mp4"):
            stamper.sign_frames(scene_frames(192, 144, 12, seed=len(name)), folder / name, 12, Generation(model="m"))
    shutil.copy(clip, folder / "c.mp4")
    media.write_video(folder / "nested" / "d.mov", scene_frames(160, 120, 12, seed=9), fps=12)
    (folder / "e.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 100)
    (folder / "readme.txt").write_text("not a clip")
    return folder


EXPECTED = {"a.mp4": "ai-generated", "b.mp4": "ai-generated", "c.mp4": "no-evidence", "d.mov": "no-evidence",
            "e.mp4": "error"}


def test_folder_with_two_workers_gives_one_line_per_clip(inbox: Path, home: Path) -> None:
    result = run("verify", inbox, "--workers", "2", "--json", home=home)
    assert result.exit_code == 1  # one clip could not be read; the others were all examined
    reports = [json.loads(line) for line in result.stdout.splitlines()]
    assert {Path(r["path"]).name: r["verdict"] for r in reports} == EXPECTED
    assert result.stderr.count("error: ") == 1


def test_python_api_over_any_iterable(inbox: Path, home: Path) -> None:
    paths = (p for p in sorted(inbox.rglob("*")) if p.suffix in (".mp4", ".mov"))
    reports = list(verify_many(paths, workers=2, home=home))
    assert {Path(r.path).name: r.verdict for r in reports} == EXPECTED
    assert all(r.to_dict()["evidence"] for r in reports)


def test_moderation_example_labels_a_folder(inbox: Path, home: Path, tmp_path: Path) -> None:
    labels = tmp_path / "labels.jsonl"
    script = Path(__file__).resolve().parents[1] / "examples" / "moderation_pipeline.py"
    done = subprocess.run([sys.executable, script, inbox, labels, "--home", home, "--workers", "1"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in labels.read_text().splitlines()]
    assert {Path(r["path"]).name: r["verdict"] for r in rows} == EXPECTED
    assert {r["action"] for r in rows if r["verdict"] == "ai-generated"} == {"label as AI-generated"}


@pytest.mark.parametrize(("labels_folder", "options", "reason"), [
    (".", ["--trust-anchors", "no-such-anchors.pem"], "no such file"),
    ("missing", [], "does not exist"),
])
def test_the_moderation_example_stops_on_bad_options_with_one_line(labels_folder: str, options: list[str], reason: str,
                                                                   inbox: Path, home: Path, tmp_path: Path) -> None:
    labels = tmp_path / labels_folder / "labels.jsonl"
    script = Path(__file__).resolve().parents[1] / "examples" / "moderation_pipeline.py"
    done = subprocess.run([sys.executable, script, inbox, labels, "--home", home, *options],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 1 and done.stderr.startswith("error: ") and reason in done.stderr, done.stderr
    assert len(done.stderr.splitlines()) == 1


def test_a_worker_that_dies_is_replaced_and_the_batch_goes_on(inbox: Path, home: Path, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    deadly = tmp_path / "kills-its-worker.mp4"
    shutil.copy(inbox / "c.mp4", deadly)
    verify_clip = Verifier.verify

    def verify_or_die(self: Verifier, path: str) -> object:
        if Path(path) == deadly:
            os._exit(9)  # as the kernel's out-of-memory killer would end it
        return verify_clip(self, path)

    monkeypatch.setattr(Verifier, "verify", verify_or_die)  # forked workers inherit it
    paths = [deadly, *(p for p in sorted(inbox.rglob("*")) if p.suffix in (".mp4", ".mov"))]
    reports = {Path(r.path).name: r for r in verify_many(paths, workers=2, home=home)}
    assert {name: r.verdict for name, r in reports.items()} == {**EXPECTED, deadly.name: "error"}
    assert "stopped abruptly" in reports[deadly.name].error


def _running(pid: int) -> bool:
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"


def test_workers_end_when_the_batch_process_is_killed(clip: Path, home: Path) -> None:
    script = (
        "import multiprocessing, os, signal, sys\n"
        "from provenance.verify import verify_many\n"
        f"reports = verify_many([{str(clip)!r}] * 4, workers=2, home={str(home)!r})\n"
        "next(reports)\n"
        "print(*(child.pid for child in multiprocessing.active_children()), flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    workers = [int(pid) for pid in done.stdout.split()]
    assert len(workers) == 2, done.stderr
    deadline = time.monotonic() + 30
    while any(map(_running, workers)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(map(_running, workers))


@pytest.fixture(scope="module")
def listed(inbox: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A list of three clips: one we stamped, one carrying Stability AI's public mark, one unmarked."""
    folder = tmp_path_factory.mktemp("listed")
    marked = folder / "stability.mp4"
    media.write_video(marked, [stamp_dwtdct(frame) for frame in scene_frames(384, 256, 12)], fps=12)
    listing = folder / "clips.txt"
    listing.write_text(f"{inbox / 'a.mp4'}\n{marked}\n{inbox / 'c.mp4'}\n")
    return listing


def read_table(output: Path) -> dict[str, dict]:
    """OUTPUT's rows by clip name."""
    rows = pq.read_table(output).to_pylist() if output.suffix == ".parquet" else [
        json.loads(line) for line in output.read_text().splitlines()]
    return {Path(row["path"]).name: row for row in rows}


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_the_table_has_the_trust_other_marks_and_ledger_match(listed: Path, home: Path, tmp_path: Path,
                                                              suffix: str) -> None:
    output = tmp_path / f"verdicts{suffix}"
    run_batch(listed, output, num_cpus=1, progress=None, home=home, trust_anchors=home / "ca.pem")
    rows = read_table(output)
    assert {name: row["verdict"] for name, row in rows.items()} == {
        "a.mp4": "ai-generated", "stability.mp4": "ai-generated", "c.mp4": "no-evidence"}
    stamped, marked, plain = rows["a.mp4"], rows["stability.mp4"], rows["c.mp4"]
    assert (stamped["c2pa_trust"], stamped["ledger_match"]) == ("own", "watermark")
    assert stamped["c2pa_issuer"] == json.loads(stamped["report"])["c2pa"]["issuer"] is not None
    assert [(m["issuer"], m["state"]) for m in stamped["other_marks"]] == [("Stability AI", "none")]
    assert (marked["c2pa_trust"], marked["c2pa_issuer"], marked["ledger_match"]) == (None, None, None)
    assert marked["other_marks"] == [{"issuer": "Stability AI", "algorithm": "invisible-watermark.dwtDct",
                                      "state": "very-likely", "frames": 12, "marked_frames": 12}]
    assert plain["c2pa_trust"] is None and plain["other_marks"][0]["state"] in ("none", "partial")
    for row in rows.values():
        assert row["other_marks"] == json.loads(row["report"])["watermark"]["others"]


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_a_table_written_before_the_new_columns_resumes_and_gains_them(listed: Path, home: Path, tmp_path: Path,
                                                                       suffix: str) -> None:
    output = tmp_path / f"verdicts{suffix}"
    options = {"num_cpus": 1, "progress": None, "home": home, "trust_anchors": home / "ca.pem"}
    run_batch(listed, output, **options)
    current = read_table(output)
    if suffix == ".parquet":
        table = pq.read_table(output)
        pq.write_table(table.drop_columns(list(OUTSIDE_COLUMNS)), output)
    else:
        output.write_text("".join(json.dumps({key: value for key, value in row.items() if key not in OUTSIDE_COLUMNS})
                                  + "\n" for row in current.values()))
    assert not set(OUTSIDE_COLUMNS) & set(next(iter(read_table(output).values())))
    summary = run_batch(listed, output, **options)
    assert (summary.clips, summary.skipped, summary.verified, summary.rows) == (3, 3, 0, 3)
    assert read_table(output) == current
