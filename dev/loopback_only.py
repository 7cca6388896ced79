"""Refuses, inside this Python process, any connection or name lookup beyond the loopback
interface (an audit hook: it covers every socket the process opens, whatever library opens it).
Imported by the API fuzzing (dev/fuzz_api.py and its schemathesis hooks), which must only ever
talk to the local functions on 127.0.0.1."""

from __future__ import annotations

import ipaddress
import sys


def _loopback(host: object) -> bool:
    if host in ("localhost", "localhost.", b"localhost"):
        return True
    try:
        return ipaddress.ip_address(host.decode() if isinstance(host, bytes) else str(host)).is_loopback
    except ValueError:
        return False


def _guard(event: str, args: tuple) -> None:
    if event == "socket.connect":
        address = args[1]
        # AF_UNIX paths are local by nature; AF_INET/AF_INET6 addresses are (host, port, ...).
        if isinstance(address, tuple) and address and not _loopback(address[0]):
            raise PermissionError(f"refused: a connection to {address[0]!r}; the fuzzing only talks to 127.0.0.1")
    elif event == "socket.getaddrinfo":
        host = args[0]
        if host is not None and not _loopback(host):
            raise PermissionError(f"refused: a lookup of {host!r}; the fuzzing only talks to 127.0.0.1")


if not getattr(sys, "_bourse_loopback_only", False):
    sys.addaudithook(_guard)
    sys._bourse_loopback_only = True
