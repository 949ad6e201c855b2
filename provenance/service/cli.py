"""`provenance serve`: the verification service under uvicorn."""

from __future__ import annotations

from pathlib import Path

import click

from provenance.cli import NonEmptyPath, home_option, ledger_option, trust_options
from provenance.errors import BadInput
from provenance.service.app import MAX_HEADER_BYTES
from provenance.service.settings import DEFAULT_MAX_UPLOAD_BYTES, DEFAULT_UPLOAD_IDLE_S, DEFAULT_WAIT_S, Settings

MAX_READ_HEADER_BYTES = 4 * MAX_HEADER_BYTES  # what uvicorn reads before it drops a connection; 431 up to there


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (loopback by default).")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True, help="Port to listen on.")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Verifier processes (about 300 MB each; more than the CPU cores rarely helps).")
@click.option("--queue", "queue_limit", type=click.IntRange(1), default=8, show_default=True,
              help="Jobs accepted and not finished before uploads are refused with 429.")
@click.option("--max-upload", "max_upload_bytes", type=click.IntRange(1), default=DEFAULT_MAX_UPLOAD_BYTES,
              show_default=True, help="Largest upload in bytes (413 beyond, while it streams).")
@click.option("--wait", "default_wait_s", type=click.FloatRange(0), default=DEFAULT_WAIT_S, show_default=True,
              help="Seconds POST /v1/verify waits for the report before answering 202 with a job.")
@click.option("--upload-idle-timeout", "upload_idle_s", type=click.FloatRange(0.1), default=DEFAULT_UPLOAD_IDLE_S,
              show_default=True, help="Seconds without data after which an upload is abandoned (408).")
@trust_options
@click.option("--detector", metavar="MODEL_DIR|builtin",
              help="Score clips that carry no mark with a trained detector ('builtin' = the shipped model).")
@click.option("--token-file", type=NonEmptyPath(exists=True, dir_okay=False, path_type=Path),
              help="File holding the API token (mode 0600) that the soft-binding resolution API requires.")
@click.option("--token-for-verify", is_flag=True, help="Require the API token on /v1 too.")
@home_option
@ledger_option
def serve(host: str, port: int, workers: int, queue_limit: int, max_upload_bytes: int, default_wait_s: float,
          upload_idle_s: float, trust: dict, detector: str | None, token_file: Path | None,
          token_for_verify: bool, home: Path | None, ledger_url: str | None) -> None:
    """Serve verification over HTTP: the /v1 API, the soft-binding resolution API and a page at /.

    Jobs are kept in HOME/service-jobs.sqlite (beside a SQLite ledger), so a restart loses none. The API's
    OpenAPI schema is at /openapi.json.

    \b
    Examples:
      provenance serve --trust-anchors ~/.config/provenance/ca.pem
      provenance serve --workers 2 --detector builtin --token-file ~/.config/provenance/api-token
      curl -F file=@clip.mp4 http://127.0.0.1:8080/v1/verify
    """
    import uvicorn

    from provenance.service import create_app
    from provenance.verify import BUILTIN_DETECTOR, Verifier

    if token_for_verify and token_file is None:
        raise click.UsageError("--token-for-verify needs --token-file")
    if detector not in (None, BUILTIN_DETECTOR) and not Path(detector).is_dir():
        raise BadInput(f"--detector {detector}: no such model folder (or 'builtin')")
    settings = Settings(home=home, ledger=ledger_url, detector=detector, workers=workers,
                        queue_limit=max(queue_limit, workers), max_upload_bytes=max_upload_bytes,
                        default_wait_s=default_wait_s, upload_idle_s=upload_idle_s, token_file=token_file,
                        token_for_verify=token_for_verify, **trust)
    Verifier(**settings.verifier_options()).close()  # bad anchors, key or ledger: one line now, not in a worker
    app = create_app(settings)
    uvicorn.run(app, host=host, port=port, log_level="info", timeout_graceful_shutdown=10,
                h11_max_incomplete_event_size=MAX_READ_HEADER_BYTES)
