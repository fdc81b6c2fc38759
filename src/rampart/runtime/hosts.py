"""Whether a host name is this machine: the API's bind address, the Solana RPC nodes that paper
mode may use (only the local stand-in), and which node names may show their path."""

from __future__ import annotations

import ipaddress


def is_loopback(host: str | None) -> bool:
    name = (host or "").strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False
