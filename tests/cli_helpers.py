"""Running the real `provenance` command in-process, with stdout and stderr kept apart."""

from __future__ import annotations

import json
import os
import subprocess
import sys
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


# Root reads and writes whatever the permissions say; without these two capabilities it obeys them like any user.
OBEY_PERMISSIONS = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search"] if os.geteuid() == 0 else []


def run_obeying_permissions(*args: str | Path) -> subprocess.CompletedProcess:
    """Run the installed `provenance ARGS...` in a process that file permissions apply to, even as root."""
    command = [*OBEY_PERMISSIONS, Path(sys.executable).with_name("provenance"), *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)
