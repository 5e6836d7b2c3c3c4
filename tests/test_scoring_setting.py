"""reports.table refuses to put scores of an EMA generator (or bf16 runs) beside plain fp32 ones unless told."""

from __future__ import annotations

import pytest
from mlflow.tracking import MlflowClient

from reports import table
from reports.store import ReportError
from tests.test_reports import make_hand_store


def _set_param_on_method(uri: str, method: str, key: str, value: str) -> None:
    client = MlflowClient(uri)
    for run in client.search_runs([client.get_experiment_by_name("hand").experiment_id]):
        if run.data.tags.get("method") == method and run.data.tags.get("role") in ("trial", "final"):
            client.log_param(run.info.run_id, key, value)


def test_ema_and_plain_generators_are_not_mixed_in_one_table(tmp_path):
    uri = f"sqlite:///{tmp_path / 'm.db'}"
    make_hand_store(uri)
    _set_param_on_method(uri, "deli_fisher", "ema", "0.999")
    with pytest.raises(ReportError, match=r"different generator settings \(EMA 0.999, fp32 \| no EMA, fp32\)"):
        table.build_table(uri, experiments=["hand"])
    mixed = table.build_table(uri, experiments=["hand"], allow_mixed_scoring=True)
    assert len(mixed.frame()) == 2
    assert table.main(["--mlflow-uri", uri, "--experiment", "hand"]) == 2


def test_bf16_and_fp32_are_not_mixed_either(tmp_path):
    uri = f"sqlite:///{tmp_path / 'm.db'}"
    make_hand_store(uri)
    _set_param_on_method(uri, "fisher", "amp", "True")
    with pytest.raises(ReportError, match="bf16"):
        table.build_table(uri, experiments=["hand"])
