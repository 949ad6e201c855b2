"""Signers judged by the official C2PA trust list, the interim list and your own anchors; still images read for their
manifest. Real c2pa-python, real C2PA sample files and trust lists (../shared/trust, see its README)."""

from __future__ import annotations

import datetime
import io
import json
import os
from pathlib import Path

import c2pa
import pytest
from cli_helpers import run, run_json
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID, ObjectIdentifier
from PIL import Image

from conftest import trust_data
from provenance.batch import run_batch
from provenance.keys import Credentials
from provenance.manifest import Generation, build_manifest, now_iso
from provenance.service.api import trust_list_fingerprints
from provenance.service.settings import Settings
from provenance.trust import TRUST_SOURCES, Trust
from provenance.verify import Verifier, close_worker, setup_worker, verify_clip

OFFICIAL = "official/C2PA-TRUST-LIST.pem"
INTERIM, INTERIM_ALLOWED = "interim/anchors.pem", "interim/allowed.pem"
C2PA_CLAIM_SIGNING = ObjectIdentifier("1.3.6.1.4.1.62558.2.1")  # c2pa-kp-claimSigning
# What c2pa-python 0.38.1 says of each sample (../shared/trust/README.md): validation state, the failure it names
# (whatever the list), and the list that trusts its signer when that list is given.
SAMPLES = {
    "adobe-20220124-CA.jpg": ("Valid", None, None),
    "adobe-20220124-E-sig-CA.jpg": ("Invalid", "claimSignature.mismatch", None),
    "adobe-20220124-E-dat-CA.jpg": ("Invalid", "assertion.dataHash.mismatch", None),
    "adobe-20220124-XCA.jpg": ("Invalid", "assertion.dataHash.mismatch", None),
    "nikon-20221019-building.jpeg": ("Invalid", "signingCredential.expired", None),
    "truepic-20230212-camera.jpg": ("Invalid", "assertion.dataHash.mismatch", "interim"),
}
LISTS = {"none": {}, "interim": {"interim_trust_list": INTERIM, "interim_allowed": INTERIM_ALLOWED},
         "official": {"trust_lists": [OFFICIAL]}}


def _lists(name: str) -> dict:
    """Verifier options for one of LISTS, with the trust data's paths."""
    return {key: [trust_data(v) for v in value] if isinstance(value, list) else trust_data(value)
            for key, value in LISTS[name].items()}


def _verify(path: Path, tmp_path: Path, **options):
    verifier = Verifier(home=tmp_path, **options)
    try:
        return verifier.verify(path)
    finally:
        verifier.close()


@pytest.mark.parametrize("lists", LISTS)
@pytest.mark.parametrize("sample", SAMPLES)
def test_each_sample_is_trusted_by_the_list_the_table_names(sample: str, lists: str, tmp_path: Path) -> None:
    state, failure, trusted_by = SAMPLES[sample]
    report = _verify(trust_data(f"samples/{sample}"), tmp_path, **_lists(lists))
    c2pa_part = report.c2pa
    assert c2pa_part.present and c2pa_part.validation_state == state
    assert failure is None or failure in c2pa_part.status_codes
    assert c2pa_part.trust == (trusted_by if trusted_by == lists else "untrusted")
    assert c2pa_part.signer_trusted == (c2pa_part.trust != "untrusted")
    assert ("signingCredential.untrusted" in c2pa_part.status_codes) == (c2pa_part.trust == "untrusted")
    assert report.verdict == ("tampered" if state == "Invalid" else "no-evidence")


def test_a_file_without_a_manifest_has_no_trust(tmp_path: Path) -> None:
    report = _verify(trust_data("samples/adobe-20220124-A.jpg"), tmp_path, **_lists("official"), **_lists("interim"))
    assert not report.c2pa.present and report.c2pa.trust is None
    assert report.verdict == "no-evidence" and report.evidence[0] == "no C2PA manifest"


