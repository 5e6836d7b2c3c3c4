"""Secure by default.

A local search listens on loopback only, and behind Ray's token even there: every listening socket of every
process it starts is read from /proc while a search runs, must be bound to 127.0.0.1 / ::1, and is called
without the token (refused: gRPC UNAUTHENTICATED / HTTP 401) and with it (served), so a refusal is proved
to be the authentication, not a wrong guess of the service. MLflow runs on sqlite: no server, no port.
Checkpoints load with ``weights_only=True``: a checkpoint carrying code is refused without running it.
No config value is evaluated as code.
"""

from __future__ import annotations

import ast
import os
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import torch

from tests.conftest import search_args
from tests.services import ROOT, descendants, is_loopback, listening_sockets
from trainables.trainable import STATE_FILE, CheckpointError, load_state

# One call per Ray service: whichever the port serves answers it; the others answer UNIMPLEMENTED.
RAY_METHODS = (
    "/ray.rpc.NodeInfoGcsService/GetAllNodeInfo",  # GCS
    "/ray.rpc.NodeManagerService/GetNodeStats",  # raylet: node manager
    "/ray.rpc.ObjectManagerService/Pull",  # raylet: object manager
    "/ray.rpc.CoreWorkerService/NumPendingTasks",  # the driver and every worker (trials run in these)
)


def ray_token() -> str:
    if os.environ.get("RAY_AUTH_TOKEN"):
        return os.environ["RAY_AUTH_TOKEN"].strip()
    path = os.environ.get("RAY_AUTH_TOKEN_PATH") or Path.home() / ".ray" / "auth_token"
    return Path(path).read_text().strip()


def grpc_auth_enforced(host: str, port: int, token: str) -> bool:
    """True if some Ray method on this port refuses a call without the token and serves it with the token."""
    import grpc

    with grpc.insecure_channel(f"{host}:{port}") as channel:
        for method in RAY_METHODS:
            codes = []
            for metadata in (None, [("authorization", f"Bearer {token}")]):
                try:
                    channel.unary_unary(method)(b"", timeout=5, metadata=metadata)
                    codes.append("OK")
                except grpc.RpcError as e:
                    codes.append(e.code().name)
            if codes == ["UNAUTHENTICATED", "OK"]:
                return True
            assert codes[0] != "OK", f"port {port} served {method} without a token"
    return False


def http_auth_enforced(host: str, port: int, token: str) -> bool:
    statuses = []
    for headers in ({}, {"Authorization": f"Bearer {token}"}):
        url = f"http://{host}:{port}/get_or_create_runtime_env"
        request = urllib.request.Request(url, headers=headers, data=b"")
        try:
            with urllib.request.urlopen(request, timeout=5) as r:
                statuses.append(r.status)
        except urllib.error.HTTPError as e:
            statuses.append(e.code)
    return statuses[0] == 401 and statuses[1] == 200


def test_local_search_listens_on_loopback_only_and_behind_the_token(tmp_path, ray_session):
    from tuner.search import run_search

    token, seen, verdicts, stop = ray_token(), {}, {}, threading.Event()

    def watch() -> None:  # sample the process tree all through the search; probe each new listener at once
        while not stop.is_set():
            for _pid, name, address, port in listening_sockets(descendants(os.getpid())):
                if (address, port) in verdicts:
                    continue
                seen[(address, port)] = name
                probe = http_auth_enforced if "RuntimeEnvAgent" in name else grpc_auth_enforced
                host = "127.0.0.1" if address in ("0.0.0.0", "::") else f"[{address}]" if ":" in address else address
                try:
                    verdicts[(address, port)] = probe(host, port, token)
                except Exception as e:  # the process ended between the listing and the probe
                    verdicts.setdefault((address, port), f"unprobed: {type(e).__name__}")
            time.sleep(0.2)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    args = search_args(tmp_path, "fisher", "--trials", "1", "--epochs", "1", "--width", "4", "--eval-samples", "50",
                       "--train-limit", "128", "--batch-size", "32", "--name", "sec")  # fmt: skip
    results = run_search(args)
    time.sleep(0.5)
    stop.set()
    watcher.join()
    assert not results.errors

    beyond = {key: name for key, name in seen.items() if not is_loopback(key[0])}
    assert not beyond, f"listening beyond loopback: {beyond}"
    open_ports = {key: seen[key] for key, ok in verdicts.items() if ok is False}
    assert not open_ports, f"serving without Ray's token: {open_ports}"
    # Every kind of process the run started was probed and refused calls without the token:
    kinds = {seen[key].rsplit("/", 1)[-1] for key, ok in verdicts.items() if ok is True}
    workers = {k for k in kinds if k.startswith("ray::") and k != "ray::RuntimeEnvAgent"}
    assert {"gcs_server", "raylet", "ray::RuntimeEnvAgent"} <= kinds and workers, (kinds, verdicts)
    assert not any("mlflow" in name for name in seen.values())


class _Payload:
    """Unpickling this would create a file: what a malicious checkpoint would do."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_checkpoint_with_code_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "pwned"
    torch.save({"epoch": 1, "generator": _Payload(marker)}, tmp_path / STATE_FILE)
    with pytest.raises(CheckpointError, match=str(tmp_path / STATE_FILE)):
        load_state(tmp_path)
    assert not marker.exists()


def _project_sources() -> list[Path]:
    return [
        p for d in ("trainables", "tuner", "search_spaces", "reports", "benchmarks") for p in (ROOT / d).rglob("*.py")
    ]


def test_every_torch_load_is_weights_only_and_nothing_is_evaluated():
    """A static check over the project's code: ``torch.load`` always with ``weights_only=True``; no ``eval``,
    ``exec``, ``compile`` or unsafe ``yaml.load`` anywhere a config value could reach."""
    problems = []
    for path in _project_sources():
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if not isinstance(node, ast.Call):
                continue
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
            owner = f.value.id if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) else ""
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            if owner == "torch" and name == "load":
                kw = {k.arg: k.value for k in node.keywords}
                if not (isinstance(kw.get("weights_only"), ast.Constant) and kw["weights_only"].value is True):
                    problems.append(f"{where}: torch.load without weights_only=True")
            if isinstance(f, ast.Name) and name in ("eval", "exec", "compile"):
                problems.append(f"{where}: {name}()")
            if owner == "yaml" and name in ("load", "unsafe_load", "full_load"):
                problems.append(f"{where}: yaml.{name}")
    assert not problems, "\n".join(problems)


def test_code_in_cli_values_stays_text(tmp_path, monkeypatch):
    """Values that look like code are parsed as text (and refused where malformed), never run."""
    from tuner.cli import UsageError, build_parser, parse_faults, parse_metric_map, validate

    monkeypatch.chdir(tmp_path)
    marker = tmp_path / "pwned"
    code = f"__import__('pathlib').Path('{marker}').touch()"
    for parse in (lambda: parse_metric_map(f"fid={code}", "--metric-samples"), lambda: parse_faults([code])):
        with pytest.raises((UsageError, ValueError)):
            parse()
    args = build_parser().parse_args(["fisher", "--name", code, "--seed", "0", "--mlflow-uri", "sqlite:///m.db"])
    with pytest.raises(UsageError, match="is not an allowed name"):  # refused as a name, never run
        validate(args)
    with pytest.raises(UsageError):
        validate(build_parser().parse_args(["fisher", "--metric", code]))
    assert not marker.exists() and list(tmp_path.iterdir()) == []
