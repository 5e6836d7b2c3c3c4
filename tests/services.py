"""Real services and fault injectors shared by the fault, cluster and security tests: an ``mlflow server``
on a free loopback port, a TCP proxy that can cut it off mid-search, the CLI as a subprocess, and the
listening sockets of a process tree read from /proc."""

from __future__ import annotations

import contextlib
import ipaddress
import os
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{proc.args[:4]} exited with {proc.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


def stop_group(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 30) -> None:
    """Stop a process started with ``start_new_session=True`` and everything in its group (only ours)."""
    if proc.poll() is None or sig == signal.SIGKILL:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


class ServerURI(str):
    """A server's URI that also knows the server's pid (to inspect its process tree)."""

    pid: int


@contextlib.contextmanager
def mlflow_server(folder: Path, port: int | None = None, backend_uri: str | None = None) -> Iterator[ServerURI]:
    """``mlflow server`` on 127.0.0.1 with served artifacts under ``folder``; its store is ``backend_uri`` (e.g.
    PostgreSQL), by default an sqlite file in ``folder``."""
    port = port or free_port()
    backend = backend_uri or f"sqlite:///{folder / 'mlflow-server.db'}"
    cmd = [
        sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        "--backend-store-uri", backend, "--artifacts-destination", str(folder / "mlflow-artifacts"),
    ]  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    log = open(folder / "mlflow-server.log", "ab")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:  # a PostgreSQL store migrates its schema on first start: minutes on a loaded machine
        wait_http(f"http://127.0.0.1:{port}/health", timeout=600 if backend_uri else 180, proc=proc)
        uri = ServerURI(f"http://127.0.0.1:{port}")
        uri.pid = proc.pid
        yield uri
    finally:
        stop_group(proc)
        log.close()


class FlakyProxy:
    """A TCP proxy in front of a server that can go down for a while: while down, every connection and
    every request on a kept-alive one is cut, exactly what a client sees when the server drops off the
    network. ``drop_on(marker, nth, seconds)`` goes down when the nth request containing ``marker`` passes."""

    def __init__(self, upstream_port: int):
        self.upstream = ("127.0.0.1", upstream_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.down_until = 0.0
        self.cut = 0  # requests or connections refused while down
        self.seen: dict[bytes, int] = {}
        self._rule: tuple[bytes, int, float] | None = None
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def down(self) -> bool:
        return time.monotonic() < self.down_until

    def drop_on(self, marker: bytes, nth: int, seconds: float) -> None:
        self._rule = (marker, nth, seconds)

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.down:
                self.cut += 1
                client.close()
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=10)
            except OSError:
                client.close()
                continue
            threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, from_client: bool) -> None:
        try:
            while data := src.recv(65536):
                if from_client:
                    self._inspect(data)
                    if self.down:
                        self.cut += 1
                        break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()

    def _inspect(self, data: bytes) -> None:
        if self._rule and self._rule[0] in data:
            marker, nth, seconds = self._rule
            self.seen[marker] = self.seen.get(marker, 0) + 1
            if self.seen[marker] == nth:
                self.down_until = time.monotonic() + seconds

    def close(self) -> None:
        self._closed = True
        self.listener.close()


