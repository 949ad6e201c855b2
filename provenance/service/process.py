"""`provenance serve` in a child process on a free loopback port: what the tests and the benchmark talk to."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 30.0
POLL_S = 0.1
LOG_TAIL_CHARS = 4000


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ServiceProcess:
    """Start `provenance serve ARGS...` on 127.0.0.1 and wait until /v1/health answers; stop it on exit."""

    def __init__(self, *args: str | os.PathLike, port: int | None = None, env: dict | None = None) -> None:
        self.args = [str(arg) for arg in args]
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = env
        self.log = Path(tempfile.mkstemp(prefix="provenance-serve-", suffix=".log")[1])
        self.process: subprocess.Popen | None = None

    def start(self, timeout_s: float = START_TIMEOUT_S) -> ServiceProcess:
        command = [sys.executable, "-m", "provenance", "serve", "--host", "127.0.0.1", "--port", str(self.port),
                   *self.args]
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                            env={**os.environ, **(self.env or {})})
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self._fail(f"provenance serve exited with {self.process.returncode}")
            try:
                with urllib.request.urlopen(f"{self.url}/v1/health", timeout=1):
                    return self
            except (urllib.error.URLError, OSError):
                time.sleep(POLL_S)
        self.stop()
        self._fail(f"provenance serve did not answer within {timeout_s:g} s")

    def _fail(self, reason: str) -> None:
        """Raise with the service's log, which is removed (it will not be stopped through `__exit__`)."""
        text = self.log_text()
        self.log.unlink(missing_ok=True)
        raise RuntimeError(f"{reason}:\n{text}")

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")[-LOG_TAIL_CHARS:]

    def kill(self) -> None:
        """End the service at once (SIGKILL): no shutdown, as when a machine loses power."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(STOP_TIMEOUT_S)

    def stop(self) -> None:
        """Shut the service down gracefully (SIGTERM), killing it if it does not stop in time."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.kill()

    def __enter__(self) -> ServiceProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self.log.unlink(missing_ok=True)
