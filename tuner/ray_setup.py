"""Starting or joining Ray with safe, small defaults."""

from __future__ import annotations

import os
import tempfile

import ray

# Ray's object store takes 30 % of RAM by default; trials here pass only small results and checkpoints.
LOCAL_OBJECT_STORE_BYTES = 256 * 1024**2


def init_ray(address: str | None = None, num_cpus: int | None = None, num_gpus: int | None = None) -> None:
    """Join ``address`` (an existing cluster) or start a private local instance bound to loopback."""
    if ray.is_initialized():
        return
    common = dict(include_dashboard=False, logging_level="WARNING", log_to_driver=False)
    if address:
        ray.init(address=address, **common)
        return
    ray.init(
        num_cpus=num_cpus or os.cpu_count(),
        num_gpus=num_gpus,
        object_store_memory=LOCAL_OBJECT_STORE_BYTES,
        # A short private temp dir: Ray's socket paths must stay under 108 bytes, and concurrent
        # searches on one machine must not share /tmp/ray.
        _temp_dir=tempfile.mkdtemp(prefix="ray-", dir="/tmp"),
        _node_ip_address="127.0.0.1",
        **common,
    )
