"""Starting or joining Ray with safe, small defaults.

A local run starts a private instance, in its own temp folder, whose every service binds 127.0.0.1: nothing
is reachable from the network (Ray's token authentication, on by default, guards it as well).
``--address`` joins a cluster started with ``ray start``; the address is probed first with a short TCP
timeout, because ``ray.init`` would otherwise retry an unreachable head for a minute before failing with a
long traceback.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import tempfile

import ray

# Ray binds its services to the node's IP when that is loopback and to every interface otherwise, and ray.init
# turns "127.0.0.1" into the machine's network address unless Ray runs local-only (its default on macOS and
# Windows, switched by this variable, which Ray reads at import: set here for the processes Ray starts, and
# on the imported constant for this one).
LOCAL_ONLY_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
# Ray's object store takes 30 % of RAM by default; trials here pass only small results and checkpoints.
LOCAL_OBJECT_STORE_BYTES = 256 * 1024**2
JOIN_TIMEOUT_S = 3.0
DEFAULT_RAY_PORT = 6379
RAY_CLIENT_PORT = 10001


class RayJoinError(ConnectionError):
    """The cluster at ``--address`` cannot be joined; the message is one user-facing line."""


def _host_port(address: str) -> tuple[str, int]:
    """``host:port``, ``host``, ``ray://host:port`` or ``[v6]:port`` → (host, port)."""
    rest = address.removeprefix("ray://")
    default = RAY_CLIENT_PORT if address.startswith("ray://") else DEFAULT_RAY_PORT
    if rest.startswith("["):  # IPv6 literal
        host, _, port = rest[1:].partition("]")
        port = port.removeprefix(":")
    else:
        host, _, port = rest.rpartition(":") if ":" in rest else (rest, "", "")
    if not host or (port and not port.isdigit()):
        raise RayJoinError(f"--address {address!r} is not HOST:PORT (e.g. 10.0.0.1:6379) or 'auto'")
    return host, int(port) if port else default


def resolve_address(address: str) -> str:
    """'auto' → the cluster named by $RAY_ADDRESS or the last ``ray start`` on this machine; else ``address``."""
    if address != "auto":
        return address
    from ray._private.services import get_ray_address_from_environment

    try:
        found = get_ray_address_from_environment("auto", None)
    except ConnectionError:
        found = None
    if not found:
        raise RayJoinError(
            "--address auto: no running Ray cluster found on this machine; start one with `ray start --head` "
            "or pass the head's HOST:PORT"
        )
    return found


def check_address(address: str, timeout: float = JOIN_TIMEOUT_S) -> str:
    """The resolved address if its head answers a TCP connect within ``timeout`` s, else ``RayJoinError``."""
    resolved = resolve_address(address)
    host, port = _host_port(resolved)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as e:
        reason = "timed out" if isinstance(e, TimeoutError) else (e.strerror or type(e).__name__)
        raise RayJoinError(
            f"--address {address}: no Ray head reachable at {host}:{port} ({reason} after ≤{timeout:g} s); "
            "start it with `ray start --head --port PORT` or fix the address"
        ) from None
    return resolved


class _TokenAuthOnByDefault(logging.Filter):
    """Drops Ray's warning that token authentication is on and how to opt out: on is what a search wants (the
    README says why), and a warning on every run teaches users to ignore stderr. Its "disabled" warning stays."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Token authentication is enabled for this Ray cluster")


def init_ray(address: str | None = None, num_cpus: int | None = None, num_gpus: int | None = None) -> None:
    """Join ``address`` (an existing cluster) or start a private local instance bound to loopback."""
    if ray.is_initialized():
        return
    logging.getLogger("ray._private.authentication.authentication_token_setup").addFilter(_TokenAuthOnByDefault())
    common = dict(include_dashboard=False, logging_level="WARNING", log_to_driver=False)
    if address:
        resolved = check_address(address)
        try:
            ray.init(address=resolved, **common)
        except (ConnectionError, RuntimeError) as e:  # e.g. a missing or wrong auth token
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise RayJoinError(
                f"--address {address}: cannot join the Ray cluster ({first}); on this machine set RAY_AUTH_MODE=token "
                "and the cluster's token (RAY_AUTH_TOKEN or ~/.ray/auth_token), and use the same Ray version"
            ) from e
        return
    os.environ[LOCAL_ONLY_ENV] = "0"
    from ray._private import ray_constants

    ray_constants.ENABLE_RAY_CLUSTER = False
    ray.init(
        # "local" starts a new instance even when $RAY_ADDRESS names another cluster.
        address="local",
        num_cpus=num_cpus or os.cpu_count(),
        num_gpus=num_gpus,
        object_store_memory=LOCAL_OBJECT_STORE_BYTES,
        # A short private temp dir: Ray's socket paths must stay under 108 bytes, and concurrent
        # searches on one machine must not share /tmp/ray.
        _temp_dir=_private_temp_dir(),
        _node_ip_address="127.0.0.1",
        **common,
    )


_temp_dirs: list[str] = []  # made by init_ray in this process, removed by shutdown_ray


def _private_temp_dir() -> str:
    """Owner-only (mkdtemp: mode 0700) and short: Ray's socket paths must stay under 108 bytes.
    ``$GAN_TUNER_RAY_TMP`` picks the parent folder (default /tmp)."""
    path = tempfile.mkdtemp(prefix="ray-", dir=os.environ.get("GAN_TUNER_RAY_TMP", "/tmp"))
    _temp_dirs.append(path)
    return path


def ray_is_up() -> bool:
    return ray.is_initialized()


def shutdown_ray() -> None:
    """Stop Ray and remove the temp folders a local instance of this process used: nothing is left in /tmp."""
    ray.shutdown()
    while _temp_dirs:
        shutil.rmtree(_temp_dirs.pop(), ignore_errors=True)
