"""One error family: every failure the library reports on purpose is a ProvenanceError."""

from __future__ import annotations


class ProvenanceError(Exception):
    """Base of every error the library raises on purpose; the CLI prints it as one line."""

    exit_code = 1


class BadInput(ProvenanceError):
    """The input is missing, unreadable, empty, malformed or over a configured limit."""


class OutputExists(BadInput):
    """An output file exists and replacing it was not asked for (`overwrite=True`; `--force` on the command line)."""

    def __init__(self, path) -> None:
        self.path = path
        super().__init__(f"output {path} already exists; pass overwrite=True (e.g. Stamper(overwrite=True)) "
                         f"to replace it")


class UnsupportedFormat(ProvenanceError):
    """The container or codec is readable but not supported for this operation."""


class KeyMissing(ProvenanceError):
    """No signing key, certificate or watermark secret where one was expected."""


class SigningError(ProvenanceError):
    """C2PA signing failed (bad certificate, key mismatch, signer callback error)."""


class LedgerError(ProvenanceError):
    """The ledger cannot be opened, is locked, corrupt or rejects a record."""


class ModelError(ProvenanceError):
    """A model directory or weights file is missing, unsupported or unsafe to load."""
