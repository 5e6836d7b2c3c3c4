"""Search strategies beyond one metric: every --sampler, a multi-objective search and its Pareto front,
population-based training (exploit copies the donor's exact checkpoint; the schedule is logged; --resume),
and the combinations that cannot work. Real Ray Tune, Optuna and MLflow; tiny models."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np
import optuna
import torch
from mlflow.tracking import MlflowClient

import search_spaces
from tests.conftest import search_args
from tests.test_bad_input import run_forked, snapshot
from tuner.cli import validate
from tuner.pareto import non_dominated
from tuner.schedulers import pbt_mutations
from tuner.search import run_search

TINY = ("--width", "4", "--batch-size", "250", "--train-limit", "500", "--eval-samples", "100")


def _children(client: MlflowClient, experiment: str) -> list:
    exp = client.get_experiment_by_name(experiment)
    return [r for r in client.search_runs([exp.experiment_id]) if r.data.tags.get("role") == "trial"]


def _parent(client: MlflowClient, experiment: str):
    exp = client.get_experiment_by_name(experiment)
    return next(r for r in client.search_runs([exp.experiment_id]) if r.data.tags.get("role") == "search")


def _dominates(a: list[float], b: list[float], modes: list[str]) -> bool:
    sign = [1.0 if m == "max" else -1.0 for m in modes]
    better_or_equal = all(s * x >= s * y for s, x, y in zip(sign, a, b, strict=True))
    return better_or_equal and any(s * x > s * y for s, x, y in zip(sign, a, b, strict=True))


def test_non_dominated_maths():
    # (IS max, DDM min): (5, 3) dominates (4, 4); (6, 5) and (5, 3) trade off; duplicates are both kept.
    values = np.array([[5.0, 3.0], [4.0, 4.0], [6.0, 5.0], [5.0, 3.0], [6.0, 6.0]])
    assert non_dominated(values, ["max", "min"]).tolist() == [True, False, True, True, False]
    assert non_dominated(values, ["min", "min"]).tolist() == [True, True, False, True, False]


def test_pbt_perturbs_only_knobs_that_can_change_mid_training():
    mutations = pbt_mutations(search_spaces.space("deli_fisher"))
    assert "n_components" not in mutations and "lambda_init" not in mutations  # shapes; λ itself is copied
    assert mutations["n_critic"] == [1, 2, 3, 4, 5]
    assert {"lr", "rho", "beta", "C", "lr_latent"} <= set(mutations)


SAMPLERS = ["tpe", "random", "nsga2", "cmaes", "gp"]


def test_every_sampler_runs_a_seeded_search(tmp_path, ray_session):
    for sampler in SAMPLERS:
        if sampler == "cmaes" and importlib.util.find_spec("cmaes") is None:
            continue  # an optional package; the CLI refuses --sampler cmaes without it (tested below)
        name = f"s-{sampler}"
        args = search_args(tmp_path, "fisher", "--name", name, "--sampler", sampler, "--scheduler", "fifo",
                           "--trials", "2", "--epochs", "1", "--metric", "ddm", *TINY)  # fmt: skip
        validate(args)
        results = run_search(args)
        assert len(results) == 2 and not results.errors, sampler
        study = optuna.load_study(study_name=name, storage=f"sqlite:///{tmp_path / 'optuna.db'}")
        assert [t.state for t in study.trials] == [optuna.trial.TrialState.COMPLETE] * 2, sampler
        assert study.trials[0].params["lr"] == 2e-4  # the method's defaults first, whatever the sampler
        client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
        params = _parent(client, name).data.params
        assert params["sampler"] == sampler.upper() and params["sampler.seed"] == "0"
        assert params["scheduler"] == "FIFO"
        assert params.get("sampler.constant_liar") == ("True" if sampler == "tpe" else None)  # concurrency 2


def test_two_objective_search_logs_a_non_dominated_front(tmp_path, ray_session):
    objectives, modes = ["inception_score", "ddm"], ["max", "min"]
    args = search_args(tmp_path, "fisher", "--name", "mo", "--metric", ",".join(objectives), "--trials", "4",
                       "--epochs", "2", "--grace-period", "2", "--final-seeds", "1", "--final-front", "2",
                       "--final-samples", "100", *TINY)  # fmt: skip
    validate(args)
    results = run_search(args)
    assert len(results) == 4 and not results.errors

    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    parent = _parent(client, "mo")
    assert parent.data.params["objectives"] == "inception_score,ddm" and parent.data.params["modes"] == "max,min"
    assert parent.data.params["scheduler.metric"] == "inception_score"  # ASHA ranks on the first metric
    artifacts = {a.path for a in client.list_artifacts(parent.info.run_id, "pareto")}
    assert artifacts == {"pareto/front.csv", "pareto/front.png"}
    csv_path = client.download_artifacts(parent.info.run_id, "pareto/front.csv", str(tmp_path))
    rows = [line.split(",") for line in Path(csv_path).read_text().splitlines()]
    assert rows[0][:3] == ["trial_id", *objectives]
    front_ids = {r[0] for r in rows[1:]}
    assert front_ids and int(parent.data.tags["pareto_front_size"]) == len(front_ids)

    # From MLflow's own values (each trial's last logged value of each objective), not the front's CSV:
    values = {r.data.tags["ray_trial_id"]: [r.data.metrics[m] for m in objectives] for r in _children(client, "mo")}
    assert len(values) == 4 and front_ids <= set(values)
    for a in front_ids:
        assert not any(_dominates(values[b], values[a], modes) for b in front_ids if b != a), (a, values)
    for b in set(values) - front_ids:  # every trial left off is dominated by one on the front
        assert any(_dominates(values[a], values[b], modes) for a in front_ids), (b, values)
    # Optuna ran a real two-objective study and finds the same front.
    study = optuna.load_study(study_name="mo", storage=f"sqlite:///{tmp_path / 'optuna.db'}")
    assert [d.name for d in study.directions] == ["MAXIMIZE", "MINIMIZE"]
    assert len(study.best_trials) == len(front_ids)

    # --final-front 2: the first (at most) two front points re-trained, each with its own configuration.
    exp = client.get_experiment_by_name("mo")
    finals = [r for r in client.search_runs([exp.experiment_id]) if r.data.tags.get("role") == "final_front"]
    by_trial = {r.data.tags["ray_trial_id"]: r for r in _children(client, "mo")}
    front_rows = {int(i): row for i, row in enumerate(rows[1:])}
    assert sorted(int(r.data.tags["front_point"]) for r in finals) == list(range(min(2, len(front_ids))))
    for final in finals:
        source = by_trial[front_rows[int(final.data.tags["front_point"])][0]]
        assert all(final.data.params[k] == source.data.params[k] for k in ("rho", "lr", "n_critic", "lambda_init"))
        assert "final_inception_score" in final.data.metrics
        assert f"finals.front{final.data.tags['front_point']}.mean.ddm" in _parent(client, "mo").data.metrics

    # reports.plots draws the front (no final runs in the table sense: the front is the figure).
    from reports.plots import make_figures

    paths = make_figures(f"sqlite:///{tmp_path / 'mlflow.db'}", tmp_path / "figures", experiments=["mo"])
    assert {p.name for p in paths} == {"pareto_front.png", "pareto_front.pdf"}


def _history(client: MlflowClient, run_id: str, key: str) -> dict[int, float]:
    return {m.step: m.value for m in client.get_metric_history(run_id, key)}


def _checkpoints(trial_dir: str) -> dict[int, dict]:
    """Epoch → saved state of every checkpoint a PBT trial kept."""
    from trainables.trainable import load_state

    states = (load_state(d) for d in sorted(Path(trial_dir).glob("checkpoint_*")))
    return {int(s["epoch"]): s for s in states}


def test_pbt_exploits_copies_the_exact_checkpoint_logs_the_schedule_and_resumes(tmp_path, ray_session):
    from trainables.data import load_dataset
    from trainables.train import GANRun

    argv = ("fisher", "--name", "pbt", "--scheduler", "pbt", "--perturbation-interval", "2", "--metric", "ddm",
            "--trials", "4", "--epochs", "4", *TINY)  # fmt: skip
    args = search_args(tmp_path, *argv)
    validate(args)
    results = run_search(args)
    assert len(results) == 4 and not results.errors

    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    runs = {r.data.tags["ray_trial_id"]: r for r in _children(client, "pbt")}
    exploited = {tid: r for tid, r in runs.items() if "pbt.exploit.epoch_2" in r.data.tags}
    assert exploited, "PBT exploited no trial"
    by_id = {r.metrics["trial_id"]: r for r in results}
    keys = sorted(pbt_mutations(search_spaces.space("fisher")))
    changed = 0
    for tid, run in runs.items():
        history = {k: _history(client, run.info.run_id, f"schedule.{k}") for k in keys}
        final = by_id[tid].config
        for k in keys:  # the schedule: every epoch, starting at the params and ending at the final config
            assert sorted(history[k]) == [1, 2, 3, 4], (tid, k)
            assert history[k][1] == float(run.data.params[k]) and history[k][4] == float(final[k]), (tid, k)
        changed += any(history[k][3] != history[k][2] for k in keys)
        assert (tid in exploited) or all(history[k][3] == history[k][2] for k in keys), tid
    assert changed >= 1, "no trial's config was changed by exploitation"

    # Bit for bit: the exploited trial's epoch 3 is one epoch of its new config on the donor's epoch-2 state.
    torch.set_num_threads(1)  # as the trial ran (1 CPU)
    tid, run = next(iter(exploited.items()))
    donor = run.data.tags["pbt.exploit.epoch_2"].split()[2]
    donor_state = _checkpoints(by_id[donor].path)[2]
    own_state = _checkpoints(by_id[tid].path)[3]
    config = by_id[tid].config
    replay = GANRun(config, load_dataset(config["dataset"]), "cpu")
    replay.load_state_dict(donor_state)
    assert replay.opt_g.param_groups[0]["lr"] == config["lr"]  # the perturbed value, not the donor's
    replay.train_epoch()
    replayed = replay.state_dict()
    for part in ("generator", "critic"):
        for name, tensor in own_state[part].items():
            assert torch.equal(tensor, replayed[part][name]), (part, name)
    assert own_state["objective"] == replayed["objective"]  # λ continued from the donor's
    for a, b in zip(own_state["opt_d"]["state"].values(), replayed["opt_d"]["state"].values(), strict=True):
        assert all(torch.equal(a[k], b[k]) for k in a)

    # --resume of the PBT search: the stored experiment is restored, nothing is trained or logged again.
    epochs_logged = {tid: len(client.get_metric_history(r.info.run_id, "epoch")) for tid, r in runs.items()}
    resumed_args = search_args(tmp_path, "fisher", "--name", "pbt", "--resume")
    validate(resumed_args)
    assert resumed_args.scheduler == "pbt"
    resumed = run_search(resumed_args)
    assert sorted(r.metrics["trial_id"] for r in resumed) == sorted(runs)
    assert {tid: len(client.get_metric_history(r.info.run_id, "epoch")) for tid, r in runs.items()} == epochs_logged
    assert len(_children(client, "pbt")) == 4


def test_impossible_combinations_are_one_line_exit_2_nothing_written(tmp_path):
    cases = [
        (["fisher", "--scheduler", "pbt", "--metric", "inception_score,ddm"], "--scheduler pbt exploits the best"),
        (["fisher", "--metric", "inception_score,fid"], "--metric fid must be reported by --metrics"),
        (["fisher", "--metric", "ddm,nosuch"], "--metric 'nosuch' cannot be optimised"),
        (["fisher", "--metric", "ddm,ddm"], "give one metric or 2-3 different ones"),
        (["fisher", "--sampler", "cmaes", "--metric", "inception_score,ddm"], "--sampler cmaes optimises one metric"),
        (["fisher", "--scheduler", "pbt", "--sampler", "tpe"], "--scheduler pbt starts from a random population"),
        (["fisher", "--scheduler", "pbt", "--epochs", "2"], "--perturbation-interval (2) must be < --epochs (2)"),
        (["fisher", "--sampler", "annealing"], "argument --sampler: invalid choice"),
    ]  # fmt: skip
    if importlib.util.find_spec("cmaes") is None:
        cases.append((["fisher", "--sampler", "cmaes"], "--sampler cmaes needs the cmaes package"))
    jobs = []
    for i, (argv, _) in enumerate(cases):
        (tmp_path / f"c{i}").mkdir()
        jobs.append((argv, tmp_path / f"c{i}"))
    (tmp_path / "runner").mkdir()
    env = {**os.environ, "GAN_TUNER_MLFLOW_SPOOL": str(tmp_path / "spool")}
    outcomes = run_forked(jobs, env, tmp_path / "runner")
    for (argv, needle), (code, stderr), (_, cwd) in zip(cases, outcomes, jobs, strict=True):
        lines = [ln for ln in stderr.splitlines() if ln.strip()]
        assert code == 2 and len(lines) == 1 and needle in lines[0] and lines[0].startswith("error: "), (argv, lines)
        assert snapshot(cwd) == {}, (argv, snapshot(cwd))
