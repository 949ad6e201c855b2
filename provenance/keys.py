"""Signing credentials: a development CA, a C2PA-acceptable signing certificate, the watermark secret.

Layout of a home folder (`--home`, `PROVENANCE_HOME`, or the per-user default):

    ca.pem              development CA certificate: what verifiers pass as --trust-anchors
    ca-key.pem          its private key (0600)
    signing-chain.pem   signing certificate chain, leaf first
    signing-key.pem     signing private key, PKCS#8 (0600)
    watermark.key       the watermark secret, hex (0600)
    credentials.json    algorithm and organisation
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from provenance.errors import BadInput, KeyMissing, SigningError

ALGORITHMS = ("es256", "ps256", "ed25519")
CA_VALID_DAYS = 3650
LEAF_VALID_DAYS = 825
WATERMARK_SECRET_BYTES = 32
PRIVATE_MODE = 0o600
MAX_NAME_CHARS = 64  # X.509's upper bound on an organisation or common name
CA_SUFFIX, LEAF_SUFFIX = " development CA", " content signing"  # common names: the organisation, then these
WORLD_ACCESS_BITS = 0o007  # a secret any user may read or write is refused (group access is left to deployments)

CA_FILE = "ca.pem"
CA_KEY_FILE = "ca-key.pem"
CHAIN_FILE = "signing-chain.pem"
KEY_FILE = "signing-key.pem"
WATERMARK_FILE = "watermark.key"
INFO_FILE = "credentials.json"
REPLACED_FOLDER = "replaced"  # keys that `keygen --force` replaced, kept under HOME/replaced/<UTC time>/

SignCallback = Callable[[bytes], bytes]


def default_home() -> Path:
    """`PROVENANCE_HOME`, else the per-user configuration folder."""
    env = os.environ.get("PROVENANCE_HOME")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "provenance"


def _new_key(alg: str):
    if alg == "es256":
        return ec.generate_private_key(ec.SECP256R1())
    if alg == "ps256":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if alg == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    raise BadInput(f"unknown algorithm {alg!r}; choose one of {', '.join(ALGORITHMS)}")


def _hash_for(key) -> hashes.HashAlgorithm | None:
    return None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()


def _name(org: str, common_name: str) -> x509.Name:
    return x509.Name(
        [x509.NameAttribute(NameOID.ORGANIZATION_NAME, org), x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    )


def _key_usage(*, signature: bool, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=signature, content_commitment=False, key_encipherment=False, data_encipherment=False,
        key_agreement=False, key_cert_sign=cert_sign, crl_sign=cert_sign, encipher_only=False, decipher_only=False,
    )


def _make_ca(key, org: str, now: dt.datetime) -> x509.Certificate:
    name = _name(org, f"{org}{CA_SUFFIX}")
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=CA_VALID_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(signature=True, cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, _hash_for(key))
    )


def _make_leaf(key, ca_key, ca_cert: x509.Certificate, org: str, now: dt.datetime) -> x509.Certificate:
    # C2PA's certificate profile: not a CA, digitalSignature only, an EKU it accepts
    # (emailProtection; anyExtendedKeyUsage is rejected), and an authority key identifier.
    return (
        x509.CertificateBuilder()
        .subject_name(_name(org, f"{org}{LEAF_SUFFIX}"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=LEAF_VALID_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(signature=True, cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, _hash_for(ca_key))
    )


def _pem_key(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _write_private(path: Path, data: bytes) -> None:
    """Create a file readable by its owner only, from the first byte (no window at a wider mode)."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_MODE)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    os.chmod(tmp, PRIVATE_MODE)
    os.replace(tmp, path)


