"""The MLflow tag names every search writes and every reader (resume, finals, reports, the offline spool) finds
runs by. One parent run per search (``role=search``), its trials (``role=trial``) and final-seed runs
(``role=final``, ``final=true``, ``seed``) as children."""

from __future__ import annotations

ROLE_TAG = "role"  # "search" (parent), "trial" (a search trial) or "final" (a final-seed run)
SEARCH_TAG = "search_name"
METHOD_TAG = "method"  # a built-in name or PKG.MODULE:NAME, as given on the command line
DATASET_TAG = "dataset"
TRIAL_TAG = "ray_trial_id"
FINAL_TAG = "final"
SEED_TAG = "seed"
END_STATE_TAG = "end_state"  # completed | stopped by ASHA at epoch e | diverged at epoch e | errored | …
PARENT_TAG = "mlflow.parentRunId"  # what the MLflow UI nests child runs by
BEST_TRIAL_TAG = "best_trial"  # "true" on the search's best trial (its name also starts with a mark)
# MLflow 3 opens an experiment by its kind: without one it shows the GenAI overview, not the runs table.
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
EXPERIMENT_KIND = "custom_model_development"
