"""Where runs go and whether the store is there.

Is the tracking store there? Asked before training (one line and exit code 2 when not, since
MLflow itself retries for minutes) and before a waiting outbox is offered to it again."""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from pathlib import Path

from pipeline.errors import UserError

DEFAULT_URI = "sqlite:///mlflow.db"  # MLflow's own default: a SQLite file where the user runs
# Database stores MLflow reaches through SQLAlchemy, and the extra that installs their driver.
DATABASE_EXTRAS = {"postgresql": "postgres"}


class TrackingUnavailableError(RuntimeError, UserError):
    """The tracking store cannot be reached or written."""


def probe(uri: str, timeout_s: float) -> None:
    """Fail fast, before training, when the store is unreachable (MLflow itself retries for minutes)."""
    if uri.startswith(("http://", "https://")):
        try:
            with urllib.request.urlopen(f"{uri.rstrip('/')}/health", timeout=timeout_s):
                pass
        except (urllib.error.URLError, OSError, ValueError) as error:
            reason = getattr(error, "reason", error)
            raise TrackingUnavailableError(
                f"MLflow tracking server {uri} did not answer within {timeout_s:g} s ({reason}); "
                "start it (`mlflow server`) or set tracking.uri to a reachable one."
            ) from None
        _probe_credentials(uri)
    if uri.startswith("sqlite:///"):
        folder = Path(uri.removeprefix("sqlite:///")).expanduser().resolve().parent
        if not (folder.is_dir() and os.access(folder, os.W_OK)):
            raise TrackingUnavailableError(
                f"Cannot write the MLflow store {uri}: {folder} is not a writable directory."
            )
    if uri.split(":", 1)[0].split("+", 1)[0] in DATABASE_EXTRAS:
        _probe_database(uri, timeout_s)
    if "://" not in uri or uri.startswith("file:"):
        _probe_file_store(uri)


def _probe_file_store(uri: str) -> None:
    """A folder store (`file:` or a path): MLflow refuses it unless MLFLOW_ALLOW_FILE_STORE=true."""
    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        mlflow.MlflowClient(uri)
    except MlflowException as error:
        reason = str(error).strip().splitlines()[0].split(". ")[0]
        raise TrackingUnavailableError(
            f"tracking.uri {uri} is a folder store, which MLflow refuses ({reason}): use a database store such "
            f"as {DEFAULT_URI}, or set MLFLOW_ALLOW_FILE_STORE=true."
        ) from None


def _probe_credentials(uri: str) -> None:
    """One authenticated read from a server that answers: a server with users (basic auth) refuses
    missing or wrong credentials at once, and MLflow's client does not retry that."""
    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        mlflow.MlflowClient(uri).search_experiments(max_results=1)
    except MlflowException as error:
        if error.error_code not in ("UNAUTHENTICATED", "PERMISSION_DENIED"):
            reason = str(error).strip().splitlines()[0][:300]
            raise TrackingUnavailableError(f"MLflow tracking server {uri} failed a first read ({reason})") from None
        raise TrackingUnavailableError(
            f"MLflow tracking server {uri} refused these credentials ({error.error_code}): set "
            "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD to a user of the server."
        ) from None


def _probe_database(uri: str, timeout_s: float) -> None:
    """Connect once to a database store (PostgreSQL): its driver is installed, the server answers
    within `timeout_s`, the database exists and lets the user in."""
    import sqlalchemy

    url = sqlalchemy.engine.make_url(uri)
    shown = url.render_as_string(hide_password=True)
    try:
        engine = sqlalchemy.create_engine(url, connect_args={"connect_timeout": max(1, round(timeout_s))})
        with engine.connect():
            pass
        engine.dispose()
    except ModuleNotFoundError as error:
        extra = DATABASE_EXTRAS[url.get_backend_name()]
        raise TrackingUnavailableError(
            f"tracking.uri {shown} needs the database driver {error.name!r}: pip install -e '.[{extra}]'"
        ) from None
    except sqlalchemy.exc.SQLAlchemyError as error:
        reason = str(getattr(error, "orig", error)).strip().splitlines()[0]
        raise TrackingUnavailableError(
            f"MLflow database {shown} refused the connection or did not answer within {timeout_s:g} s "
            f"({reason}); start it, create the database, or set tracking.uri to a reachable one."
        ) from None
