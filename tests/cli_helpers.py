"""Running the real `provenance` command in-process, with stdout and stderr kept apart."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from provenance.cli import cli


def run(*args: str | Path, home: Path | None = None) -> Result:
    """Invoke `provenance ARGS...` (with `--home` when given) and return click's Result."""
    argv = [str(a) for a in args]
    if home is not None:
        argv += ["--home", str(home)]
    return CliRunner().invoke(cli, argv, catch_exceptions=False)


def run_json(*args: str | Path, home: Path | None = None) -> list[dict]:
    """Invoke a command with --json; return its JSON Lines, parsed."""
    result = run(*args, "--json", home=home)
    assert result.exit_code == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
