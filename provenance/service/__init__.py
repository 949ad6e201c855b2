"""`provenance serve`: the verification service, the soft-binding resolution API and the page at `/`.

The service turns requests into `provenance.verify.Verifier` calls in a pool of processes and reports into
responses; the verdict is decided in `provenance.verify` alone.
"""

from provenance.service.app import create_app
from provenance.service.settings import Settings

__all__ = ["Settings", "create_app"]
