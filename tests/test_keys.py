"""Signing credentials: key files, certificate profiles C2PA accepts, own chains and callback signers."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from provenance.errors import BadInput, KeyMissing, SigningError
from provenance.keys import Credentials, keygen, local_callback, read_watermark_secret
from provenance.manifest import Generation, build_manifest, read_evidence, sign_file
from provenance.trust import Trust

PRIVATE_FILES = ("signing-key.pem", "ca-key.pem", "watermark.key")


def _sign_and_read(creds: Credentials, clip: Path, out: Path, anchors: bytes | None):
    manifest = build_manifest(out.name, Generation(model="test-model"), "2026-01-01T00:00:00+00:00")
    sign_file(clip, out, manifest, creds.signer())
    return read_evidence(out, Trust.load(trust_anchors=anchors))


def test_key_files_are_private(home: Path) -> None:
    for name in PRIVATE_FILES:
        assert stat.S_IMODE((home / name).stat().st_mode) == 0o600, name
    assert len(read_watermark_secret(home)) == 32


def test_keygen_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    keygen(tmp_path)
    before = (tmp_path / "signing-key.pem").read_bytes()
    with pytest.raises(BadInput, match="--force"):
        keygen(tmp_path)
    assert (tmp_path / "signing-key.pem").read_bytes() == before
    keygen(tmp_path, force=True)
    assert (tmp_path / "signing-key.pem").read_bytes() != before


def test_keys_replaced_with_force_are_set_aside_not_lost(tmp_path: Path) -> None:
    keygen(tmp_path)
    old = {name: (tmp_path / name).read_bytes() for name in (*PRIVATE_FILES, "ca.pem")}
    keygen(tmp_path, force=True)
    [aside] = (tmp_path / "replaced").iterdir()
    assert {name: (aside / name).read_bytes() for name in old} == old  # still verify the clips stamped before
    assert all((tmp_path / name).read_bytes() != content for name, content in old.items())
    assert stat.S_IMODE(aside.stat().st_mode) == 0o700
    assert all(stat.S_IMODE((aside / name).stat().st_mode) == 0o600 for name in PRIVATE_FILES)


@pytest.mark.parametrize("alg", ["es256", "ps256", "ed25519"])
def test_every_algorithm_signs_trusted_manifests(tmp_path: Path, clip: Path, alg: str) -> None:
    creds = keygen(tmp_path / "home", alg=alg, org="Example Studio")
    assert json.loads((tmp_path / "home" / "credentials.json").read_text())["alg"] == alg
    anchors = (tmp_path / "home" / "ca.pem").read_bytes()
    evidence = _sign_and_read(creds, clip, tmp_path / "signed.mp4", anchors)
    assert evidence.validation_state == "Trusted"
    assert evidence.ai_generated and evidence.generator == "test-model"
    assert "Example Studio" in evidence.signer


def test_without_anchors_the_signature_is_valid_but_untrusted(home: Path, clip: Path, tmp_path: Path) -> None:
    evidence = _sign_and_read(Credentials.load(home), clip, tmp_path / "signed.mp4", None)
    assert evidence.validation_state == "Valid"
    assert "signingCredential.untrusted" in evidence.status_codes


def test_a_kms_style_callback_signs(home: Path, clip: Path, tmp_path: Path) -> None:
    local = Credentials.load(home)
    calls = []

    def kms(data: bytes) -> bytes:
        calls.append(len(data))
        return local_callback(local.key_pem, "es256")(data)

    creds = Credentials.from_callback(kms, local.chain_pem, "es256")
    evidence = _sign_and_read(creds, clip, tmp_path / "signed.mp4", (home / "ca.pem").read_bytes())
    assert calls and evidence.validation_state == "Trusted"


def test_a_chain_and_key_issued_elsewhere(home: Path, clip: Path, tmp_path: Path) -> None:
    creds = Credentials.from_files(home / "signing-chain.pem", home / "signing-key.pem")
    assert creds.alg == "es256"
    evidence = _sign_and_read(creds, clip, tmp_path / "signed.mp4", (home / "ca.pem").read_bytes())
    assert evidence.validation_state == "Trusted"


def test_a_certificate_from_a_different_ca_is_not_trusted(home: Path, clip: Path, tmp_path: Path) -> None:
    other = keygen(tmp_path / "other")
    evidence = _sign_and_read(other, clip, tmp_path / "signed.mp4", (home / "ca.pem").read_bytes())
    assert evidence.validation_state == "Valid"


def test_missing_keys_and_secrets_never_leak(tmp_path: Path, home: Path) -> None:
    with pytest.raises(KeyMissing, match="keygen"):
        Credentials.load(tmp_path / "nowhere")
    creds = Credentials.load(home)
    assert "PRIVATE" not in repr(creds) and creds.key_pem.decode() not in repr(creds)
    with pytest.raises(SigningError, match="cannot create a signer"):
        Credentials(alg="es256", chain_pem=creds.chain_pem, key_pem=b"junk").signer()
