"""What a service instance is started with, and the files it keeps beside the ledger."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from provenance.errors import BadInput
from provenance.keys import default_home

DEFAULT_MAX_UPLOAD_BYTES = 2 * 1024**3
DEFAULT_WAIT_S = 5.0
DEFAULT_UPLOAD_IDLE_S = 30.0
JOBS_FILE = "service-jobs.sqlite"
UPLOADS_FOLDER = "service-uploads"
MIN_TOKEN_CHARS = 16


@dataclass(frozen=True)
class Settings:
    """A service's options; `queue_limit` counts the jobs accepted and not yet finished (running included)."""

    home: Path | None = None
    ledger: str | None = None
    detector: str | None = None  # a model folder, or "builtin"
    trust_anchors: Path | None = None
    trust_lists: tuple[Path, ...] = ()  # the official C2PA trust list
    interim_trust_list: Path | None = None
    interim_allowed: Path | None = None
    rubrics: tuple[Path, ...] = ()  # C2PA asset rubrics evaluated over each manifest
    rubric_variables: dict[str, str] = field(default_factory=dict)
    workers: int = 1
    queue_limit: int = 8
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    default_wait_s: float = DEFAULT_WAIT_S
    upload_idle_s: float = DEFAULT_UPLOAD_IDLE_S
    token_file: Path | None = None
    token_for_verify: bool = False

    @property
    def home_dir(self) -> Path:
        return Path(self.home) if self.home else default_home()

    @property
    def state_dir(self) -> Path:
        """Where the jobs store and the uploads in progress live: beside a SQLite ledger, else in the home."""
        url = self.ledger or os.environ.get("PROVENANCE_LEDGER")
        if url and (urlsplit(url).scheme.lower() in ("", "sqlite") or "://" not in url):
            return Path(url.removeprefix("sqlite://")).expanduser().absolute().parent
        return self.home_dir.expanduser().absolute()

    @property
    def jobs_path(self) -> Path:
        return self.state_dir / JOBS_FILE

    @property
    def uploads_dir(self) -> Path:
        return self.state_dir / UPLOADS_FOLDER

    def verifier_options(self) -> dict:
        """Keyword arguments of `provenance.verify.Verifier` (the detector is loaded in each worker)."""
        return {"trust_anchors": self.trust_anchors, "trust_lists": self.trust_lists,
                "interim_trust_list": self.interim_trust_list, "interim_allowed": self.interim_allowed,
                "rubrics": self.rubrics, "rubric_variables": self.rubric_variables,
                "home": self.home, "ledger": self.ledger}


def read_token(path: str | os.PathLike) -> str:
    """The API token in `path`; the file must be readable by its owner only (0600), like the keys."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"token file {path}: cannot be read ({exc.__class__.__name__})") from None
    if not stat.S_ISREG(mode):
        raise BadInput(f"token file {path}: not a regular file")
    if mode & 0o077:
        raise BadInput(f"token file {path}: readable by others (mode {stat.S_IMODE(mode):o}); chmod 600 {path}")
    if len(text) < MIN_TOKEN_CHARS or any(char.isspace() for char in text):
        raise BadInput(f"token file {path}: the token must be one word of at least {MIN_TOKEN_CHARS} characters")
    return text