def run_cli(*argv: str, cwd: Path, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """``python -m tuner.search ARGV`` in ``cwd``, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "tuner.search", *argv],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


# -- sockets ------------------------------------------------------------------------------------------


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (from /proc; Ray's workers are children of the raylet)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            children.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def _listening_inodes() -> dict[int, tuple[str, int]]:
    """socket inode → (bound address, port) for every listening TCP socket (IPv4 and IPv6)."""
    out = {}
    for family, path in ((socket.AF_INET, "/proc/net/tcp"), (socket.AF_INET6, "/proc/net/tcp6")):
        for line in Path(path).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] != "0A":  # TCP_LISTEN
                continue
            hex_ip, hex_port = fields[1].split(":")
            raw = bytes.fromhex(hex_ip)
            # /proc prints each 32-bit word in host (little-endian) order
            packed = b"".join(struct.pack("<I", w) for w in struct.unpack(">" + "I" * (len(raw) // 4), raw))
            out[int(fields[9])] = (socket.inet_ntop(family, packed), int(hex_port, 16))
    return out


def listening_sockets(pids: list[int]) -> list[tuple[int, str, str, int]]:
    """(pid, process name, address, port) of every TCP socket these processes listen on."""
    inodes, found = _listening_inodes(), []
    for pid in pids:
        try:
            name = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:[") and int(target[8:-1]) in inodes:
                found.append((pid, name, *inodes[int(target[8:-1])]))
    return sorted(set(found))


def is_loopback(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    mapped = getattr(ip, "ipv4_mapped", None)  # ::ffff:127.0.0.1, how dual-stack sockets show IPv4 loopback
    return ip.is_loopback or bool(mapped and mapped.is_loopback)


def reopen_when_spooled(
    proxy: FlakyProxy, spool: Path, at_least: int = 3, timeout: float = 300
) -> tuple[threading.Thread, list[str]]:
    """A started thread that waits for ``proxy`` to cut the server off, then ends the cut once the client has kept
    ``at_least`` records in its spool (or after ``timeout``); the list it returns receives the spooled text."""
    kept: list[str] = []

    def watch() -> None:
        deadline = time.monotonic() + timeout
        while not proxy.down and time.monotonic() < deadline:
            time.sleep(0.05)
        while proxy.down and time.monotonic() < deadline:
            pending = list(spool.glob("*/pending.jsonl"))
            if pending and len((text := pending[0].read_text()).splitlines()) >= at_least:
                kept.append(text)
                break
            time.sleep(0.05)
        proxy.down_until = 0.0

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    return watcher, kept


# -- PostgreSQL -----------------------------------------------------------------------------------------

PG_USER = "gan_tuner"


def postgres_bin() -> Path | None:
    """The folder of Debian's ``initdb``/``pg_ctl`` (not on $PATH there), else where $PATH has them."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parts[-3]))
    if found:
        return found[-1].parent
    which = shutil.which("pg_ctl")
    return Path(which).parent if which else None


def _as_postgres(cmd: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: as root, run it as Debian's ``postgres`` system user."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@contextlib.contextmanager
def postgres_server(databases: tuple[str, ...] = ("mlflow", "optuna")) -> Iterator[dict[str, str]]:
    """A throw-away PostgreSQL cluster on a free loopback port, password-authenticated, with ``databases``
    created; yields {database: SQLAlchemy URL}. Its folder is made under /tmp (a pytest tmp_path is private to
    root, and the server runs as ``postgres``) and removed afterwards."""
    import psycopg2

    bindir = postgres_bin()
    if bindir is None:
        raise FileNotFoundError("PostgreSQL is not installed (apt-get install postgresql)")
    folder = Path(tempfile.mkdtemp(prefix="pg-", dir="/tmp"))
    password = secrets.token_hex(12)
    (folder / "pw").write_text(password + "\n")
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
        shutil.chown(folder / "pw", "postgres", "postgres")
    data, port = folder / "data", free_port()
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.STDOUT, "check": True}
    started = False
    try:
        subprocess.run(_as_postgres([str(bindir / "initdb"), "-D", str(data), "-U", PG_USER, "-E", "UTF8",
                                     "--auth=scram-sha-256", f"--pwfile={folder / 'pw'}"]), **quiet)  # fmt: skip
        subprocess.run(_as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(folder / "log"), "-w",
                                     "-o", f"-h 127.0.0.1 -p {port} -k {folder}", "start"]), **quiet)  # fmt: skip
        started = True
        base = f"postgresql://{PG_USER}:{password}@127.0.0.1:{port}"
        conn = psycopg2.connect(f"{base}/postgres")
        conn.autocommit = True
        with conn.cursor() as cur:
            for name in databases:
                cur.execute(f'CREATE DATABASE "{name}"')  # fixed names of this helper, never user input
        conn.close()
        yield {name: f"{base}/{name}" for name in databases}
    finally:
        if started:
            subprocess.run(_as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
                           stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)  # fmt: skip
        shutil.rmtree(folder, ignore_errors=True)
