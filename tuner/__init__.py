"""Search CLI and Ray Tune / Optuna / MLflow wiring."""
