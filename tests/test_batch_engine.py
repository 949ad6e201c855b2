"""`provenance batch` on a real Ray (local, and a 2-node cluster on this machine) and on local processes: the
verdicts are `provenance verify`'s, broken clips are error rows, and a run killed mid-way finishes on re-run."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import ray
from cli_helpers import run
from ray.cluster_utils import Cluster

from conftest import scene_frames
from provenance import media
from provenance.batch import run_batch
from provenance.batch.results import Results
from provenance.signing import Generation, Stamper
from provenance.verify import close_worker, setup_worker, verify_clip

PROVENANCE = Path(sys.executable).with_name("provenance")
EXPECTED = {"stamped.mp4": "ai-generated", "reencoded.mp4": "ai-generated", "plain.mp4": "no-evidence",
            "truncated.mp4": "error", "garbage.mp4": "error"}


@pytest.fixture(scope="module")
def local_ray():
    """One real local Ray with 2 CPUs for the module; yields its address, for drivers in other processes."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def inbox(home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A stamped clip, its re-encoded copy (manifest gone), an unmarked clip, a truncated one and garbage."""
    folder = tmp_path_factory.mktemp("batch_inbox")
    stamped = folder / "stamped.mp4"
    with Stamper(home) as stamper:
        stamper.sign_frames(scene_frames(192, 144, 24, seed=1), stamped, 12, Generation(model="m"))
    media.transcode(stamped, folder / "reencoded.mp4", crf=23)
    media.write_video(folder / "plain.mp4", scene_frames(192, 144, 24, seed=2), fps=12)
    data = stamped.read_bytes()
    (folder / "truncated.mp4").write_bytes(data[: len(data) // 2])
    (folder / "garbage.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(200))
    return folder


@pytest.fixture(scope="module")
def verified(inbox: Path, home: Path) -> dict[str, dict]:
    """What `provenance verify --json` says of each clip, by path (exit status 1: two clips cannot be read)."""
    result = run("verify", inbox, "--trust-anchors", home / "ca.pem", "--json", home=home)
    assert result.exit_code == 1
    return {report["path"]: report for report in map(json.loads, result.stdout.splitlines())}


def options(home: Path) -> dict:
    return {"home": home, "trust_anchors": home / "ca.pem"}


def read_rows(output: Path) -> list[dict]:
    return pq.read_table(output).to_pylist()


def test_ray_rows_are_verify_reports(local_ray: str, inbox: Path, home: Path, verified: dict,
                                     tmp_path: Path) -> None:
    output = tmp_path / "verdicts.parquet"
    summary = run_batch(inbox, output, "ray", num_cpus=2, progress=None, **options(home))
    rows = read_rows(output)
    assert (summary.clips, summary.verified, summary.errors, summary.rows) == (5, 5, 2, 5)
    assert {Path(row["path"]).name: row["verdict"] for row in rows} == EXPECTED
    assert {row["path"]: json.loads(row["report"]) for row in rows} == verified
    for row in rows:
        assert (row["error"] is not None) == (row["verdict"] == "error")
        assert row["timing"]["seconds"] > 0 and row["timing"]["worker"]
    by_name = {Path(row["path"]).name: row for row in rows}
    assert by_name["stamped.mp4"]["manifest"]["source"] == "embedded"
    assert by_name["reencoded.mp4"]["manifest"]["source"] == "ledger"
    assert by_name["reencoded.mp4"]["payload"] == by_name["stamped.mp4"]["payload"] is not None
    assert by_name["plain.mp4"]["manifest"] is None and by_name["plain.mp4"]["payload"] is None


def test_local_engine_gives_the_same_table(local_ray: str, inbox: Path, home: Path, tmp_path: Path) -> None:
    tables = {}
    for engine in ("local", "ray"):
        run_batch(inbox, tmp_path / f"{engine}.parquet", engine, num_cpus=2, progress=None, **options(home))
        table = pq.read_table(tmp_path / f"{engine}.parquet")
        tables[engine] = table.drop_columns(["timing"]).sort_by("path")
    assert tables["local"].schema == tables["ray"].schema
    assert tables["local"].to_pylist() == tables["ray"].to_pylist()


def test_inputs_list_csv_and_parquet_name_the_same_clips(inbox: Path, home: Path, tmp_path: Path) -> None:
    names = sorted(EXPECTED)
    (tmp_path / "list.txt").write_text("# clips\n" + "\n".join(str(inbox / n) for n in names) + "\n\n")
    with (tmp_path / "table.csv").open("w", newline="") as stream:
        csv.writer(stream).writerows([["id", "clip"], *[[i, inbox / n] for i, n in enumerate(names)]])
    pq.write_table(pa.table({"clip": [str(inbox / n) for n in names]}), tmp_path / "table.parquet")
    outputs = {}
    for source in ("list.txt", "table.csv", "table.parquet"):
        output = tmp_path / f"{source}.jsonl"
        run_batch(tmp_path / source, output, num_cpus=2, path_column="clip", progress=None, **options(home))
        rows = [json.loads(line) for line in output.read_text().splitlines()]
        outputs[source] = {Path(row["path"]).name: row["verdict"] for row in rows}
    assert outputs == dict.fromkeys(outputs, EXPECTED)


def test_rerun_skips_done_clips_and_redoes_changed_ones(inbox: Path, home: Path, tmp_path: Path) -> None:
    folder = tmp_path / "clips"
    folder.mkdir()
    for name in ("stamped.mp4", "plain.mp4"):
        (folder / name).write_bytes((inbox / name).read_bytes())
    output = tmp_path / "verdicts.parquet"
    assert run_batch(folder, output, num_cpus=1, progress=None, **options(home)).verified == 2
    again = run_batch(folder, output, num_cpus=1, progress=None, **options(home))
    assert (again.skipped, again.verified, again.rows) == (2, 0, 2)
    (folder / "plain.mp4").write_bytes((inbox / "garbage.mp4").read_bytes())  # the same path, new content
    changed = run_batch(folder, output, num_cpus=1, progress=None, **options(home))
    assert (changed.skipped, changed.verified, changed.rows) == (1, 1, 2)
    assert {Path(row["path"]).name: row["verdict"] for row in read_rows(output)} == {
        "stamped.mp4": "ai-generated", "plain.mp4": "error"}


def test_driver_killed_mid_run_then_rerun_has_every_clip_once(local_ray: str, inbox: Path, home: Path,
                                                              tmp_path: Path) -> None:
    folder = tmp_path / "clips"
    folder.mkdir()
    for index in range(10):
        (folder / f"{index:02d}.mp4").write_bytes((inbox / ("plain.mp4" if index % 2 else "stamped.mp4")).read_bytes())
    output = tmp_path / "verdicts.parquet"
    command = [PROVENANCE, "batch", folder, "-o", output, "--engine", "ray", "--address", local_ray,
               "--num-cpus", "1", "--home", home]
    driver = subprocess.Popen(list(map(str, command)), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    parts = output.with_name(output.name + ".parts")
    deadline = time.monotonic() + 120
    while _journal_rows(parts) < 2 and driver.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    driver.send_signal(signal.SIGKILL)
    driver.wait(timeout=30)
    assert driver.returncode == -signal.SIGKILL
    assert not output.exists()
    finished = Results(output).done()
    assert 2 <= len(finished) < 10
    summary = run_batch(folder, output, "ray", num_cpus=2, progress=None, home=home)
    rows = read_rows(output)
    assert summary.skipped == len(finished) and summary.verified == 10 - len(finished)
    assert sorted(row["path"] for row in rows) == sorted(str(path) for path in folder.iterdir())
    assert {row["verdict"] for row in rows} == {"ai-generated", "no-evidence"}
    assert not parts.exists()


def test_two_node_cluster(inbox: Path, home: Path, verified: dict, tmp_path: Path) -> None:
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    try:
        cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        output = tmp_path / "verdicts.jsonl"
        command = [PROVENANCE, "batch", inbox, "-o", output, "--engine", "ray", "--address", cluster.address,
                   "--home", home, "--trust-anchors", home / "ca.pem", "--json"]
        done = subprocess.run(list(map(str, command)), capture_output=True, text=True, timeout=300)
    finally:
        cluster.shutdown()
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout)["rows"] == 5
    assert "batch: 5/5 clips verified" in done.stderr
    rows = [json.loads(line) for line in output.read_text().splitlines()]
    assert {row["path"]: json.loads(row["report"]) for row in rows} == verified
    assert len({row["timing"]["worker"] for row in rows}) == 2  # one actor per node (1 CPU each)


def test_verify_clip_takes_bytes(inbox: Path, home: Path, verified: dict) -> None:
    setup_worker(**options(home))
    try:
        for name in ("stamped.mp4", "reencoded.mp4", "garbage.mp4"):
            path = inbox / name
            assert verify_clip(path.read_bytes(), name=str(path)) == verified[str(path)]
    finally:
        close_worker()


def test_bad_inputs_are_one_line_errors(inbox: Path, home: Path, tmp_path: Path) -> None:
    (tmp_path / "table.csv").write_text("id,name\n1,x\n")
    cases = {
        ("batch", tmp_path / "missing", "-o", tmp_path / "o.parquet"): "no such file or folder",
        ("batch", tmp_path / "table.csv", "-o", tmp_path / "o.parquet"): "no column 'path'",
        ("batch", inbox, "-o", tmp_path / "o.csv"): "name it .parquet",
    }
    (tmp_path / "foreign.parquet").write_bytes(b"PAR1 not really")
    cases[("batch", inbox, "-o", tmp_path / "foreign.parquet")] = "not a Parquet table"
    pq.write_table(pa.table({"path": [str(inbox / "plain.mp4")]}), tmp_path / "table.parquet")
    cases[("batch", tmp_path / "table.parquet", "-o", tmp_path / "table.parquet")] = "is the input"
    for args, message in cases.items():
        result = run(*args, home=home)
        assert result.exit_code == 1, result.output
        assert message in result.stderr and result.stderr.count("\n") == 1


def _journal_rows(parts: Path) -> int:
    if not parts.is_dir():
        return 0
    return sum(path.read_text().count("\n") for path in parts.glob("*.jsonl"))
