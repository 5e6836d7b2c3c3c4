"""A search on a 2-node Ray cluster, the way the README runs one on GPU nodes, simulated on one machine.

``ray.cluster_utils.Cluster`` starts a head and a worker node (1 CPU and 1 logical GPU each; Ray hands out
GPU ids without needing a device, and trials then fall back to the CPU with no code change) in a holder
process with Ray's token authentication, bound to loopback (Ray's local-only mode, so that 127.0.0.1 is a
node address both nodes and the driver agree on). The CLI joins it with ``--address``, four trials ask for
0.5 GPU each, results go to a shared ``--storage`` given as a URI, and MLflow is a real ``mlflow server`` on
a free loopback port. The cluster has its own Ray instance, so it lives in a subprocess and the session's
``ray_session`` stays untouched.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile

from mlflow.tracking import MlflowClient

from tests.services import descendants, is_loopback, listening_sockets, mlflow_server, run_cli, stop_group

HOLDER = """
import json, sys
import ray
from ray.cluster_utils import Cluster

node = dict(num_cpus=1, num_gpus=1, node_ip_address="127.0.0.1")
cluster = Cluster(initialize_head=True, head_node_args={**node, "include_dashboard": False})
cluster.add_node(**node)
cluster.wait_for_nodes()
ray.init(address=cluster.address, log_to_driver=False)  # to read the actor and placement tables afterwards
print(json.dumps({"address": cluster.address, "nodes": [n["NodeID"] for n in ray.nodes() if n["Alive"]]}), flush=True)
sys.stdin.readline()  # the test writes a line once the search is over
actors = [{"class": a["ActorClassName"], "node": a["Address"]["NodeID"]} for a in ray._private.state.actors().values()]
groups = [{"bundles": list(g["bundles"].values()), "nodes": list(g["bundles_to_node_id"].values())}
          for g in ray.util.placement_group_table().values()]
print(json.dumps({"actors": actors, "groups": groups}), flush=True)
ray.shutdown()
cluster.shutdown()
"""


def test_search_spreads_fractional_gpu_trials_over_two_nodes(tmp_path):
    ray_tmp = tempfile.mkdtemp(prefix="rc-", dir="/tmp")  # short: Ray's socket paths must stay < 108 bytes
    env = {
        **os.environ,
        "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN": secrets.token_hex(16),
        "RAY_TMPDIR": ray_tmp,
        "GAN_TUNER_MLFLOW_SPOOL": str(tmp_path / "spool"),
    }
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        cluster = json.loads(holder.stdout.readline())
        assert len(cluster["nodes"]) == 2
        (tmp_path / "server").mkdir()
        with mlflow_server(tmp_path / "server") as uri:
            server_sockets = listening_sockets(descendants(uri.pid))
            proc = run_cli(
                "fisher", "--address", cluster["address"], "--gpus-per-trial", "0.5", "--cpus-per-trial", "0.5",
                "--trials", "4", "--concurrency", "4", "--epochs", "1", "--width", "4", "--eval-samples", "50",
                "--train-limit", "128", "--batch-size", "32", "--name", "cl", "--mlflow-uri", uri,
                "--storage", f"file://{tmp_path / 'shared'}",
                cwd=tmp_path, env=env, timeout=600,
            )  # fmt: skip
            assert proc.returncode == 0, proc.stderr[-3000:]
            assert re.search(r"^4 trials: .* 0 errored; ", proc.stdout, re.M), proc.stdout[-2000:]
            client = MlflowClient(uri)
            exp = client.get_experiment_by_name("cl")
            runs = client.search_runs([exp.experiment_id], "tags.role = 'trial'")
            parents = client.search_runs([exp.experiment_id], "tags.role = 'search'")
        holder.stdin.write("done\n")
        holder.stdin.flush()
        placed = json.loads(holder.stdout.readline())
    finally:
        stop_group(holder)
        shutil.rmtree(ray_tmp, ignore_errors=True)

    # Ray: every trial asked for half a GPU, and the trials ran on both nodes.
    trial_groups = [g for g in placed["groups"] if any(b.get("GPU") for b in g["bundles"])]
    assert len(trial_groups) == 4, placed["groups"]
    assert all(g["bundles"] == [{"CPU": 0.5, "GPU": 0.5}] for g in trial_groups), trial_groups
    assert {n for g in trial_groups for n in g["nodes"]} == set(cluster["nodes"])
    trial_actors = [a for a in placed["actors"] if "train_gan" in a["class"] or "ImplicitFunc" in a["class"]]
    assert len(trial_actors) == 4 and {a["node"] for a in trial_actors} == set(cluster["nodes"]), placed["actors"]

    # MLflow on the server: one run per trial with its epoch, under one parent run.
    assert len(runs) == 4 and len({r.data.tags["ray_trial_id"] for r in runs}) == 4
    assert all("ddm" in r.data.metrics and r.data.tags["end_state"] == "completed" for r in runs)  # 1 epoch each
    assert len(parents) == 1
    # Results and checkpoints on the shared storage, which every node reaches.
    assert (tmp_path / "shared" / "cl" / "search_args.json").is_file()
    assert len(list((tmp_path / "shared" / "cl").glob("train_gan_*/checkpoint_*"))) == 4
    # The server, started as the README says, listens on loopback only.
    assert server_sockets and all(is_loopback(s[2]) for s in server_sockets), server_sockets


def test_amp_runs_the_networks_in_bfloat16(tmp_path):
    """``--amp`` puts the forward passes under bfloat16 autocast (on CPU here; CUDA on a GPU node) and the
    training stays finite; without it everything is float32."""
    import torch

    from tests.conftest import search_args
    from trainables.data import load_dataset
    from trainables.train import GANRun
    from tuner.cli import trial_config, validate

    dtypes = {}
    for amp in (False, True):
        argv = ["fisher", "--width", "4", "--batch-size", "32", "--train-limit", "64", *(["--amp"] if amp else [])]
        args = search_args(tmp_path, *argv)
        validate(args)
        config = {**trial_config(args), "rho": 1e-6, "lr": 2e-4, "n_critic": 2}
        assert config["amp"] is amp
        run = GANRun(config, load_dataset("mnist5k"), "cpu")
        first = next(m for m in run.critic.modules() if isinstance(m, torch.nn.Conv2d))
        dtypes[amp] = seen = set()
        first.register_forward_hook(lambda module, inputs, output, seen=seen: seen.add(output.dtype))
        stats = run.train_epoch()
        assert torch.isfinite(torch.tensor([stats.loss_d, stats.loss_g])).all()
        assert all(p.dtype == torch.float32 for p in run.generator.parameters())  # master weights stay fp32
    assert dtypes == {False: {torch.float32}, True: {torch.bfloat16}}
