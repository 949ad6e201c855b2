"""provenance: signed C2PA manifests and an invisible watermark for AI-generated video, and their verification."""

__version__ = "0.1.0"

from provenance.errors import (
    BadInput,
    KeyMissing,
    LedgerError,
    ModelError,
    ProvenanceError,
    SigningError,
    UnsupportedFormat,
)

__all__ = [
    "BadInput",
    "KeyMissing",
    "LedgerError",
    "ModelError",
    "ProvenanceError",
    "SigningError",
    "UnsupportedFormat",
]
