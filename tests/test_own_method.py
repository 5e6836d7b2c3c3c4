"""A method from outside the repository: the README's example module, copied into a temporary package and
searched for real (Ray Tune + OptunaSearch + ASHA + MLflow), plus the one-line errors for bad references."""

from __future__ import annotations

import math
import re
import sys
from pathlib import Path

import optuna
import pytest
from mlflow.tracking import MlflowClient

from trainables.registry import Method, MethodError, get_method
from tuner.search import main

README = Path(__file__).resolve().parents[1] / "README.md"
REFERENCE = "my_gans.fgan:FGAN_KL"


def readme_example() -> str:
    """The Python block of README's "Your own GAN" section whose first line names my_gans/fgan.py."""
    section = README.read_text().split("## Your own GAN", 1)[1]
    return re.search(r"```python\n(# my_gans/fgan\.py.*?)```", section, re.S).group(1)


@pytest.fixture
def own_package(tmp_path, monkeypatch):
    """``my_gans`` in a folder outside the repository, importable by the driver as a user's PYTHONPATH makes it."""
    root = tmp_path / "user_code"
    (root / "my_gans").mkdir(parents=True)
    (root / "my_gans" / "__init__.py").write_text("")
    (root / "my_gans" / "fgan.py").write_text(readme_example())
    monkeypatch.syspath_prepend(str(root))
    yield root
    for name in [m for m in sys.modules if m == "my_gans" or m.startswith("my_gans.")]:
        del sys.modules[name]


def _args(tmp_path, *argv: str) -> list[str]:
    return [*argv, "--storage", str(tmp_path / "ray_results"), "--mlflow-uri", f"sqlite:///{tmp_path / 'mlflow.db'}"]


