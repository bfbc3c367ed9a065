"""The store probe: a store a run cannot use is one line before training, never a traceback."""

import pytest

from pipeline.tracking.store import TrackingUnavailableError, probe


@pytest.mark.parametrize("uri", ["file:///{tmp}/mlruns", "{tmp}/mlruns"])
def test_a_folder_store_mlflow_refuses_is_named_with_the_way_out(tmp_path, monkeypatch, uri):
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE", raising=False)
    uri = uri.format(tmp=tmp_path)
    with pytest.raises(
        TrackingUnavailableError, match=r"is a folder store, which MLflow refuses .*sqlite:///mlflow.db"
    ):
        probe(uri, timeout_s=1)
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    probe(uri, timeout_s=1)  # allowed: MLflow takes it


def test_a_sqlite_store_needs_a_writable_folder(tmp_path):
    probe(f"sqlite:///{tmp_path}/mlflow.db", timeout_s=1)
    with pytest.raises(TrackingUnavailableError, match=r"Cannot write the MLflow store .* is not a writable directory"):
        probe(f"sqlite:///{tmp_path}/missing/mlflow.db", timeout_s=1)