def _write_public(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _check_org(org: str) -> None:
    """Refuse an organisation name the certificates cannot carry, or that would garble the lines naming the signer."""
    longest = MAX_NAME_CHARS - max(len(CA_SUFFIX), len(LEAF_SUFFIX))
    if not org.strip() or not org.isprintable():
        raise BadInput(f"organisation name {org!r} must be printable text, not empty")
    if len(org) > longest:
        raise BadInput(f"organisation name is {len(org)} characters; at most {longest} fit in the certificates")


def keygen(home: str | os.PathLike | None = None, alg: str = "es256", org: str = "Provenance", force: bool = False
           ) -> Credentials:
    """Create a development CA, a signing certificate and a watermark secret under `home`.

    With `force`, keys already there are moved to HOME/replaced/<UTC time>/ first, never deleted: clips stamped
    with them are verified (trusted, their watermark read) only with those keys.
    """
    alg = alg.lower()
    if alg not in ALGORITHMS:
        raise BadInput(f"unknown algorithm {alg!r}; choose one of {', '.join(ALGORITHMS)}")
    _check_org(org)
    home = Path(home) if home else default_home()
    existing = [name for name in (KEY_FILE, WATERMARK_FILE, CA_KEY_FILE) if (home / name).exists()]
    if existing and not force:
        raise BadInput(f"{home} already holds keys ({', '.join(existing)}); pass --force to replace them")
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    now = dt.datetime.now(dt.UTC)
    if existing:
        _set_aside(home, now)
    ca_key, leaf_key = _new_key(alg), _new_key(alg)
    ca_cert = _make_ca(ca_key, org, now)
    leaf_cert = _make_leaf(leaf_key, ca_key, ca_cert, org, now)
    pem = serialization.Encoding.PEM
    _write_private(home / CA_KEY_FILE, _pem_key(ca_key))
    _write_private(home / KEY_FILE, _pem_key(leaf_key))
    _write_private(home / WATERMARK_FILE, secrets.token_hex(WATERMARK_SECRET_BYTES).encode() + b"\n")
    _write_public(home / CA_FILE, ca_cert.public_bytes(pem))
    _write_public(home / CHAIN_FILE, leaf_cert.public_bytes(pem))
    _write_public(home / INFO_FILE, json.dumps({"alg": alg, "org": org}).encode())
    return Credentials.load(home)


def _set_aside(home: Path, now: dt.datetime) -> Path:
    """Move the key files in `home` into a new private folder HOME/replaced/<UTC time>/; returns it."""
    folder = home / REPLACED_FOLDER / now.strftime("%Y%m%dT%H%M%S.%fZ")
    folder.mkdir(parents=True, mode=0o700)
    for name in (CA_KEY_FILE, KEY_FILE, WATERMARK_FILE, CA_FILE, CHAIN_FILE, INFO_FILE):
        if (home / name).exists():
            os.replace(home / name, folder / name)
    return folder


def _read(path: Path, what: str) -> bytes:
    if not path.exists():
        raise KeyMissing(f"no {what} at {path}; run `provenance keygen` first (or pass --home)")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise BadInput(f"cannot read {what} at {path}: {exc.strerror}") from None


def _read_chain(path: Path) -> bytes:
    """A PEM certificate chain, leaf first, checked to parse."""
    pem = _read(path, "certificate chain")
    try:
        x509.load_pem_x509_certificates(pem)
    except ValueError:
        raise BadInput(f"{path} is not a PEM certificate chain") from None
    return pem


def _read_private(path: Path, what: str) -> bytes:
    """Read a secret, refusing one that other users can read or write (anyone could then forge our marks)."""
    data = _read(path, what)
    mode = path.stat().st_mode
    if mode & WORLD_ACCESS_BITS:
        raise BadInput(f"{what} {path} is open to every user (mode {mode & 0o777:04o}); run `chmod 600 {path}`")
    return data


def read_watermark_secret(home: str | os.PathLike | None = None) -> bytes:
    """The keyed watermark's secret from `home`."""
    home = Path(home) if home else default_home()
    text = _read_private(home / WATERMARK_FILE, "watermark secret").decode(errors="replace").strip()
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise BadInput(f"{home / WATERMARK_FILE} is not a hex watermark secret") from None


@dataclass(frozen=True)
class Credentials:
    """What signing needs: an algorithm, a certificate chain (leaf first), and a key or a signing callback."""

    alg: str
    chain_pem: bytes
    key_pem: bytes | None = None
    callback: SignCallback | None = None
    home: Path | None = None

    def __repr__(self) -> str:  # never show key material in logs or tracebacks
        return f"Credentials(alg={self.alg!r}, home={self.home!s}, key={'callback' if self.callback else 'local'})"

    @classmethod
    def load(cls, home: str | os.PathLike | None = None) -> Credentials:
        """Load the signing key and chain that `keygen` wrote under `home`."""
        home = Path(home) if home else default_home()
        try:
            alg = json.loads(_read(home / INFO_FILE, "credentials"))["alg"]
        except (ValueError, TypeError, KeyError):
            raise BadInput(f"{home / INFO_FILE} is corrupt (expected JSON naming the key's alg)") from None
        return cls(
            alg=alg, chain_pem=_read_chain(home / CHAIN_FILE),
            key_pem=_read_private(home / KEY_FILE, "signing key"), home=home,
        )

    @classmethod
    def from_files(cls, chain: str | os.PathLike, key: str | os.PathLike, alg: str | None = None) -> Credentials:
        """Use a chain and key issued elsewhere; the algorithm is read from the key when not given."""
        chain_pem, key_pem = _read_chain(Path(chain)), _read_private(Path(key), "signing key")
        try:
            private = serialization.load_pem_private_key(key_pem, password=None)
        except (ValueError, TypeError):
            raise KeyMissing(f"{key}: not an unencrypted PEM private key") from None
        _check_leaf(x509.load_pem_x509_certificates(chain_pem)[0], private, chain, key)
        key_pem = _pem_key(private)  # C2PA wants PKCS#8
        return cls(alg=alg or _alg_of(private), chain_pem=chain_pem, key_pem=key_pem)

    @classmethod
    def from_callback(cls, callback: SignCallback, chain_pem: bytes, alg: str) -> Credentials:
        """Sign through `callback(data) -> signature`, e.g. a KMS or HSM; no private key in this process."""
        return cls(alg=alg, chain_pem=chain_pem, callback=callback)

    def signer(self):
        """A c2pa-python Signer for these credentials."""
        import c2pa

        alg = getattr(c2pa.C2paSigningAlg, self.alg.upper())
        try:
            if self.callback is not None:
                return c2pa.Signer.from_callback(self.callback, alg, self.chain_pem.decode(), None)
            info = c2pa.C2paSignerInfo(alg, self.chain_pem, self.key_pem, None)
            return c2pa.Signer.from_info(info)
        except c2pa.C2paError as exc:
            raise SigningError(f"cannot create a signer: {exc}") from None


def _check_leaf(leaf: x509.Certificate, private, chain: str | os.PathLike, key: str | os.PathLike) -> None:
    """Refuse, before any clip is encoded, a chain and key that C2PA signing would reject at the end."""
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if leaf.public_key().public_bytes(*spki) != private.public_key().public_bytes(*spki):
        raise SigningError(f"{key} is not the private key of the first certificate in {chain}")
    if leaf.issuer == leaf.subject:
        raise SigningError(f"{chain} starts with a self-signed certificate (a CA?); C2PA needs the signing "
                           "certificate its CA issued, first")


def _alg_of(private) -> str:
    if isinstance(private, ec.EllipticCurvePrivateKey):
        return "es256"
    if isinstance(private, rsa.RSAPrivateKey):
        return "ps256"
    if isinstance(private, ed25519.Ed25519PrivateKey):
        return "ed25519"
    raise KeyMissing(f"unsupported key type {type(private).__name__}")


def local_callback(key_pem: bytes, alg: str) -> SignCallback:
    """A signing callback over a local key: what a KMS callback looks like, for tests and examples."""
    private = serialization.load_pem_private_key(key_pem, password=None)

    def sign(data: bytes) -> bytes:
        if alg == "es256":
            return private.sign(data, ec.ECDSA(hashes.SHA256()))
        if alg == "ps256":
            return private.sign(data, padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256())
        return private.sign(data)

    return sign
