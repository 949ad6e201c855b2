"""Bad input gives one clear line on stderr and the documented exit status, never a traceback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import av
import pytest
from cli_helpers import run, run_json, run_obeying_permissions
from PIL import Image

from conftest import scene_frames
from provenance import media


def _zero_frame_mp4(path: Path) -> None:
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        out.start_encoding()


def _cut_off_mp4(path: Path) -> None:
    """The first half of a clip whose index comes first (as for streaming): it opens, but its frames are gone."""
    whole = path.with_name("whole.mp4")
    with av.open(str(whole), "w", options={"movflags": "faststart"}) as out:
        stream = out.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for frame in scene_frames(64, 48, 12):
            out.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        out.mux(stream.encode(None))
    path.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])


KINDS = ["missing", "directory", "empty", "truncated", "cut_off", "random", "text", "zero_frames", "image",
         "symlink_loop"]
UNREADABLE = [kind for kind in KINDS if kind != "image"]  # verify reads a still image's manifest (test_trust.py)


@pytest.fixture
def bad_inputs(tmp_path: Path, clip: Path) -> dict[str, Path]:
    inputs = {kind: tmp_path / f"{kind}.mp4" for kind in KINDS}
    inputs["directory"].mkdir()
    inputs["empty"].write_bytes(b"")
    inputs["truncated"].write_bytes(clip.read_bytes()[: clip.stat().st_size // 2])
    inputs["random"].write_bytes(os.urandom(4096))
    inputs["text"].write_text("this is not a video\n" * 50)
    _zero_frame_mp4(inputs["zero_frames"])
    _cut_off_mp4(inputs["cut_off"])
    Image.fromarray(scene_frames(64, 48, 1)[0]).save(inputs["image"], format="PNG")
    inputs["symlink_loop"].symlink_to(inputs["symlink_loop"])
    return inputs


def _one_clear_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr and lines[0].startswith("error: ")
    return lines[0]


@pytest.mark.parametrize("kind", UNREADABLE)
def test_verify_reports_unreadable_clips(kind: str, bad_inputs: dict[str, Path], home: Path) -> None:
    path = bad_inputs[kind]
    if kind == "directory":  # a folder is walked for videos; this one holds none
        result = run("verify", path, "--json", home=home)
        assert result.exit_code == 1 and "no videos or still images" in _one_clear_line(result.stderr)
        return
    result = run("verify", path, "--json", home=home)
    assert result.exit_code == 1
    assert str(path) in _one_clear_line(result.stderr)
    [report] = [json.loads(line) for line in result.stdout.splitlines()]
    assert report["verdict"] == "error" and report["error"]


def test_a_still_image_is_read_by_its_bytes_not_refused(bad_inputs: dict[str, Path], home: Path) -> None:
    [report] = run_json("verify", bad_inputs["image"], home=home)  # a PNG named .mp4
    assert report["container"] == "png" and report["verdict"] == "no-evidence" and not report["c2pa"]["present"]


@pytest.mark.parametrize(("kind", "reason"), [("symlink_loop", "broken or looping symbolic link"),
                                              ("cut_off", "truncated (its last frame ends")])
def test_unreadable_clips_say_why(kind: str, reason: str, bad_inputs: dict[str, Path], home: Path) -> None:
    result = run("verify", bad_inputs[kind], home=home)
    assert _one_clear_line(result.stderr).startswith(f"error: {bad_inputs[kind]}: {reason}")


@pytest.mark.parametrize("kind", KINDS)
def test_sign_refuses_bad_input(kind: str, bad_inputs: dict[str, Path], home: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    result = run("sign", bad_inputs[kind], "-o", out, home=home)
    assert result.exit_code == 1
    _one_clear_line(result.stderr)
    assert not out.exists()


def test_a_bad_clip_does_not_stop_the_batch(bad_inputs: dict[str, Path], clip: Path, home: Path) -> None:
    result = run("verify", bad_inputs["random"], clip, "--json", home=home)
    assert result.exit_code == 1
    verdicts = [json.loads(line)["verdict"] for line in result.stdout.splitlines()]
    assert verdicts == ["error", "no-evidence"]


@pytest.fixture
def webm(tmp_path: Path) -> Path:
    path = tmp_path / "clip.webm"
    media.write_video(path, scene_frames(160, 120, 12), fps=12, codec="vp9")
    return path


def test_webm_cannot_carry_a_manifest_but_is_verified(webm: Path, home: Path, tmp_path: Path) -> None:
    result = run("sign", webm, "-o", tmp_path / "out.mp4", "--no-watermark", home=home)
    assert result.exit_code == 1 and "cannot carry a C2PA manifest" in _one_clear_line(result.stderr)
    verified = run("verify", webm, home=home)
    assert verified.exit_code == 0
    assert "webm files cannot carry one" in verified.stdout and "no-evidence" in verified.stdout


def test_webm_is_signed_into_an_mp4_when_watermarked(webm: Path, home: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    assert run("sign", webm, "-o", out, home=home).exit_code == 0
    assert media.probe(out).container == "mp4"


def test_output_must_be_a_container_that_carries_manifests(clip: Path, home: Path, tmp_path: Path) -> None:
    result = run("sign", clip, "-o", tmp_path / "out.webm", home=home)
    assert result.exit_code == 1 and ".mp4 or .mov" in _one_clear_line(result.stderr)


def test_usage_errors_exit_2(home: Path) -> None:
    assert run("verify", home=home).exit_code == 2
    assert run("sign", "x.mp4", home=home).exit_code == 2


def test_missing_keys_say_how_to_make_them(clip: Path, tmp_path: Path) -> None:
    result = run("sign", clip, "-o", tmp_path / "out.mp4", home=tmp_path / "nokeys")
    assert result.exit_code == 1 and "provenance keygen" in _one_clear_line(result.stderr)


def test_the_installed_command_runs(clip: Path, home: Path) -> None:
    command = Path(sys.executable).with_name("provenance")
    result = subprocess.run([command, "verify", clip, "--home", home], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and f"{clip}: no-evidence" in result.stdout
    assert subprocess.run([command, "--help"], capture_output=True, text=True, timeout=60).stdout.count("verify")


def test_an_unreadable_clip_is_its_own_error_and_the_batch_goes_on(tmp_path: Path, clip: Path) -> None:
    readable, locked = tmp_path / "readable.mp4", tmp_path / "locked.mp4"
    shutil.copy(clip, readable)
    shutil.copy(clip, locked)
    locked.chmod(0)
    result = run_obeying_permissions("verify", readable, locked, "--json", "--home", tmp_path / "no-keys")
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    reports = {Path(r["path"]).name: r for r in map(json.loads, result.stdout.splitlines())}
    assert reports["readable.mp4"]["verdict"] == "no-evidence"
    assert reports["locked.mp4"]["verdict"] == "error" and "cannot be read" in reports["locked.mp4"]["error"]


def test_a_folder_that_cannot_be_listed_is_reported_not_skipped(tmp_path: Path, clip: Path) -> None:
    locked = tmp_path / "inbox" / "locked"
    locked.mkdir(parents=True)
    shutil.copy(clip, tmp_path / "inbox" / "readable.mp4")
    shutil.copy(clip, locked / "hidden.mp4")
    locked.chmod(0)
    try:
        result = run_obeying_permissions("verify", tmp_path / "inbox", "--json", "--home", tmp_path / "no-keys")
    finally:
        locked.chmod(0o755)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    reports = {Path(r["path"]).name: r for r in map(json.loads, result.stdout.splitlines())}
    assert reports["readable.mp4"]["verdict"] == "no-evidence"
    assert reports["locked"]["verdict"] == "error" and "folder cannot be read" in reports["locked"]["error"]


def test_a_read_only_output_folder_is_one_clear_line(tmp_path: Path, clip: Path, home: Path) -> None:
    read_only = tmp_path / "read-only"
    read_only.mkdir()
    read_only.chmod(0o555)
    result = run_obeying_permissions("sign", clip, "-o", read_only / "out.mp4", "--home", home)
    assert result.returncode == 1 and result.stderr == f"error: output folder {read_only} is not writable\n"


@pytest.fixture
def spoiled_home(home: Path, tmp_path: Path) -> Path:
    """A copy of the keys, for tests that damage it."""
    return Path(shutil.copytree(home, tmp_path / "spoiled-home"))


@pytest.mark.parametrize(("name", "content", "commands"), [
    ("credentials.json", "{", ["sign"]),
    ("watermark.key", "not hex", ["sign", "verify"]),  # not taken for a missing key: the watermark would go unread
])
def test_a_corrupt_key_file_is_one_clear_line(name: str, content: str, commands: list[str], spoiled_home: Path,
                                             clip: Path, tmp_path: Path) -> None:
    (spoiled_home / name).write_text(content)
    for command in commands:
        args = ("sign", clip, "-o", tmp_path / "out.mp4") if command == "sign" else ("verify", clip)
        result = run(*args, home=spoiled_home)
        assert result.exit_code == 1 and name in _one_clear_line(result.stderr)
    assert not (tmp_path / "out.mp4").exists()


@pytest.mark.parametrize(("kind", "reason"), [("empty", "empty file"), ("text", "cannot be read as video/mp4")])
def test_a_bad_ingredient_is_named(kind: str, reason: str, bad_inputs: dict[str, Path], clip: Path, home: Path,
                                   tmp_path: Path) -> None:
    result = run("sign", clip, "-o", tmp_path / "out.mp4", "--ingredient", bad_inputs[kind], home=home)
    assert result.exit_code == 1 and f"ingredient {bad_inputs[kind]}" in _one_clear_line(result.stderr)
    assert reason in result.stderr and not (tmp_path / "out.mp4").exists()


def test_a_certificate_chain_that_is_not_pem_is_one_clear_line(home: Path, clip: Path, tmp_path: Path) -> None:
    chain = tmp_path / "chain.pem"
    chain.write_text("not a certificate\n")
    result = run("sign", clip, "-o", tmp_path / "out.mp4", "--cert", chain, "--key", home / "signing-key.pem",
                 home=home)
    assert result.exit_code == 1 and _one_clear_line(result.stderr) == f"error: {chain} is not a PEM certificate chain"


@pytest.mark.parametrize("name", ["signing-key.pem", "watermark.key"])
def test_a_secret_open_to_every_user_is_refused(name: str, spoiled_home: Path, clip: Path, tmp_path: Path) -> None:
    (spoiled_home / name).chmod(0o644)
    result = run("sign", clip, "-o", tmp_path / "out.mp4", home=spoiled_home)
    assert result.exit_code == 1 and f"chmod 600 {spoiled_home / name}" in _one_clear_line(result.stderr)
    assert not (tmp_path / "out.mp4").exists()


@pytest.mark.parametrize("option", ["--trust-anchors", "--trust-list", "--ledger", "--detector"])
def test_bad_options_stop_a_parallel_batch_with_one_line(option: str, clip: Path, home: Path, tmp_path: Path) -> None:
    not_a_certificate, not_a_model = tmp_path / "anchors.pem", tmp_path / "model"
    not_a_certificate.write_text("not a certificate\n")
    not_a_model.mkdir()
    value = {"--trust-anchors": not_a_certificate, "--trust-list": not_a_certificate,
             "--ledger": tmp_path / "missing" / "ledger.sqlite", "--detector": not_a_model}[option]
    result = run("verify", *[clip] * 6, "--workers", "2", option, value, home=home)
    assert result.exit_code == 1 and result.stdout == ""
    _one_clear_line(result.stderr)


def test_exporting_the_ledger_onto_itself_is_refused(spoiled_home: Path, clip: Path, tmp_path: Path) -> None:
    [signed] = run_json("sign", clip, "-o", tmp_path / "signed.mp4", home=spoiled_home)
    result = run("ledger", "export", "-o", spoiled_home / "ledger.sqlite", home=spoiled_home)
    assert result.exit_code == 1 and "refusing to overwrite an input" in _one_clear_line(result.stderr)
    assert run_json("ledger", "list", "--limit", "1", home=spoiled_home)[0]["payload"] == signed["payload"]
    export = tmp_path / "ledger.jsonl"
    assert run("ledger", "export", "-o", export, home=spoiled_home).exit_code == 0
    assert signed["payload"] in export.read_text()
    export.write_text("an earlier export\n")
    result = run("ledger", "export", "-o", export, home=spoiled_home)
    assert result.exit_code == 1 and "--force" in _one_clear_line(result.stderr)
    assert export.read_text() == "an earlier export\n", "an existing file is kept"
    assert run("ledger", "export", "-o", export, "--force", home=spoiled_home).exit_code == 0
    assert signed["payload"] in export.read_text()


# -- outputs that already exist -------------------------------------------------------------------------------------


def test_an_existing_output_is_replaced_only_with_force(spoiled_home: Path, clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    [first] = run_json("sign", clip, "-o", out, home=spoiled_home)
    kept = out.read_bytes()
    result = run("sign", clip, "-o", out, home=spoiled_home)
    assert result.exit_code == 1
    assert _one_clear_line(result.stderr) == f"error: output {out} already exists; pass --force to replace it"
    assert out.read_bytes() == kept
    [second] = run_json("sign", clip, "-o", out, "--force", home=spoiled_home)
    rows = {row["payload"]: row for row in run_json("ledger", "list", home=spoiled_home)}
    assert rows[first["payload"]]["replaced_by"] == second["payload"]  # the credential stays: copies may live on
    assert rows[second["payload"]]["replaced_by"] is None and rows[second["payload"]]["sha256"] == second["sha256"]
    assert f"(replaced by {second['payload']})" in run("ledger", "list", home=spoiled_home).stdout


@pytest.mark.parametrize("operation", [["a calm sea", "--size", "64x48"], ["--fill"]])
def test_generate_refuses_an_existing_output_too(operation: list[str], spoiled_home: Path, clip: Path,
                                                 tmp_path: Path) -> None:
    out = tmp_path / "made.mp4"
    out.write_bytes(b"someone's clip")
    args = [*operation, clip] if operation == ["--fill"] else operation
    result = run("generate", *args, "-o", out, "--seconds", "0.5", home=spoiled_home)
    assert result.exit_code == 1 and "pass --force" in _one_clear_line(result.stderr)
    assert out.read_bytes() == b"someone's clip"


def test_an_output_that_appears_while_signing_is_not_replaced(spoiled_home: Path, tmp_path: Path) -> None:
    from provenance.errors import BadInput
    from provenance.ledger import Ledger
    from provenance.signing import Generation, Stamper

    out = tmp_path / "taken.mp4"

    def frames_then_another_writer():  # another program writes the output while these frames are stamped
        yield from scene_frames(64, 48, 4)
        out.write_bytes(b"written meanwhile")

    with Stamper(spoiled_home) as stamper, pytest.raises(BadInput, match="already exists"):
        stamper.sign_frames(frames_then_another_writer(), out, 12, Generation(model="m"))
    assert out.read_bytes() == b"written meanwhile"
    with Ledger.open(home=spoiled_home) as ledger:
        assert [record for record in ledger if record.path == str(out)] == []
    assert [path.name for path in tmp_path.iterdir() if path.name.startswith(".")] == []


def test_two_signings_racing_for_one_output_leave_one_file_and_one_row(spoiled_home: Path, clip: Path,
                                                                       tmp_path: Path) -> None:
    out = tmp_path / "raced.mp4"
    command = [Path(sys.executable).with_name("provenance"), "sign", clip, "-o", out, "--json", "--home", spoiled_home]
    racers = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outcomes = sorted((racer.wait(timeout=120), *racer.communicate()) for racer in racers)
    (won, won_out, _), (lost, _, lost_err) = outcomes
    assert (won, lost) == (0, 1) and lost_err == f"error: output {out} already exists; pass --force to replace it\n"
    winner = json.loads(won_out)
    rows = [row for row in run_json("ledger", "list", home=spoiled_home) if row["path"] == str(out)]
    assert [(row["payload"], row["sha256"]) for row in rows] == [(winner["payload"], winner["sha256"])]
    assert media.probe(out).frame_count == media.probe(clip).frame_count


NOT_FINITE = ["nan", "inf", "-inf"]
NUMERIC_OPTIONS = [  # command, option, its range as the error states it, values outside it
    (["sign", "IN", "-o", "OUT"], "--strength", "0.25<=x<=4.0", [*NOT_FINITE, "-1", "0"]),
    (["generate", "sea", "-o", "OUT"], "--seconds", "x>0", [*NOT_FINITE, "-1", "0"]),
    (["generate", "sea", "-o", "OUT"], "--fps", "1<=x<=120", [*NOT_FINITE, "-1", "0"]),
    (["detector", "train", "IN", "-o", "OUT"], "--min-gain-auc", "0<=x<=1", [*NOT_FINITE, "-1"]),
    (["detector", "train", "IN", "-o", "OUT"], "--seed", f"0<=x<={2**32 - 1}", ["-1", str(2**32)]),
    (["detector", "train", "IN", "-o", "OUT"], "--batch-size", "2<=x<=1024", ["1", "1000000000"]),
    (["generate", "sea", "-o", "OUT"], "--seed", "x>=0", ["-1"]),
]


@pytest.mark.parametrize(("command", "option", "valid", "value"), [
    (command, option, valid, value) for command, option, valid, values in NUMERIC_OPTIONS for value in values])
def test_numeric_options_refuse_what_is_out_of_their_range(command: list[str], option: str, valid: str, value: str,
                                                           clip: Path, home: Path, tmp_path: Path) -> None:
    args = [{"IN": clip, "OUT": tmp_path / "out.mp4"}.get(arg, arg) for arg in command]
    result = run(*args, option, value, home=home if command[0] != "detector" else None)
    assert result.exit_code == 2
    assert f"Invalid value for '{option}'" in result.stderr and f"is not in the range {valid}." in result.stderr
    assert not (tmp_path / "out.mp4").exists()


def test_an_ingredient_that_is_a_folder_is_named_as_one(clip: Path, home: Path, tmp_path: Path) -> None:
    folder = tmp_path / "stills.png"
    folder.mkdir()
    result = run("sign", clip, "-o", tmp_path / "out.mp4", "--ingredient", folder, home=home)
    assert result.exit_code == 1
    assert _one_clear_line(result.stderr) == f"error: ingredient {folder} is a directory; give a file"


def test_a_negative_seed_is_refused_by_the_generator(home: Path, tmp_path: Path) -> None:
    from generator.operations import Generator
    from provenance.errors import BadInput

    with Generator(home=home) as generator, pytest.raises(BadInput, match="seed -1 must not be negative"):
        generator.text_to_video("sea", tmp_path / "out.mp4", seed=-1)


def test_verify_never_creates_a_ledger(clip: Path, home: Path, tmp_path: Path) -> None:
    missing = tmp_path / "typo.sqlite"
    result = run("verify", clip, "--ledger", missing, home=home)
    assert result.exit_code == 1
    assert _one_clear_line(result.stderr) == f"error: no ledger at {missing} (nothing has been signed with it)"
    assert not missing.exists()


# -- detector training data ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("rows", "reason"), [
    (["real.mp4,real,camera,extra"], ":2: more cells than the header has columns"),
    (["real.mp4,real"], ":2: needs non-empty path, label and source columns"),
    (["real.mp4,real,camera", "gone.mp4,generated,model"], ":3: {folder}/gone.mp4 is not a file"),
    (["real.mp4,fake,camera"], ":2: label 'fake' is not 'real' or 'generated'"),
])
def test_a_bad_training_csv_row_is_named(rows: list[str], reason: str, clip: Path, tmp_path: Path) -> None:
    shutil.copy(clip, tmp_path / "real.mp4")
    table = tmp_path / "clips.csv"
    table.write_text("\n".join(["path,label,source", *rows]) + "\n")
    result = run("detector", "train", table, "-o", tmp_path / "model")
    assert result.exit_code == 1
    assert _one_clear_line(result.stderr) == f"error: {table}{reason.format(folder=tmp_path)}"


def test_a_training_csv_saved_by_a_spreadsheet_is_read(clip: Path, tmp_path: Path) -> None:
    from detector.data import load_dataset

    shutil.copy(clip, tmp_path / "real.mp4")
    shutil.copy(clip, tmp_path / "made.mp4")
    table = tmp_path / "clips.csv"
    table.write_bytes("\ufeffpath,label,source\r\nreal.mp4,real,camera\r\nmade.mp4,generated,model\r\n".encode())
    dataset = load_dataset(table)
    assert [(Path(c.path).name, c.label, c.source) for c in dataset.clips] == [("real.mp4", 0, "camera"),
                                                                               ("made.mp4", 1, "model")]


@pytest.mark.parametrize("option", ["--json", "--roc"])
def test_an_evaluation_report_that_cannot_be_written_is_refused_before_the_work(option: str, tmp_path: Path) -> None:
    result = run("detector", "evaluate", tmp_path, option, tmp_path / "missing" / "report")
    assert result.exit_code == 1
    assert _one_clear_line(result.stderr) == f"error: output folder {tmp_path / 'missing'} does not exist"


def test_training_into_a_trained_model_needs_force(tmp_path: Path) -> None:
    model = Path(shutil.copytree(Path(__file__).resolve().parents[1] / "detector" / "reference", tmp_path / "model"))
    before = {path.name: path.read_bytes() for path in model.iterdir()}
    result = run("detector", "train", tmp_path, "-o", model)
    assert result.exit_code == 1 and "already holds a trained model; pass --force" in _one_clear_line(result.stderr)
    assert {path.name: path.read_bytes() for path in model.iterdir()} == before


@pytest.mark.parametrize("args", [["keygen", "--home", ""], ["verify", ""], ["sign", "CLIP", "-o", ""],
                                  ["generate", "sea", "-o", ""], ["detector", "score", ""]])
def test_an_empty_path_is_not_the_current_folder(args: list[str], clip: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # where an empty path would have led
    result = run(*[clip if arg == "CLIP" else arg for arg in args])
    assert result.exit_code == 2 and "an empty string is not a path" in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("org", "reason"), [("", "must be printable text"), ("Studio\nB", "must be printable text"),
                                             ("x" * 49, "at most 48 fit in the certificates")])
def test_an_organisation_name_the_certificates_cannot_carry_is_refused(org: str, reason: str, tmp_path: Path) -> None:
    result = run("keygen", "--org", org, home=tmp_path / "home")
    assert result.exit_code == 1 and reason in _one_clear_line(result.stderr)
    assert not (tmp_path / "home").exists()


def test_the_training_example_names_bad_data_in_one_line(tmp_path: Path) -> None:
    script = Path(__file__).resolve().parents[1] / "examples" / "train_detector.py"
    done = subprocess.run([sys.executable, script, tmp_path, tmp_path / "model"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 1 and done.stderr == f"error: {tmp_path}: no labelled clips found\n"


def test_an_output_on_a_file_system_without_hard_links_is_still_never_replaced(tmp_path: Path,
                                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    from provenance.errors import BadInput
    from provenance.files import move_into_place

    def no_hard_links(source: str | os.PathLike, target: str | os.PathLike) -> None:  # as on FAT or some shares
        raise PermissionError(errno.EPERM, "Operation not permitted", str(target))

    monkeypatch.setattr(os, "link", no_hard_links)
    first, second, target = tmp_path / "first", tmp_path / "second", tmp_path / "out.mp4"
    first.write_bytes(b"first")
    second.write_bytes(b"second")
    move_into_place(first, target, overwrite=False)
    with pytest.raises(BadInput, match="already exists"):
        move_into_place(second, target, overwrite=False)
    assert target.read_bytes() == b"first" and not first.exists() and second.exists()


def test_a_folder_that_is_no_model_is_refused_before_torch_loads(tmp_path: Path) -> None:
    probe = ("import sys; from detector.model import load; from provenance.errors import ModelError\n"
             f"for folder in ({str(tmp_path / 'missing')!r}, {str(tmp_path)!r}):\n"
             "    try:\n        load(folder)\n    except ModelError:\n        pass\n"
             "print('torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.stdout == "False\n", done.stderr  # a typo in --detector answers in a moment, not after torch's import


@pytest.mark.parametrize(("chain", "key", "reason"), [
    ("signing-chain.pem", "ca-key.pem", "is not the private key of the first certificate in"),
    ("ca.pem", "ca-key.pem", "starts with a self-signed certificate"),
])
def test_a_certificate_and_key_c2pa_would_reject_are_refused_before_any_work(chain: str, key: str, reason: str,
                                                                           home: Path, clip: Path,
                                                                           tmp_path: Path) -> None:
    result = run("sign", clip, "-o", tmp_path / "out.mp4", "--cert", home / chain, "--key", home / key, home=home)
    assert result.exit_code == 1 and reason in _one_clear_line(result.stderr)
    assert list(tmp_path.iterdir()) == []