def test_truepic_is_tampered_and_its_signer_trusted_by_the_interim_list_alone(tmp_path: Path) -> None:
    [report] = run_json("verify", trust_data("samples/truepic-20230212-camera.jpg"), "--trust-list",
                        trust_data(OFFICIAL), "--interim-trust-list", trust_data(INTERIM), "--interim-allowed",
                        trust_data(INTERIM_ALLOWED), home=tmp_path)
    assert report["verdict"] == "tampered" and report["c2pa"]["trust"] == "interim"
    assert report["c2pa"]["status_codes"] == ["assertion.dataHash.mismatch"]
    assert "the file was altered after signing" in report["evidence"][0]
    assert "on the frozen interim trust list of known certificates, not on the official C2PA trust list" in (
        report["evidence"][0])


def test_an_expired_signing_certificate_is_not_called_an_alteration(tmp_path: Path) -> None:
    [line, _] = _verify(trust_data("samples/nikon-20221019-building.jpeg"), tmp_path).evidence
    assert line == ("a C2PA manifest is present but does not validate (signingCredential.expired): its signing "
                    "certificate is not valid (expired, revoked or not fit for signing); its signer (NIKON "
                    "CORPORATION) is on none of the trust lists given")


@pytest.mark.parametrize(("sample", "signer", "issuer", "claim_generator"), [
    ("adobe-20220124-CA.jpg", "C2PA Signer, C2PA Test Signing Cert", "C2PA Test Signing Cert",
     "make_test_images/0.16.1 c2pa-rs/0.16.1"),
    ("nikon-20221019-building.jpeg", "NIKON CORPORATION", "NIKON CORPORATION",
     "Nikon_Z_9_Sample_for_Adobe_MAX_2022 c2pa-rs/0.14.0"),
    ("truepic-20230212-camera.jpg", "Truepic Lens SDK v1.1.3 in Vision Camera v3.1.5, Truepic", "Truepic",
     "Truepic Lens SDK libc2pa C++ Library 2.5.1"),
])
def test_other_signers_are_named_as_their_certificates_say(sample: str, signer: str, issuer: str,
                                                           claim_generator: str, tmp_path: Path) -> None:
    c2pa_part = _verify(trust_data(f"samples/{sample}"), tmp_path).c2pa
    assert (c2pa_part.signer, c2pa_part.issuer, c2pa_part.claim_generator) == (signer, issuer, claim_generator)
    assert c2pa_part.ai_generated is False and c2pa_part.generator is None  # camera captures, an edit