def test_list_shows_what_a_module_offers(own_package, capsys):
    assert main(["--list", "my_gans.fgan"]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    assert line.startswith(REFERENCE) and "f-GAN, KL divergence" in line and "[Nowozin et al. 2016" in line


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("no_such_package.gans:FGAN", "cannot import module 'no_such_package.gans'"),
        ("my_gans.fgan:FGAN_JS", "module my_gans.fgan has no 'FGAN_JS'"),
        ("my_gans.fgan:space", "my_gans.fgan:space is a function, not a trainables.registry.Method"),
        ("my_gans.fgan:", "NAME a Python identifier"),
        ("no_such_method", "unknown method 'no_such_method'"),
    ],
)
def test_a_bad_reference_is_one_line_and_exit_2_with_nothing_written(own_package, tmp_path, capsys, reference, message):
    assert main(_args(tmp_path, reference)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err, err
    assert not (tmp_path / "ray_results").exists() and not (tmp_path / "mlflow.db").exists()


def test_a_module_that_fails_to_import_is_one_line_naming_it(own_package, tmp_path, capsys):
    (own_package / "my_gans" / "broken.py").write_text("raise RuntimeError('no GPU here\\nsecond line')\n")
    assert main(_args(tmp_path, "my_gans.broken:GAN")) == 2
    err = capsys.readouterr().err
    assert err == "error: importing module 'my_gans.broken' failed: RuntimeError: no GPU here\n"


def test_a_method_on_a_kind_of_data_it_cannot_train_on_is_refused(own_package, tmp_path, capsys):
    (own_package / "my_gans" / "images_only.py").write_text(
        "import dataclasses\nfrom my_gans.fgan import FGAN_KL\n"
        "GAN = dataclasses.replace(FGAN_KL, name='fgan_images', kinds=('image',))\n"
    )
    assert main(_args(tmp_path, "my_gans.images_only:GAN", "--dataset", "ring8")) == 2
    err = capsys.readouterr().err
    assert err == "error: method my_gans.images_only:GAN cannot train on points data (ring8)\n", err
    assert not (tmp_path / "ray_results").exists() and not (tmp_path / "mlflow.db").exists()


def test_list_of_a_module_without_methods_is_exit_2(own_package, capsys):
    (own_package / "my_gans" / "empty.py").write_text("X = 1\n")
    assert main(["--list", "my_gans.empty"]) == 2
    assert "defines no trainables.registry.Method" in capsys.readouterr().err


def test_the_objective_reads_its_arguments_from_the_config_else_the_defaults(own_package):
    method = get_method(REFERENCE)
    objective = method.make_objective({"n_critic": 3, "lr": 1.0})
    assert (objective.n_critic, objective.max_logit) == (3, 10.0)


def test_a_method_with_an_incomplete_objective_fails_where_it_is_defined(own_package):
    from trainables.objectives.base import Objective

    class CriticOnly(Objective):
        def critic_loss(self, critic, batch):
            return critic(batch.real).mean(), {}

    with pytest.raises(TypeError, match="CriticOnly.*generator_loss"):
        CriticOnly()
    with pytest.raises(MethodError, match="method 'half': objective CriticOnly does not define generator_loss"):
        Method("half", "", "", CriticOnly, dict, dict)


def test_the_readme_example_is_searched_from_outside_the_repository(own_package, tmp_path, ray_session):
    """2 trials × 1 epoch and one final seed. The Ray workers were started before the package existed on any
    path, so they can only import it from the folder the driver recorded."""
    argv = _args(
        tmp_path, REFERENCE, "--trials", "2", "--epochs", "1", "--width", "4", "--eval-samples", "100",
        "--train-limit", "256", "--name", "own-fgan", "--final-seeds", "1", "--final-samples", "100",
    )  # fmt: skip
    assert main(argv) == 0
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("own-fgan")
    runs = client.search_runs([experiment.experiment_id])
    (parent,) = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    trials = [r for r in runs if r.data.tags.get("role") == "trial"]
    finals = [r for r in runs if r.data.tags.get("role") == "final"]
    assert parent.data.tags["method"] == REFERENCE and parent.info.status == "FINISHED"
    assert len(trials) == 2 and len(finals) == 1
    for run in [*trials, *finals]:
        assert run.data.tags["mlflow.parentRunId"] == parent.info.run_id and run.data.tags["method"] == REFERENCE
        assert run.data.params["method_path"] == str(own_package)
        assert math.isfinite(run.data.metrics["kl_bound"]) and 1.0 <= run.data.metrics["inception_score"] <= 10.0
    # The first point TPE evaluates is the module's defaults(): the same contract as the built-in methods.
    defaults = {"lr": 2e-4, "beta1": 0.5, "n_critic": 1, "max_logit": 10.0}
    study = optuna.load_study(study_name="own-fgan", storage=f"sqlite:///{tmp_path / 'optuna.db'}")
    assert study.trials[0].params == pytest.approx(defaults)
    assert defaults in [{k: float(r.data.params[k]) for k in defaults} for r in trials]
    assert math.isfinite(finals[0].data.metrics["final_inception_score"])


def test_an_installed_package_publishes_its_methods_by_name(own_package, capsys):
    """The package's entry point (as ``pip install`` writes it from ``[project.entry-points."gan_tuner.methods"]``)
    makes ``fgan_kl`` a method name like the built-in ones."""
    dist = own_package / "my_gans-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: my-gans\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[gan_tuner.methods]\nfgan_kl = my_gans.fgan:FGAN_KL\n")
    assert get_method("fgan_kl") is get_method(REFERENCE)
    assert main(["--list"]) == 0
    listed = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
    assert "f-GAN, KL divergence" in listed["fgan_kl"] and "dcgan" in listed


def test_the_command_line_resolves_once_into_a_complete_search_configuration(own_package, tmp_path):
    from tests.conftest import search_args
    from tuner.cli import validate
    from tuner.search_config import resolve

    args = search_args(tmp_path, REFERENCE, "--cpus-per-trial", "0.5")
    validate(args)
    config = resolve(args)
    assert config.name.startswith("fgan_kl-mnist5k-") and config.experiment == config.name == args.name
    assert (config.metric, config.mode, config.method) == ("inception_score", "max", get_method(REFERENCE))
    assert config.trial["method"] == REFERENCE and config.trial["method_path"] == str(own_package)
    assert config.first_point == get_method(REFERENCE).defaults() and set(config.space) == set(config.first_point)
    assert config.resources == {"cpu": 0.5, "gpu": 0} and config.optuna_url == f"sqlite:///{tmp_path / 'optuna.db'}"
    built_in = search_args(tmp_path, "fisher")
    validate(built_in)
    assert "method_path" not in resolve(built_in).trial  # a built-in method's trials are configured as before
