"""Multiruns (`python -m pipeline -m ...`): `callback` opens one MLflow parent run per sweep and
resumes crashed sweeps; `plot` draws a metric against a swept setting in the parent run."""

from pipeline.sweeps.callback import SweepCallback, finished_job_metrics
from pipeline.sweeps.plot import publish

__all__ = ["SweepCallback", "finished_job_metrics", "publish"]
