"""Starting and stopping a real ``analyzer serve`` process on loopback, for the service tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from browser_kit import free_port


@dataclass
class Server:
    proc: subprocess.Popen
    url: str
    log: Path

    def client(self, timeout: float = 60, **kw: object) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=timeout, **kw)  # type: ignore[arg-type]

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


def start_server(args: list[str], log: Path, *, timeout: float = 180.0, env: dict[str, str] | None = None) -> Server:
    """``analyzer serve ARGS --port FREE``, waited for until /healthz answers."""
    port = free_port()
    handle = log.open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "analyzer.cli", "serve", "--port", str(port), *args],
        stdout=handle,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                return Server(proc, url, log)
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            stop(proc)
            raise AssertionError(f"the service did not start:\n{log.read_text(errors='replace')[-4000:]}")
        time.sleep(0.3)


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return int(proc.returncode)
