"""The suite runs with outbound network blocked (tests/netblock): prove the block is real,
in this process and in subprocesses, so a passing suite shows nothing downloads."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest


def test_outbound_connect_is_blocked_here():
    with pytest.raises(OSError, match="blocked"):
        socket.create_connection(("93.184.216.34", 80), timeout=2)
    with pytest.raises(OSError, match="blocked"):
        socket.getaddrinfo("huggingface.co", 443)


def test_outbound_connect_is_blocked_in_subprocesses():
    code = (
        "import socket\ntry:\n socket.create_connection(('1.1.1.1', 443), timeout=2)\nexcept OSError as e:\n print(e)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60).stdout
    assert "blocked" in out


def test_loopback_stays_open():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    client = socket.create_connection(server.getsockname(), timeout=2)
    client.close()
    server.close()
