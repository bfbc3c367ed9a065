"""Our AutoAttack against the authors' code (`pyautoattack`, Croce and Hein: the implementation
RobustBench's tables come from) on the same network: the Keras model rebuilt weight for weight in
PyTorch (`torch_twin`, logits checked within 1e-4 before anything is attacked), the same examples
and budget, both at the `standard` version. Per member (each alone on every correctly classified
example) and for the cascade: the robust accuracy of each, the share of examples on which they
agree (robust or broken), and the wall time of each. Ours is timed first, so its cascade's time
includes tracing its graphs (the first call on this model); "again" is a fresh `AutoAttack`
object on the same model, which reuses them. The authors' code runs at 1 and at 2 PyTorch
threads, and the faster counts.
"""

from __future__ import annotations

import logging
import time

import keras
import numpy as np
import torch
from torch_twin import TorchTwin

from pipeline.attacks import AutoAttack
from pipeline.inference import predicted_classes

log = logging.getLogger("bench_autoattack")
MEMBERS = ("apgd-ce", "apgd-t", "fab-t", "square")
BATCH = 250  # the authors' default batch size


def _authors(twin: TorchTwin, eps: float, attacks: list[str] | None = None):
    from pyautoattack import AutoAttack as AuthorsAutoAttack

    attack = AuthorsAutoAttack(twin, norm="Linf", eps=eps, version="standard", seed=0, device="cpu")
    if attacks is not None:
        attack.attacks_to_run = attacks
    return attack


def _authors_run(twin: TorchTwin, x: np.ndarray, y: np.ndarray, eps: float, attacks=None) -> tuple[np.ndarray, float]:
    """(robust flags, seconds at the faster thread count) of the authors' code."""
    xt, yt = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2))), torch.from_numpy(y.astype(np.int64))
    best, robust = float("inf"), None
    for threads in (1, 2):
        torch.set_num_threads(threads)
        attack = _authors(twin, eps, attacks)
        started = time.perf_counter()
        x_adv, _ = attack.run_standard_evaluation(xt, yt, batch_size=BATCH)
        best = min(best, time.perf_counter() - started)
        with torch.no_grad():
            robust = twin(x_adv).argmax(1).numpy() == y
    return robust, best


def _ours_member(model: keras.Model, name: str, x: np.ndarray, y: np.ndarray, eps: float) -> tuple[np.ndarray, float]:
    attack = AutoAttack(model, eps, version="standard", batch_size=BATCH)
    started = time.perf_counter()
    clean = predicted_classes(model, x) == y
    member = attack.attacks[name]
    found = np.asarray(member(x[clean], y[clean], keys=attack.member_keys(x[clean], name)))
    robust = clean.copy()
    robust[clean] = predicted_classes(model, found) == y[clean]
    return robust, time.perf_counter() - started


def compare(
    label: str, model: keras.Model, x: np.ndarray, y: np.ndarray, eps: float, members: bool = True
) -> list[tuple]:
    """Rows (model, what, authors' robust acc., ours, agreement, authors' s, ours s): the cascade,
    then (`members`) each member alone."""
    logging.getLogger("auto-attack").setLevel(logging.WARNING)
    twin = TorchTwin(model).eval()
    with torch.no_grad():
        gap = np.abs(twin(torch.from_numpy(x.transpose(0, 3, 1, 2).copy())).numpy() - np.asarray(model(x))).max()
    if gap > 1e-4:
        raise SystemExit(f"the PyTorch twin of {label} is off by {gap:.2g} in its logits (> 1e-4): nothing compared")
    log.info("%s: PyTorch twin's logits within %.1g of the Keras model's", label, gap)
    rows = []
    started = time.perf_counter()
    ours = AutoAttack(model, eps, version="standard", batch_size=BATCH).evaluate(x, y)
    first = time.perf_counter() - started
    started = time.perf_counter()
    AutoAttack(model, eps, version="standard", batch_size=BATCH).evaluate(x, y)
    again = time.perf_counter() - started
    theirs, seconds = _authors_run(twin, x, y, eps)
    for what, t_ours in (("cascade, first call", first), ("cascade, again", again)):
        rows.append((label, what, theirs.mean(), ours.robust.mean(), np.mean(theirs == ours.robust), seconds, t_ours))
    for name in MEMBERS if members else ():
        mine, t_ours = _ours_member(model, name, x, y, eps)
        theirs, seconds = _authors_run(twin, x, y, eps, [name])
        rows.append((label, name, theirs.mean(), mine.mean(), np.mean(theirs == mine), seconds, t_ours))
    for row in rows:
        log.info("%s %-20s authors %.3f ours %.3f agree %.3f  authors %.1f s ours %.1f s", *row)
    return rows


def table(rows: list[tuple]) -> str:
    lines = [
        "| model | attack | authors' robust acc. | ours | agreement | authors' s | ours s | ours / authors |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label, what, theirs, ours, agree, t_theirs, t_ours in rows:
        lines.append(
            f"| {label} | {what} | {theirs:.3f} | {ours:.3f} | {agree:.3f} | {t_theirs:.1f} | {t_ours:.1f} | "
            f"{t_ours / t_theirs:.2f} |"
        )
    return "\n".join(lines)
