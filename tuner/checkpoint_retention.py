"""Checkpoint retention that never deletes a checkpoint a resumed search may be sent back to.

Tune's own ``num_to_keep`` deletes a trial's older checkpoints as soon as newer ones are registered, but the
experiment state that ``--resume`` restores is saved only every few seconds (``tuner.resume.snapshot_often``). A
driver killed between the two restores a trial from a checkpoint that no longer exists, and the trial errors
("does not exist on storage anymore") after training epochs that were already done. That happens whenever a
trial checkpoints faster than the snapshot interval: tiny CPU searches, and fast epochs on a GPU.

So Tune keeps every checkpoint, and this driver callback deletes a trial's old ones itself: it keeps the newest
``keep`` and removes an older one only once it has been superseded for ``grace_s`` seconds (far longer than a
snapshot takes to follow), and all but the newest ``keep`` when the search ends (its last snapshot is written).
"""

from __future__ import annotations

import posixpath
import time

import pyarrow.fs
from ray.tune import Callback

PREFIX = "checkpoint_"


class CheckpointRetention(Callback):
    def __init__(self, keep: int = 2, grace_s: float = 60.0):
        if keep < 1:
            raise ValueError(f"keep must be ≥ 1 (got {keep})")
        self.keep, self.grace_s = int(keep), float(grace_s)
        self._superseded: dict[str, float] = {}  # checkpoint path → when it was first seen not among the newest
        self._folders: dict[str, tuple[pyarrow.fs.FileSystem, str]] = {}  # trial id → (fs, trial folder)

    def on_checkpoint(self, iteration, trials, trial, checkpoint, **info) -> None:
        folder = posixpath.dirname(checkpoint.path.rstrip("/"))
        self._folders[trial.trial_id] = (checkpoint.filesystem, folder)
        self._prune(checkpoint.filesystem, folder, final=False)

    def on_experiment_end(self, trials, **info) -> None:
        for fs, folder in self._folders.values():
            self._prune(fs, folder, final=True)

    def _prune(self, fs: pyarrow.fs.FileSystem, folder: str, final: bool) -> None:
        """Checkpoint folders are numbered in the order a trial reported them (a restored trial continues the
        numbering), so all but the highest ``keep`` numbers are superseded."""
        try:
            found = fs.get_file_info(pyarrow.fs.FileSelector(folder))
        except OSError:
            return  # storage unreachable for a moment: the next checkpoint tries again
        names = sorted(i.base_name for i in found if i.type == pyarrow.fs.FileType.Directory
                       and i.base_name.startswith(PREFIX))  # fmt: skip
        now = time.monotonic()
        for name in names[: -self.keep]:
            path = f"{folder}/{name}"
            since = self._superseded.setdefault(path, now)
            if final or now - since >= self.grace_s:
                try:
                    fs.delete_dir(path)
                except OSError:
                    continue  # already gone, or storage unreachable: kept for now
                self._superseded.pop(path, None)
