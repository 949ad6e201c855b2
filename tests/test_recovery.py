"""Durable credentials: a stripped, re-encoded, rescaled, cropped clip is traced back to its manifest."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import run, run_json

from conftest import scene_frames
from provenance import attacks, media
from provenance.keys import keygen
from provenance.ledger import Ledger, Record
from provenance.verify import IssuedFromLedger
from provenance.watermark import Detection, Payload, WatermarkKey
from provenance.watermark.payload import encode_payload


@pytest.fixture(scope="module")
def stamped(home: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """A 480p clip signed with the watermark; returns its path and the `sign --json` result."""
    folder = tmp_path_factory.mktemp("recovery")
    src = folder / "camera.mp4"
    media.write_video(src, scene_frames(854, 480, 48, seed=11), fps=24)
    out = folder / "stamped.mp4"
    result = run("sign", src, "-o", out, "--model", "video-model-3", "--json", home=home)
    assert result.exit_code == 0, result.stderr
    return out, json.loads(result.stdout)


def _reupload(src: Path, dst: Path, attack: attacks.Attack, crf: int) -> Path:
    """Strip the manifest by stream copy, apply `attack`, re-encode H.264 at `crf`."""
    stripped = dst.with_name(f"stripped-{dst.name}")
    media.remux(src, stripped)
    attack(attacks.Clip.read(stripped)).write(dst, crf=crf)
    return dst


def test_stripped_and_reencoded_clip_reports_its_payload(stamped, home: Path, tmp_path: Path) -> None:
    signed, signing = stamped
    reencoded = _reupload(signed, tmp_path / "reencoded.mp4", attacks.identity(), crf=23)
    [report] = run_json("verify", reencoded, home=home)
    assert not report["c2pa"]["present"]
    assert report["watermark"]["detected"] and report["watermark"]["payload"] == signing["payload"]
    assert report["watermark"]["p_value"] <= 1e-6
    assert report["verdict"] == "ai-generated"


def test_platform_copy_recovers_the_original_manifest(stamped, home: Path, tmp_path: Path) -> None:
    signed, signing = stamped
    platform = attacks.compose(attacks.scale(0.5), attacks.crop(0.8))
    copy = _reupload(signed, tmp_path / "platform.mp4", platform, crf=30)
    assert media.probe(copy).width < 400
    [report] = run_json("verify", copy, "--trust-anchors", home / "ca.pem", home=home)
    assert report["verdict"] == "ai-generated"
    assert report["watermark"]["payload"] == signing["payload"]
    ledger = report["ledger"]
    assert ledger["found"] and ledger["signature_valid"] and not ledger["hard_binding_matches"]
    recovered = ledger["manifest"]
    assert recovered["generator"] == "video-model-3"
    assert recovered["claim_generator"].startswith("provenance")
    assert recovered["signer_trusted"] and recovered["trust"] == "own"
    assert "assertion.bmffHash.mismatch" in recovered["status_codes"]
    human = run("verify", copy, "--trust-anchors", home / "ca.pem", home=home).stdout
    assert "hard binding does not match this file" in human and "ledger holds the original manifest" in human
    assert "signer under your trust anchors" in human


def test_another_key_finds_nothing(stamped, tmp_path: Path) -> None:
    signed, _ = stamped
    stranger = tmp_path / "stranger"
    keygen(stranger)
    stripped = tmp_path / "stripped.mp4"
    media.remux(signed, stripped)
    [report] = run_json("verify", stripped, home=stranger)
    assert not report["watermark"]["detected"] and report["watermark"]["payload"] is None
    assert report["verdict"] == "no-evidence" and not report["ledger"]["found"]


def test_ledger_lists_and_shows_the_credential(stamped, home: Path) -> None:
    _, signing = stamped
    rows = run_json("ledger", "list", "--limit", "1000", home=home)
    assert signing["payload"] in {row["payload"] for row in rows}
    shown = json.loads(run("ledger", "show", signing["payload"], home=home).stdout)
    assert shown["model"] == "video-model-3" and shown["sha256"] == signing["sha256"]
    missing = run("ledger", "show", "00" * 8, home=home)
    assert missing.exit_code == 1 and "no credential" in missing.stderr


def test_restamping_replaces_our_earlier_mark(stamped, home: Path, tmp_path: Path) -> None:
    signed, first = stamped
    again = tmp_path / "restamped.mp4"
    result = run("sign", signed, "-o", again, "--model", "editor-2", "--json", home=home)
    second = json.loads(result.stdout)
    assert second["payload"] != first["payload"]
    platform = attacks.compose(attacks.scale(0.5), attacks.crop(0.8))
    [report] = run_json("verify", _reupload(again, tmp_path / "copy.mp4", platform, crf=30), home=home)
    assert report["watermark"]["payload"] == second["payload"]
    assert report["ledger"]["found"] and report["ledger"]["manifest"]["generator"] == "editor-2"


def test_issued_payloads_follow_the_ledger_as_it_grows(tmp_path: Path) -> None:
    key = WatermarkKey(b"issued payloads follow the ledger")

    def begin(ledger: Ledger, index: int) -> str:
        payload = f"{index:016x}"
        ledger.begin(Record(
            payload=payload, sha256="0" * 64, manifest_store=b"manifest", signer="CN=Test", signer_chain_pem="pem",
            model="m", created_at="2026-11-24T00:00:00+00:00", path=str(tmp_path / f"{index}.mp4"),
            claim_generator="provenance"))
        return payload

    with Ledger.open(tmp_path / "ledger.sqlite") as ledger:
        for index in range(3):
            ledger.complete(begin(ledger, index))
        issued = IssuedFromLedger(ledger, key)
        first = issued.current()
        assert len(first) == 3 and issued.current() is first, "nothing new: nothing coded again"
        late = begin(ledger, 3)  # a signing that completes after a later one
        ledger.complete(begin(ledger, 4))
        assert len(issued.current()) == 4 and issued.current() is first, "the new credential is appended"
        ledger.complete(late)
        assert len(issued.current()) == 5, "an older sequence number completing later is found too"
        truth = 2.0 * encode_payload(Payload.from_hex(late), key.check_mask) - 1.0
        soft = 0.55 * truth + np.random.default_rng(0).standard_normal(truth.size)
        damaged = Detection(state="not-detected", payload=None, p_value=0.5, frames=1, coded_soft=soft)
        assert issued.current().match(damaged).payload == Payload.from_hex(late)
