"""Block outbound network for the test run, in the test process and in every Python
subprocess it starts (this folder is put first on PYTHONPATH). Loopback and Unix sockets
stay open for the local PostgreSQL server and the dashboard under test. A test that tried
to download a model or dataset fails with ``NetworkBlocked``."""

from __future__ import annotations

import ipaddress
import socket


class NetworkBlocked(OSError):
    pass


def _is_local(address: object) -> bool:
    if not isinstance(address, tuple) or not address:
        return True  # AF_UNIX paths and other families without a host
    host = str(address[0])
    if host in ("localhost", ""):
        return True
    try:
        ip = ipaddress.ip_address(host.split("%")[0])
        return ip.is_loopback or ip.is_unspecified  # 0.0.0.0 / :: are bind addresses
    except ValueError:
        return False


def _guard(original):
    def connect(self, address):  # type: ignore[no-untyped-def]
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address):
            raise NetworkBlocked(f"outbound network is blocked in tests: connect to {address!r}")
        return original(self, address)

    return connect


def _getaddrinfo(original):
    def getaddrinfo(host, *args, **kwargs):  # type: ignore[no-untyped-def]
        if host is not None and not _is_local((host.decode() if isinstance(host, bytes) else host,)):
            raise NetworkBlocked(f"outbound network is blocked in tests: lookup of {host!r}")
        return original(host, *args, **kwargs)

    return getaddrinfo


if not getattr(socket, "_thread_analyzer_blocked", False):
    socket.socket.connect = _guard(socket.socket.connect)  # type: ignore[method-assign]
    socket.socket.connect_ex = _guard(socket.socket.connect_ex)  # type: ignore[method-assign]
    socket.getaddrinfo = _getaddrinfo(socket.getaddrinfo)
    socket._thread_analyzer_blocked = True  # type: ignore[attr-defined]
