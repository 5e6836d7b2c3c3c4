"""How the search driver's cost grows with the search: trials that cost nothing, on a simulated cluster.

    python benchmarks/driver_scale.py [--points 64x8,1024x64,4096x256] [--epochs 10] [--nodes 4]
        [--tracking sqlite,postgres] [--out benchmarks/results/driver_scale]

Each point (TRIALSxCONCURRENT) runs a real search through ``tuner.search.run_search`` — the CLI's parser and
checks, OptunaSearch with TPE (constant liar), ASHA, the MLflow trial logger, the progress printer, Ray Tune's
experiment checkpoints — on a ``ray.cluster_utils.Cluster`` of ``--nodes`` small nodes whose trials take a
fraction of a CPU. Only the trainable differs: ``instant_trial`` reports all its epochs at once, each with the
result dictionary a Deli-Fisher trial on mnist5k reports (losses, λ, prior statistics, Inception Score and its
s.d., DDM, the feature path), its scores a smooth function of the sampled hyperparameters (so TPE and ASHA have
a signal). The driver is then the bottleneck, and what is measured is the driver alone:

- reports/s: trial-epochs the driver took in, per second of the search (first result to last);
- driver CPU s and memory growth per trial-epoch (its process CPU time and RSS over that span);
- Optuna suggest time per trial (``OptunaSearch.suggest``, the sampler plus its storage reads);
- MLflow write time per report (the trial logger's ``on_trial_result``: one ``log_batch``).

The real code is timed in place by wrapping those two methods; nothing is mocked. ``--tracking`` picks the
stores side by side: ``sqlite`` (a file, the local default) and ``postgres`` (an ``mlflow server`` on a
throw-away PostgreSQL on loopback, with served artifacts, and the Optuna study on the same PostgreSQL: the
cluster recipe). Writes ``driver_scale.csv`` and one PNG per measure under ``--out``.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import math
import os
import random
import secrets
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

# Ray reads these when imported: token authentication and loopback node addresses, as tests/test_cluster.py.
os.environ.update({"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_AUTH_MODE": "token"})
os.environ.setdefault("RAY_AUTH_TOKEN", secrets.token_hex(16))
os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")

from ray import tune  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FIELDS = ("tracking", "trials", "concurrent", "epochs", "reports", "wall_s", "reports_per_s", "cpu_ms_per_report",
          "rss_kb_per_report", "suggest_ms_per_trial", "mlflow_ms_per_report", "rss_mb_end")  # fmt: skip


def instant_trial(config: dict) -> None:
    """A trial that costs nothing: every epoch's result at once, shaped like a real image trial's. Its quality
    peaks near the authors' lr and n_critic, rises with the epoch, and carries a seeded per-trial noise."""
    rng = random.Random(hash((config["lr"], config["n_critic"], config["seed"])))
    quality = -abs(math.log10(config["lr"] / 2e-4)) - 0.1 * abs(config["n_critic"] - 2) + rng.gauss(0, 0.2)
    for epoch in range(1, int(config["epochs"]) + 1):
        score = 1 + 8 / (1 + math.exp(-(quality + math.log(epoch))))
        tune.report(
            {
                "epoch": epoch, "loss_d": -0.5 / epoch + rng.gauss(0, 0.01), "loss_g": 0.4 + rng.gauss(0, 0.01),
                "ipm": 0.5 / epoch, "constraint": 1 + rng.gauss(0, 0.01), "lambda": 0.01 * epoch,
                "sigma_mean": 0.2 + 0.001 * epoch, "diverged": 0.0, "feature_path": "classifier:mnist5k",
                "inception_score": score, "inception_score_std": 0.05 * score, "ddm": 1.0 / score,
            }
        )  # fmt: skip


@dataclass
class Probe:
    """Counters the timed wrappers fill during one search."""

    reports: int = 0
    first: float = 0.0  # perf_counter, process CPU time and RSS (kB) at the first report
    last: float = 0.0
    cpu_first: float = 0.0
    cpu_last: float = 0.0
    rss_first: int = 0
    rss_last: int = 0
    suggests: int = 0
    suggest_s: float = 0.0
    mlflow_s: float = 0.0


PROBE = Probe()


def rss_kb() -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


def instrument() -> None:
    """Time the searcher's suggest and the MLflow logger's per-report write, in place."""
    from tuner.mlflow_logging import MLflowTrialLogger
    from tuner.optuna_search import EpochOptunaSearch

    suggest, on_result = EpochOptunaSearch.suggest, MLflowTrialLogger.on_trial_result

    def timed_suggest(self, trial_id):
        t = time.perf_counter()
        out = suggest(self, trial_id)
        if out is not None:
            PROBE.suggests += 1
            PROBE.suggest_s += time.perf_counter() - t
        return out

    def timed_result(self, *a, **kw):
        t = time.perf_counter()
        on_result(self, *a, **kw)
        now = time.perf_counter()
        PROBE.mlflow_s += now - t
        if PROBE.reports == 0:
            PROBE.first, PROBE.cpu_first, PROBE.rss_first = now, time.process_time(), rss_kb()
        PROBE.reports += 1
        PROBE.last, PROBE.cpu_last = now, time.process_time()
        if PROBE.reports % 64 == 0:  # /proc reads are cheap, not free
            PROBE.rss_last = rss_kb()

    EpochOptunaSearch.suggest, MLflowTrialLogger.on_trial_result = timed_suggest, timed_result


