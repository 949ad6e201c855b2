"""The fingerprint soft binding: a clip signed without a watermark is traced back through its fingerprint, in
SQLite and PostgreSQL ledgers; a copy that was trimmed too; an unrelated clip is not; a schema-2 ledger upgrades."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from cli_helpers import run_json

from conftest import sample_data
from provenance import attacks, fingerprint, media
from provenance.ledger import FINGERPRINT_TABLE, SCHEMA_VERSION, Ledger
from provenance.signing import Generation, Stamper
from provenance.verify import Verifier

SIGNED_CLIP = "clips/real/ucf101/v_PlayingGuitar_g03_c01.mp4"  # 10 s, 320x240
UNRELATED_CLIP = "clips/real/ucf101/v_PlayingGuitar_g14_c01.mp4"  # the same action, other people and place




def _copy(src: Path, dst: Path, attack: attacks.Attack, crf: int = 28) -> Path:
    """What a re-upload does: the manifest stripped by a remux, then `attack` and an H.264 re-encode."""
    stripped = dst.with_name(f"stripped-{dst.name}")
    media.remux(src, stripped)
    attack(attacks.Clip.read(stripped)).write(dst, crf=crf)
    return dst


def _sign_without_watermark(home: Path, ledger_url: str, dst: Path) -> str:
    with Stamper(home, ledger=ledger_url, watermark=False) as stamper:
        return stamper.sign_clip(sample_data(SIGNED_CLIP), dst, Generation(model="video-model-3")).payload


def test_manifest_carries_the_fingerprint(home: Path, tmp_path: Path) -> None:
    signed = tmp_path / "signed.mp4"
    payload = _sign_without_watermark(home, str(tmp_path / "ledger.sqlite"), signed)
    [report] = run_json("verify", signed, home=home)
    binding = report["c2pa"]["soft_binding"]
    assert binding["alg"] == fingerprint.ALGORITHM_ID
    assert [block["scope"]["timespan"]["start"] for block in binding["blocks"]] == list(range(0, 10_000, 1000))
    with Ledger.open(tmp_path / "ledger.sqlite") as ledger:
        hashes = [int(block["value"], 16) for block in binding["blocks"]]
        assert {row[0] for row in ledger.fingerprint_candidates(hashes)} == {payload}


def test_reencoded_copy_is_found_by_its_fingerprint(home: Path, ledger_url: str, tmp_path: Path) -> None:
    payload = _sign_without_watermark(home, ledger_url, tmp_path / "signed.mp4")
    copy = _copy(tmp_path / "signed.mp4", tmp_path / "copy.mp4", attacks.identity())
    verifier = Verifier(trust_anchors=home / "ca.pem", home=home, ledger=ledger_url)
    try:
        report = verifier.verify(copy).to_dict()
        unrelated = verifier.verify(sample_data(UNRELATED_CLIP)).to_dict()
    finally:
        verifier.close()
    assert report["verdict"] == "near-copy-of-credentialed"
    ledger = report["ledger"]
    assert ledger["match"] == "fingerprint" and ledger["record"]["payload"] == payload
    assert ledger["fingerprint"]["seconds_matched"] >= 8 and ledger["fingerprint"]["offset_ms"] == 0
    assert ledger["signature_valid"] and ledger["manifest"]["signer_trusted"] and not ledger["hard_binding_matches"]
    assert ledger["manifest"]["generator"] == "video-model-3"
    assert unrelated["verdict"] == "no-evidence" and not unrelated["ledger"]["found"]


def test_a_verifier_without_the_watermark_key_still_finds_the_fingerprint(home: Path, tmp_path: Path) -> None:
    ledger_url = str(tmp_path / "ledger.sqlite")
    payload = _sign_without_watermark(home, ledger_url, tmp_path / "signed.mp4")
    copy = _copy(tmp_path / "signed.mp4", tmp_path / "copy.mp4", attacks.identity())
    keyless = tmp_path / "moderation-home"  # a moderation team's machine: the issuer's ledger, not its keys
    keyless.mkdir()
    [report] = run_json("verify", copy, "--ledger", ledger_url, "--trust-anchors", home / "ca.pem", home=keyless)
    assert report["watermark"]["state"] == "not-checked"
    assert report["verdict"] == "near-copy-of-credentialed" and report["ledger"]["record"]["payload"] == payload


def test_trimmed_copy_matches(home: Path, tmp_path: Path) -> None:
    ledger_url = str(tmp_path / "ledger.sqlite")
    payload = _sign_without_watermark(home, ledger_url, tmp_path / "signed.mp4")
    middle = _copy(tmp_path / "signed.mp4", tmp_path / "middle.mp4", attacks.window(4.0, start_s=3.4))
    [report] = run_json("verify", middle, "--ledger", ledger_url, home=home)
    assert report["verdict"] == "near-copy-of-credentialed"
    assert report["ledger"]["record"]["payload"] == payload
    assert report["ledger"]["fingerprint"]["offset_ms"] in (3250, 3500)


def test_watermark_match_is_named(home: Path, clip: Path, tmp_path: Path) -> None:
    signed = tmp_path / "signed.mp4"
    ledger_url = str(tmp_path / "ledger.sqlite")
    with Stamper(home, ledger=ledger_url) as stamper:
        stamper.sign_clip(clip, signed, Generation(model="video-model-3"))
    copy = _copy(signed, tmp_path / "copy.mp4", attacks.identity(), crf=23)
    [report] = run_json("verify", copy, "--ledger", ledger_url, home=home)
    assert report["verdict"] == "ai-generated" and report["ledger"]["match"] == "watermark"


def test_schema_2_ledger_file_upgrades(home: Path, tmp_path: Path) -> None:
    """A ledger written before fingerprints (schema 2) gains their table on first open and keeps its credentials."""
    path = tmp_path / "ledger.sqlite"
    old_payload = _sign_without_watermark(home, str(path), tmp_path / "old.mp4")
    with sqlite3.connect(path) as connection:  # back to what schema 2 was: no fingerprint table
        connection.execute(f"DROP TABLE {FINGERPRINT_TABLE}")
        connection.execute("UPDATE ledger_meta SET value = '2' WHERE name = 'schema_version'")
    with Ledger.open(path) as ledger:
        assert ledger.get(old_payload) is not None
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT value FROM ledger_meta WHERE name = 'schema_version'").fetchall() == [
            (str(SCHEMA_VERSION),)]
    new_payload = _sign_without_watermark(home, str(path), tmp_path / "new.mp4")
    copy = _copy(tmp_path / "new.mp4", tmp_path / "copy.mp4", attacks.identity())
    [report] = run_json("verify", copy, "--ledger", path, home=home)
    assert report["ledger"]["record"]["payload"] == new_payload
