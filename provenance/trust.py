"""Trust lists that C2PA signers are judged by: the official C2PA list, the interim list, the user's own anchors.

All the lists go into one c2pa-python Context, each under its own name; c2pa-rs reports the name of the list
that trusted the signer (`validation_results.trustListUri`), so one read tells which list it was. A certificate on
two lists belongs to the first in `TRUST_SOURCES` (official, interim, own) and is dropped from the later ones:
c2pa-rs would name either list at random.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from provenance.errors import BadInput

TRUST_SOURCES = ("official", "interim", "own")  # precedence: the C2PA conformance list, the frozen interim list, yours
UNTRUSTED = "untrusted"
# Extended key usages accepted on a signing certificate: those of the interim list's store.cfg (the Content
# Credentials verify site's). Without them c2pa-rs calls a certificate carrying C2PA's own claim-signing EKU (or
# documentSigning) invalid (signingCredential.invalid), and verify would report a tampered file.
SIGNER_EKUS = {
    "1.3.6.1.5.5.7.3.4": "id-kp-emailProtection",
    "1.3.6.1.5.5.7.3.36": "id-kp-documentSigning",
    "1.3.6.1.5.5.7.3.8": "id-kp-timeStamping",
    "1.3.6.1.5.5.7.3.9": "id-kp-OCSPSigning",
    "1.3.6.1.4.1.311.76.59.1.9": "MS C2PA Signing",
    "1.3.6.1.4.1.62558.2.1": "c2pa-kp-claimSigning",
}

PemSource = str | os.PathLike | bytes


@dataclass(frozen=True)
class TrustList:
    """Root certificates (and, for the interim list, end-entity certificates trusted as they are) under a name."""

    source: str  # one of TRUST_SOURCES
    anchors: bytes  # PEM root certificates
    allowed: bytes = b""  # PEM end-entity certificates

    def setting(self) -> dict:
        """This list as an entry of c2pa-rs's `trust.anchors` setting."""
        entry = {"trust_anchors": self.anchors.decode(), "trust_kind": "manifest", "trust_uri": self.source}
        if self.allowed:
            entry["allowed_list"] = self.allowed.decode()
        return entry


@dataclass(frozen=True)
class Trust:
    """The trust lists a Verifier judges signers by (none: every signer is untrusted, its signature still checked)."""

    lists: tuple[TrustList, ...] = ()

    @classmethod
    def load(
        cls,
        trust_anchors: PemSource | None = None,
        trust_lists: Sequence[PemSource] = (),
        interim_trust_list: PemSource | None = None,
        interim_allowed: PemSource | None = None,
    ) -> Trust:
        """Read and check the lists; raises BadInput for a missing file or one that is not PEM certificates.

        `trust_lists`: PEM bundles of the official C2PA trust list (several are joined). `interim_allowed`: the
        interim list's end-entity certificates (its allowed.pem), used only with `interim_trust_list`.
        """
        if interim_allowed is not None and interim_trust_list is None:
            raise BadInput("the interim allowed list needs the interim trust list (its anchors) too")
        given = []
        if trust_lists:
            given.append(TrustList("official", b"".join(read_pem(source, "trust list") for source in trust_lists)))
        if interim_trust_list is not None:
            allowed = read_pem(interim_allowed, "interim allowed list") if interim_allowed is not None else b""
            given.append(TrustList("interim", read_pem(interim_trust_list, "interim trust list"), allowed))
        if trust_anchors is not None:
            given.append(TrustList("own", read_pem(trust_anchors, "trust anchors")))
        seen: set[bytes] = set()
        lists = [TrustList(each.source, _unseen(each.anchors, seen), _unseen(each.allowed, seen)) for each in given]
        return cls(tuple(each for each in lists if each.anchors or each.allowed))

    def get(self, source: str) -> TrustList | None:
        return next((trust_list for trust_list in self.lists if trust_list.source == source), None)

    def options(self) -> dict:
        """The lists as `Trust.load` (and Verifier) keyword arguments, read already: what worker processes get."""
        official, interim, own = (self.get(source) for source in TRUST_SOURCES)
        return {
            "trust_lists": [official.anchors] if official else [],
            "interim_trust_list": interim.anchors if interim else None,
            "interim_allowed": interim.allowed if interim and interim.allowed else None,
            "trust_anchors": own.anchors if own else None,
        }

    def settings(self) -> dict:
        """c2pa-python Context settings: the lists, named, and the signing EKUs accepted."""
        trust: dict = {"trust_config": "".join(f"{oid}\n" for oid in SIGNER_EKUS)}
        if self.lists:
            trust["anchors"] = [trust_list.setting() for trust_list in self.lists]
        return {"trust": trust}


def source_of(trust_list_uri: str | None, signer_trusted: bool) -> str:
    """Which list trusted a signer, from the name c2pa-rs reports: one of TRUST_SOURCES, or "untrusted"."""
    if not signer_trusted:
        return UNTRUSTED
    return trust_list_uri if trust_list_uri in TRUST_SOURCES else "own"


def _unseen(pem: bytes, seen: set[bytes]) -> bytes:
    """The certificates of `pem` whose SHA-256 fingerprint is not in `seen` (which gets theirs), as PEM."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization

    kept = []
    for certificate in x509.load_pem_x509_certificates(pem) if pem else []:
        fingerprint = certificate.fingerprint(hashes.SHA256())
        if fingerprint not in seen:
            seen.add(fingerprint)
            kept.append(certificate.public_bytes(serialization.Encoding.PEM))
    return b"".join(kept)


def read_pem(source: PemSource, what: str) -> bytes:
    """The PEM certificates in a file (or given as bytes), checked: c2pa-rs would ignore a bad list silently."""
    from cryptography import x509

    if source == b"":  # a list whose certificates were all on an earlier list (`Trust.options`)
        return source
    if isinstance(source, bytes):
        data, name = source, what
    else:
        path = Path(source)
        name = f"{what} {path}"
        if not path.is_file():
            raise BadInput(f"{name}: no such file")
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise BadInput(f"{name}: cannot be read ({exc.strerror})") from None
    try:
        x509.load_pem_x509_certificates(data)
    except ValueError:
        raise BadInput(f"{name}: not a PEM certificate file") from None
    return data