@contextlib.contextmanager
def cluster(nodes: int, cpus_per_node: int):
    """Small nodes on this machine with Ray's token authentication, bound to loopback (as tests/test_cluster.py)."""
    from ray.cluster_utils import Cluster

    node = dict(num_cpus=cpus_per_node, node_ip_address="127.0.0.1", object_store_memory=128 * 1024**2)
    c = Cluster(initialize_head=True, connect=False, head_node_args={**node, "include_dashboard": False})
    for _ in range(nodes - 1):
        c.add_node(**node)
    c.wait_for_nodes()
    try:
        yield c.address
    finally:
        c.shutdown()


@contextlib.contextmanager
def tracking(kind: str, folder: Path):
    """(MLflow URI, Optuna storage URL) for one kind of store."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'mlflow.db'}", f"sqlite:///{folder / 'optuna.db'}"
        return
    sys.path.insert(0, str(ROOT))
    from tests.services import mlflow_server_on, postgres_server

    with postgres_server() as urls, mlflow_server_on(folder, urls["mlflow"]) as uri:
        yield str(uri), urls["optuna"]


def one_point(kind: str, trials: int, concurrent: int, epochs: int, address: str, cpus: float, folder: Path) -> dict:
    import ray

    from tuner.cli import build_parser, validate
    from tuner.search import run_search

    global PROBE
    PROBE = Probe()
    with tracking(kind, folder) as (mlflow_uri, optuna_url):
        argv = [
            "deli_fisher", "--trials", str(trials), "--concurrency", str(concurrent), "--epochs", str(epochs),
            "--cpus-per-trial", f"{cpus / concurrent:.6g}", "--address", address, "--name", f"d{trials}x{concurrent}",
            "--storage", str(folder / "ray_results"), "--mlflow-uri", mlflow_uri, "--optuna-storage", optuna_url,
        ]  # fmt: skip
        args = build_parser().parse_args(argv)
        validate(args)
        start = time.perf_counter()
        with open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet):
            results = run_search(args, trainable=instant_trial)
        wall = time.perf_counter() - start
        ray.shutdown()
    errors = len(results.errors)
    assert errors == 0, f"{errors} trials errored: {results.errors[:1]}"
    span = max(PROBE.last - PROBE.first, 1e-9)
    n = max(PROBE.reports - 1, 1)  # rates over the span between the first and the last report
    return {
        "tracking": kind, "trials": trials, "concurrent": concurrent, "epochs": epochs, "reports": PROBE.reports,
        "wall_s": round(wall, 1), "reports_per_s": round(n / span, 1),
        "cpu_ms_per_report": round(1e3 * (PROBE.cpu_last - PROBE.cpu_first) / n, 3),
        "rss_kb_per_report": round((PROBE.rss_last - PROBE.rss_first) / n, 2),
        "suggest_ms_per_trial": round(1e3 * PROBE.suggest_s / max(PROBE.suggests, 1), 2),
        "mlflow_ms_per_report": round(1e3 * PROBE.mlflow_s / max(PROBE.reports, 1), 2),
        "rss_mb_end": round(PROBE.rss_last / 1024, 1),
    }  # fmt: skip


MEASURES = {
    "reports_per_s": "reports/s the driver sustains",
    "cpu_ms_per_report": "driver CPU ms per trial-epoch",
    "rss_kb_per_report": "driver RSS growth, kB per trial-epoch",
    "suggest_ms_per_trial": "Optuna suggest, ms per trial",
    "mlflow_ms_per_report": "MLflow write, ms per report",
}


def plot(rows: list[dict], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for key, label in MEASURES.items():
        fig, ax = plt.subplots(figsize=(4.5, 3.2))
        for kind in dict.fromkeys(r["tracking"] for r in rows):
            mine = sorted((r for r in rows if r["tracking"] == kind), key=lambda r: r["trials"])
            ax.plot([r["trials"] for r in mine], [r[key] for r in mine], "o-", label=kind)
            for r in mine:
                ax.annotate(f"×{r['concurrent']}", (r["trials"], r[key]), fontsize=7, xytext=(3, 3),
                            textcoords="offset points")  # fmt: skip
        ax.set_xscale("log", base=2)
        ax.set_xlabel("trials in the search (×concurrent)")
        ax.set_ylabel(label)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(out / f"{key}.png", dpi=120)
        plt.close(fig)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--points", default="64x8,1024x64,4096x256", help="TRIALSxCONCURRENT,… (default %(default)s)")
    p.add_argument("--epochs", type=int, default=10, help="epochs per trial, ASHA's budget (default 10)")
    p.add_argument("--nodes", type=int, default=4, help="simulated nodes (default 4)")
    p.add_argument("--cpus-per-node", type=int, default=2, help="logical CPUs per node (default 2)")
    p.add_argument("--tracking", default="sqlite", help="sqlite, postgres or both: sqlite,postgres")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "driver_scale"))
    a = p.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    instrument()
    rows = []
    points = [tuple(map(int, s.split("x"))) for s in a.points.split(",")]
    with cluster(a.nodes, a.cpus_per_node) as address:
        for kind in a.tracking.split(","):
            for trials, concurrent in points:
                with tempfile.TemporaryDirectory(prefix="drv-") as d:
                    row = one_point(kind, trials, concurrent, a.epochs, address, a.nodes * a.cpus_per_node, Path(d))
                rows.append(row)
                print(" ".join(f"{k}={v}" for k, v in row.items()), flush=True)
                with open(out / "driver_scale.csv", "w", newline="") as f:
                    w = csv.DictWriter(f, FIELDS)
                    w.writeheader()
                    w.writerows(rows)
    plot(rows, out)
    print(f"wrote {out}/driver_scale.csv and {', '.join(k + '.png' for k in MEASURES)}")


if __name__ == "__main__":
    main()
