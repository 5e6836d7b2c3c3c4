"""Checkpoint retention: the newest two of a trial are always kept, an older one only goes once it has been
superseded for the grace period (an experiment snapshot may still name it), and all but the newest two when the
search ends. Real Tune checkpoints on a local folder."""

from __future__ import annotations

from types import SimpleNamespace

from ray import tune

from tuner.checkpoint_retention import CheckpointRetention


def _report(retention: CheckpointRetention, trial_dir, index: int) -> None:
    folder = trial_dir / f"checkpoint_{index:06d}"
    folder.mkdir()
    (folder / "state.pt").write_bytes(b"x")
    retention.on_checkpoint(iteration=index, trials=[], trial=SimpleNamespace(trial_id="t1"),
                            checkpoint=tune.Checkpoint(str(folder)))  # fmt: skip


def _left(trial_dir) -> list[int]:
    return sorted(int(p.name.split("_")[1]) for p in trial_dir.glob("checkpoint_*"))


def test_old_checkpoints_outlive_the_grace_period_and_the_newest_two_always_stay(tmp_path):
    trial_dir = tmp_path / "train_gan_t1"
    trial_dir.mkdir()
    waiting = CheckpointRetention(keep=2, grace_s=3600)
    for i in range(4):
        _report(waiting, trial_dir, i)
    assert _left(trial_dir) == [0, 1, 2, 3]  # superseded, but a snapshot seconds old may still name them
    waiting.on_experiment_end(trials=[])  # the last snapshot is written: only the newest two are needed
    assert _left(trial_dir) == [2, 3]

    eager = CheckpointRetention(keep=2, grace_s=0)
    for i in range(4, 7):
        _report(eager, trial_dir, i)
        assert _left(trial_dir)[-2:] == [i - 1, i] and len(_left(trial_dir)) == 2


def test_a_trial_folder_without_checkpoints_or_a_missing_one_is_left_alone(tmp_path):
    retention = CheckpointRetention(keep=1, grace_s=0)
    retention.on_experiment_end(trials=[])  # nothing seen: nothing to do
    trial_dir = tmp_path / "train_gan_t1"
    trial_dir.mkdir()
    _report(retention, trial_dir, 0)
    assert _left(trial_dir) == [0]
    (trial_dir / "checkpoint_000000" / "state.pt").unlink()
    (trial_dir / "checkpoint_000000").rmdir()  # deleted by hand meanwhile
    _report(retention, trial_dir, 1)
    assert _left(trial_dir) == [1]
