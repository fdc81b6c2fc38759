"""The API traffic of a blue-green deploy: HAProxy in front of the API servers sends
the new version's servers (green) the step's share of the requests, the old ones (blue) the
rest: 10 %, 50 %, 100 %, and 0 % again after a rollback.

Each deploy change sets every server's weight in two places: the weights file (environment
variables the shipped ``deploy/lb/haproxy.cfg`` reads when HAProxy starts, so a restart keeps
the step) and, when configured, HAProxy's runtime API (``set weight``: applied at once to new
requests, no reload, no connection dropped). The weights of one colour share its part equally
among its servers, out of 100 for the whole backend.
"""

from __future__ import annotations

import os
import socket
import tempfile
from pathlib import Path

from rampart.domain.errors import RampartError
from rampart.rollout.deploy_settings import BalancerConfig
from rampart.rollout.deploy_state import DeployState

TOTAL = 100
"""The backend's weight, shared by the two colours (HAProxy takes 0 to 256 per server)."""
BLUE_ENV, GREEN_ENV = "RAMPART_LB_BLUE_WEIGHT", "RAMPART_LB_GREEN_WEIGHT"


class BalancerError(RampartError):
    """The load balancer could not be told the new weights."""


def share(deploy: DeployState | None) -> float:
    """The new version's share of the API traffic: the deploy's share of the shards."""
    return 0.0 if deploy is None else deploy.fraction


def colour_weights(green_share: float, blue: int, green: int) -> tuple[int, int]:
    """Each blue and each green server's weight for ``green_share`` of the requests."""
    green_total = round(TOTAL * green_share)
    return round((TOTAL - green_total) / blue), round(green_total / green)


def server_weights(config: BalancerConfig, green_share: float) -> dict[str, int]:
    blue_w, green_w = colour_weights(green_share, len(config.blue), len(config.green))
    return {**dict.fromkeys(config.blue, blue_w), **dict.fromkeys(config.green, green_w)}


def weights_text(config: BalancerConfig, deploy: DeployState | None) -> str:
    blue_w, green_w = colour_weights(share(deploy), len(config.blue), len(config.green))
    said = "no deploy" if deploy is None else f"deploy {deploy.id} {deploy.status}"
    return (
        f"# Written by rampart deploy ({said}): {share(deploy) * 100:.0f} % of the API "
        "requests to the new version.\n"
        f"{BLUE_ENV}={blue_w}\n{GREEN_ENV}={green_w}\n"
    )


def write_weights(path: Path, text: str) -> None:
    """Replace the file in one rename: HAProxy starting meanwhile reads the old or the new."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".weights-", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def runtime_command(address: str, command: str, timeout_s: float) -> str:
    """One command on HAProxy's admin socket (it answers and closes); its answer."""
    if address.startswith("unix:") or "/" in address:
        family, target = socket.AF_UNIX, address.removeprefix("unix:")
        where: str | tuple[str, int] = target
    else:
        host, _, port = address.rpartition(":")
        if not port.isdigit():
            raise BalancerError(
                f"rollout.deploy.balancer.runtime_api {address!r} is neither a socket path nor "
                "HOST:PORT."
            )
        family, where = socket.AF_INET, (host or "127.0.0.1", int(port))
    try:
        with socket.socket(family, socket.SOCK_STREAM) as conn:
            conn.settimeout(timeout_s)
            conn.connect(where)
            conn.sendall(command.encode() + b"\n")
            chunks = []
            while chunk := conn.recv(4096):
                chunks.append(chunk)
    except OSError as err:
        raise BalancerError(
            f"HAProxy's runtime API at {address} did not answer ({err.strerror or err})."
        ) from None
    return b"".join(chunks).decode(errors="replace").strip()


def _set_weights(config: BalancerConfig, address: str, green_share: float) -> None:
    for server, weight in server_weights(config, green_share).items():
        command = f"set weight {config.backend}/{server} {weight}"
        answer = runtime_command(address, command, config.timeout_s)
        if answer:  # HAProxy says nothing when it took the weight
            raise BalancerError(f"HAProxy refused `{command}`: {answer}.")


def apply(config: BalancerConfig, deploy: DeployState | None) -> str:
    """Write the weights file and set the weights in HAProxy; a sentence saying what was done."""
    if not config.enabled:
        return ""
    percent = f"{share(deploy) * 100:.0f} %"
    if config.weights_file is not None:
        try:
            write_weights(config.weights_file, weights_text(config, deploy))
        except OSError as err:
            raise BalancerError(
                f"The weights file {config.weights_file} could not be written "
                f"({err.strerror or err})."
            ) from None
    if config.runtime_api is not None:
        try:
            _set_weights(config, config.runtime_api, share(deploy))
        except BalancerError as err:
            if config.weights_file is None:
                raise
            raise BalancerError(
                f"{err.message} The weights file {config.weights_file} has the new weights "
                "(HAProxy reads them when it starts)."
            ) from None
    return f"The load balancer sends {percent} of the API requests to the new version."


__all__ = [
    "BLUE_ENV",
    "GREEN_ENV",
    "BalancerError",
    "apply",
    "colour_weights",
    "server_weights",
    "share",
    "weights_text",
]