@pytest.fixture(scope="module")
def own_clip(home: Path, clip: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("own") / "signed.mp4"
    assert run("sign", clip, "-o", out, "--model", "test-model-1", "--no-watermark", home=home).exit_code == 0
    return out


def test_our_own_clip_is_trusted_by_our_anchors_whatever_else_is_given(own_clip: Path, home: Path) -> None:
    [alone] = run_json("verify", own_clip, "--trust-anchors", home / "ca.pem", home=home)
    [with_all] = run_json("verify", own_clip, "--trust-anchors", home / "ca.pem", "--trust-list", trust_data(OFFICIAL),
                          "--interim-trust-list", trust_data(INTERIM), home=home)
    [without] = run_json("verify", own_clip, "--trust-list", trust_data(OFFICIAL), home=home)
    assert alone["c2pa"]["trust"] == with_all["c2pa"]["trust"] == "own"
    assert alone["verdict"] == with_all["verdict"] == without["verdict"] == "ai-generated"
    assert "signed by a trusted certificate under your trust anchors" in alone["evidence"][0]
    assert without["c2pa"]["trust"] == "untrusted" and without["c2pa"]["validation_state"] == "Valid"


def test_the_first_list_that_trusts_a_signer_names_it(own_clip: Path, home: Path, tmp_path: Path) -> None:
    ca = home / "ca.pem"
    report = _verify(own_clip, tmp_path, trust_anchors=ca, interim_trust_list=ca, trust_lists=[ca])
    assert TRUST_SOURCES[0] == "official" and report.c2pa.trust == "official"
    assert _verify(own_clip, tmp_path, trust_anchors=ca, interim_trust_list=ca).c2pa.trust == "interim"


def test_the_trust_list_is_taken_from_the_environment(own_clip: Path, home: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROVENANCE_TRUST_LIST", os.pathsep.join(map(str, [trust_data(OFFICIAL), home / "ca.pem"])))
    [report] = run_json("verify", own_clip, home=home)
    assert report["c2pa"]["trust"] == "official"


@pytest.fixture(scope="module", params=["png", "jpeg", "webp", "avif"])
def signed_image(request: pytest.FixtureRequest, home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A still image signed with our manifest through c2pa-python (provenance signs video only)."""
    kind = request.param
    out = tmp_path_factory.mktemp("still") / f"still.{kind}"
    source = io.BytesIO()
    Image.new("RGB", (64, 48), (40, 90, 160)).save(source, kind.upper())
    manifest = {**build_manifest(out.name, Generation(model="still-model"), now_iso()), "format": f"image/{kind}"}
    with open(out, "w+b") as dest:
        c2pa.Builder(json.dumps(manifest)).sign(Credentials.load(home).signer(), f"image/{kind}", source, dest)
    return out


def _claim_signing_credentials(home: Path) -> Credentials:
    """A signing certificate under the home's CA with C2PA's own claim-signing EKU, as conforming signers carry."""
    ca = x509.load_pem_x509_certificate((home / "ca.pem").read_bytes())
    ca_key = serialization.load_pem_private_key((home / "ca-key.pem").read_bytes(), None)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    leaf = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "claim signer")]))
            .issuer_name(ca.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([C2PA_CLAIM_SIGNING]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return Credentials(chain_pem=leaf.public_bytes(serialization.Encoding.PEM), key_pem=key_pem, alg="es256")


def test_a_signer_with_the_c2pa_claim_signing_eku_is_valid(home: Path, tmp_path: Path) -> None:
    out, source = tmp_path / "claim-signed.png", io.BytesIO()
    Image.new("RGB", (64, 48), (40, 90, 160)).save(source, "PNG")
    manifest = {**build_manifest(out.name, Generation(model="still-model"), now_iso()), "format": "image/png"}
    signing = c2pa.Context.from_dict(Trust().settings())  # c2pa-rs checks the certificate when signing too
    with open(out, "w+b") as dest:
        c2pa.Builder(json.dumps(manifest), context=signing).sign(
            _claim_signing_credentials(home).signer(), "image/png", source, dest)
    report = _verify(out, tmp_path, trust_anchors=home / "ca.pem")
    assert report.c2pa.validation_state == "Trusted" and report.c2pa.trust == "own"
    assert report.verdict == "ai-generated"


class FailingDetector:
    def score(self, path):
        raise AssertionError(f"the detector ran on {path}")


def test_a_signed_image_is_read_as_our_clips_are(signed_image: Path, home: Path) -> None:
    verifier = Verifier(trust_anchors=home / "ca.pem", home=home, detector=FailingDetector())
    report = verifier.verify(signed_image)
    verifier.close()
    assert report.verdict == "ai-generated" and report.container == signed_image.suffix[1:]
    assert report.c2pa.generator == "still-model" and report.c2pa.trust == "own"
    assert report.watermark["state"] == "not-checked" and "still image" in report.watermark["reason"]
    assert report.detector["score"] is None and "not run" in report.detector["note"]
    assert report.evidence[1:] == ["watermark not checked (a still image: our watermark is only embedded in video)",
                                   "detector not run: it scores video clips, not still images"]


def test_images_verify_with_no_note_on_stderr(signed_image: Path, home: Path) -> None:
    result = run("verify", trust_data("samples/adobe-20220124-A.jpg"), signed_image, "--json", home=home)
    assert result.exit_code == 0 and result.stderr == ""
    reports = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["container"] for r in reports] == ["jpeg", signed_image.suffix[1:]]
    assert all(r["watermark"]["state"] == "not-checked" for r in reports)


def test_an_image_given_as_bytes_is_read_too(tmp_path: Path) -> None:
    setup_worker(home=tmp_path, **_lists("interim"))
    try:
        result = verify_clip(trust_data("samples/truepic-20230212-camera.jpg").read_bytes(), name="upload.jpg")
    finally:
        close_worker()
    assert (result["path"], result["verdict"], result["container"]) == ("upload.jpg", "tampered", "jpeg")
    assert result["c2pa"]["trust"] == "interim"


def test_batch_and_service_take_the_lists(own_clip: Path, home: Path, tmp_path: Path) -> None:
    paths = tmp_path / "paths.txt"
    paths.write_text(f"{trust_data('samples/truepic-20230212-camera.jpg')}\n{own_clip}\n")
    output = tmp_path / "verdicts.jsonl"
    run_batch(paths, output, num_cpus=1, progress=None, home=home, trust_anchors=home / "ca.pem", **_lists("interim"))
    rows = [json.loads(line) for line in output.read_text().splitlines()]
    assert sorted(json.loads(row["report"])["c2pa"]["trust"] for row in rows) == ["interim", "own"]
    settings = Settings(home=home, trust_lists=(trust_data(OFFICIAL),), interim_trust_list=trust_data(INTERIM))
    verifier = Verifier(**settings.verifier_options())
    verifier.close()
    assert [trust_list.source for trust_list in verifier.trust.lists] == ["official", "interim"]
    listed = trust_list_fingerprints(settings)
    assert (len(listed["official"]), len(listed["interim"])) == (30, 18)  # what /v1/version shows


@pytest.mark.parametrize("option", ["--trust-anchors", "--trust-list", "--interim-trust-list", "--interim-allowed"])
@pytest.mark.parametrize("problem", ["missing", "garbage", "garbage inside PEM markers"])
def test_a_bad_list_is_one_error_line(option: str, problem: str, own_clip: Path, home: Path, tmp_path: Path) -> None:
    bad = tmp_path / "list.pem"
    if problem == "garbage":
        bad.write_text("not a certificate\n")
    elif problem != "missing":
        bad.write_text("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n")
    extra = ["--interim-trust-list", trust_data(INTERIM)] if option == "--interim-allowed" else []
    result = run("verify", own_clip, option, bad, *extra, home=home)
    assert result.exit_code == 1 and result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("error: ") and str(bad) in line
    assert ("no such file" if problem == "missing" else "not a PEM certificate file") in line


def test_the_interim_allowed_list_needs_its_anchors(own_clip: Path, home: Path) -> None:
    result = run("verify", own_clip, "--interim-allowed", trust_data(INTERIM_ALLOWED), home=home)
    assert result.exit_code == 1
    assert result.stderr == "error: the interim allowed list needs the interim trust list (its anchors) too\n"


def test_a_folder_is_walked_for_still_images_too(own_clip: Path, home: Path, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    (inbox / "photos").mkdir(parents=True)
    (inbox / "clip.mp4").write_bytes(own_clip.read_bytes())
    (inbox / "photos" / "camera.JPG").write_bytes(trust_data("samples/truepic-20230212-camera.jpg").read_bytes())
    (inbox / "notes.txt").write_text("not media")
    reports = run_json("verify", inbox, "--interim-trust-list", trust_data(INTERIM), home=home)
    assert [(Path(r["path"]).name, r["container"]) for r in reports] == [("clip.mp4", "mp4"), ("camera.JPG", "jpeg")]
    assert reports[1]["c2pa"]["trust"] == "interim"
