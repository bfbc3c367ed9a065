"""RobustBench's table, for your own runs: an MLflow experiment's runs ranked by their AutoAttack
robust accuracy (the adversarial stage's `autoattack_robust_accuracy`), one table per dataset,
norm and budget, with the 95% interval, clean accuracy, model, layers, adversarial training, the
ensemble's version and any failed sanity check beside each.

    python -m pipeline.tracking.leaderboard [--tracking-uri sqlite:///mlflow.db] [--experiment convnets] [--csv FILE]
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

import pandas as pd

from pipeline.tracking.store import DEFAULT_URI, TrackingUnavailableError, probe

log = logging.getLogger(__name__)

METRIC = "autoattack_robust_accuracy"
COLUMNS = {  # leaderboard column -> MLflow search_runs column
    "robust": f"metrics.{METRIC}",
    "low": f"metrics.{METRIC}_low",
    "high": f"metrics.{METRIC}_high",
    "clean": "metrics.autoattack_clean_accuracy",
    "examples": "metrics.autoattack_examples",
    "eps": "metrics.autoattack_eps",
    "dataset": "params.dataset.name",
    "norm": "params.adversarial.autoattack.norm",
    "version": "params.adversarial.autoattack.version",
    "model": "params.model.name",
    "layers": "params.layers.impl",
    "adv_attack": "params.trainer.adversarial.attack",
    "adv_eps": "params.trainer.adversarial.eps",
    "sanity_failed": "tags.sanity_failed",
    "run_name": "tags.mlflow.runName",
    "run_id": "run_id",
}


def table(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per run that has the metric, with the leaderboard's columns, ranked within each
    (dataset, norm, eps) group: rank 1 the most robust (ties: the higher clean accuracy first)."""
    present = runs.reindex(columns=list(COLUMNS.values()))
    rows = present.rename(columns={v: k for k, v in COLUMNS.items()}).dropna(subset=["robust"])
    rows = rows.assign(
        adversarial_training=[
            "none" if attack in (None, "None", "null") or pd.isna(attack) else f"{attack} eps {eps}"
            for attack, eps in zip(rows["adv_attack"], rows["adv_eps"], strict=True)
        ],
        eps=rows["eps"].round(6),
    )
    rows = rows.sort_values(["dataset", "norm", "eps", "robust", "clean"], ascending=[True, True, True, False, False])
    rows["rank"] = rows.groupby(["dataset", "norm", "eps"]).cumcount() + 1
    return rows.drop(columns=["adv_attack", "adv_eps"]).reset_index(drop=True)


def markdown(rows: pd.DataFrame) -> str:
    """One Markdown table per (dataset, norm, eps)."""
    parts = []
    for (dataset, norm, eps), group in rows.groupby(["dataset", "norm", "eps"], sort=True):
        parts.append(f"### {dataset}, L{norm}, eps {eps:g}\n")
        parts.append(
            "| # | run | AutoAttack robust acc. [95%] | clean acc. | model | layers | adv. training "
            "| version | n | sanity |"
        )
        parts.append("|---|---|---|---|---|---|---|---|---|---|")
        for r in group.itertuples():
            interval = f"{r.robust:.2%} [{r.low:.1%}, {r.high:.1%}]"
            failed = r.sanity_failed if isinstance(r.sanity_failed, str) and r.sanity_failed != "none" else "ok"
            parts.append(
                f"| {r.rank} | {r.run_name} ({r.run_id[:8]}) | {interval} | {r.clean:.2%} | {r.model} | {r.layers} "
                f"| {r.adversarial_training} | {r.version} | {int(r.examples)} | {failed} |"
            )
        parts.append("")
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> None:
    import mlflow

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tracking-uri", default=os.environ.get("MLFLOW_TRACKING_URI", DEFAULT_URI))
    parser.add_argument("--experiment", default="convnets")
    parser.add_argument("--csv", help="also write the ranked rows to this CSV file")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        probe(args.tracking_uri, timeout_s=10)
        experiment = mlflow.MlflowClient(args.tracking_uri).get_experiment_by_name(args.experiment)
        if experiment is None:
            raise TrackingUnavailableError(f"{args.tracking_uri} has no experiment named {args.experiment!r}")
    except TrackingUnavailableError as error:
        print(error, file=sys.stderr)
        raise SystemExit(2) from None
    mlflow.set_tracking_uri(args.tracking_uri)
    rows = table(mlflow.search_runs([experiment.experiment_id], filter_string="attributes.status = 'FINISHED'"))
    if rows.empty:
        log.info(
            "No finished run of %r has %s: run the adversarial stage (stages=[...,adversarial]).",
            args.experiment,
            METRIC,
        )
        return
    if args.csv:
        rows.to_csv(args.csv, index=False)
    sys.stdout.write(markdown(rows) + "\n")


if __name__ == "__main__":
    main()
