"""Convolution arithmetic, animated (the cases of Dumoulin and Visin, "A guide to convolution
arithmetic for deep learning", 2016): for each output cell, the input window, the kernel weight
on each of its cells, and the sum that fills the cell. A transposed convolution is drawn as the
direct convolution it equals: the input stretched by s - 1 zeros between cells, padded by
(k - 1) d - p on each side (plus the leftover a after), swept by the flipped kernel. Every cell's
value is the sum the frame shows; the tests check it against `layers.ops`."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle
from PIL import Image

from layers import ops


@dataclass(frozen=True)
class Case:
    """One spatial size `i`, kernel `k`, stride `s`, padding `p` (an int per side), dilation `d`,
    transposed or not; `a` the transposed output's leftover (output_padding)."""

    name: str
    i: int
    k: int
    s: int = 1
    p: int = 0
    d: int = 1
    transposed: bool = False
    a: int = 0


CASES = [
    Case("no_padding_no_strides", 4, 3),
    Case("half_padding_no_strides", 5, 3, p=1),
    Case("full_padding_no_strides", 5, 3, p=2),
    Case("no_padding_strides", 5, 3, s=2),
    Case("padding_strides", 5, 3, s=2, p=1),
    Case("padding_strides_odd", 6, 3, s=2, p=1),
    Case("dilation", 7, 3, d=2),
    Case("no_padding_no_strides_transposed", 2, 3, transposed=True),
    Case("half_padding_no_strides_transposed", 5, 3, p=1, transposed=True),
    Case("full_padding_no_strides_transposed", 7, 3, p=2, transposed=True),
    Case("no_padding_strides_transposed", 2, 3, s=2, transposed=True),
    Case("padding_strides_transposed", 3, 3, s=2, p=1, transposed=True),
    Case("padding_strides_odd_transposed", 3, 3, s=2, p=1, transposed=True, a=1),
    Case("dilation_transposed", 3, 3, d=2, transposed=True),
]


@dataclass(frozen=True)
class Frame:
    """One output cell: the canvas swept (input, padded; stretched when transposed), whether each
    canvas cell is an input value, the window's canvas cells with the weight on each, the cell
    (row, col) and its value."""

    canvas: np.ndarray
    real: np.ndarray
    window: list[tuple[int, int, float]]
    cell: tuple[int, int]
    value: float


def example(case: Case, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Small integers: an (i, i) input in 0..3 and a (k, k) kernel in 0..2."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 4, (case.i, case.i)).astype(np.float32), rng.integers(0, 3, (case.k, case.k)).astype(
        np.float32
    )


def canvas(case: Case, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The grid the kernel sweeps, and which of its cells hold input values (the rest: padding,
    and the zeros a transposed convolution inserts between input cells)."""
    if case.transposed:
        spread = np.zeros(((case.i - 1) * case.s + 1,) * 2, np.float32)
        spread[:: case.s, :: case.s] = x
        real = np.zeros(spread.shape, bool)
        real[:: case.s, :: case.s] = True
        before = (case.k - 1) * case.d - case.p
        after = before + case.a
    else:
        spread, real, before, after = x, np.ones(x.shape, bool), case.p, case.p
    return np.pad(spread, (before, after)), np.pad(real, (before, after))


def frames(case: Case, x: np.ndarray, kernel: np.ndarray) -> list[Frame]:
    """One frame per output cell, in reading order."""
    board, real = canvas(case, x)
    weights = kernel[::-1, ::-1] if case.transposed else kernel
    stride = 1 if case.transposed else case.s
    extent = (case.k - 1) * case.d + 1
    size = (board.shape[0] - extent) // stride + 1
    found = []
    for r in range(size):
        for c in range(size):
            window = [
                (r * stride + u * case.d, c * stride + v * case.d, float(weights[u, v]))
                for u in range(case.k)
                for v in range(case.k)
            ]
            value = sum(board[y, z] * w for y, z, w in window)
            found.append(Frame(board, real, window, (r, c), float(value)))
    return found


def reference(case: Case, x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """The output by `layers.ops`: `conv`, or `conv_transpose` with the same kernel."""
    x4, k4 = x[None, :, :, None], kernel[:, :, None, None]
    if case.transposed:
        leftover = case.a if case.s > 1 else None
        out = ops.conv_transpose(x4, k4, case.s, case.p, leftover, case.d)
    else:
        out = ops.conv(x4, k4, case.s, case.p, case.d)
    return out.numpy()[0, :, :, 0]


def render(case: Case, x: np.ndarray, kernel: np.ndarray) -> list[Image.Image]:
    """The frames as images: the canvas with the window and its weights, the output so far."""
    shown = frames(case, x, kernel)
    size = int(round(np.sqrt(len(shown))))
    done = np.full((size, size), np.nan)
    images = []
    for frame in shown:
        done[frame.cell] = frame.value
        images.append(_draw(case, frame, done))
    return images


def _draw(case: Case, frame: Frame, done: np.ndarray) -> Image.Image:
    board = frame.canvas
    fig, (left, right) = plt.subplots(
        1, 2, figsize=(2.2 + 0.42 * (board.shape[1] + done.shape[1]), 0.5 * board.shape[0] + 1.4),
        gridspec_kw={"width_ratios": [board.shape[1], max(done.shape[1], 2)]},
    )  # fmt: skip
    _grid(left, board, lambda y, z: "white" if frame.real[y, z] else "#dddddd")
    for y, z, w in frame.window:
        left.add_patch(Rectangle((z, y), 1, 1, color="tab:blue", alpha=0.35))
        left.text(z + 0.92, y + 0.9, f"x{w:g}", ha="right", va="bottom", fontsize=6, color="navy")
    _grid(right, np.nan_to_num(done), lambda y, z: "#a6d8a6" if (y, z) == frame.cell else "white", done)
    kind = "transposed " if case.transposed else ""
    notes = [
        n for n, on in (("stretched", case.transposed and case.s > 1), ("padded", frame.real.size > case.i**2)) if on
    ]
    left.set_title("input" + (f" ({', '.join(notes)})" if notes else ""), fontsize=8)
    right.set_title(f"output {done.shape[0]}x{done.shape[1]}", fontsize=8)
    terms = " + ".join(f"{board[y, z]:g}x{w:g}" for y, z, w in frame.window if board[y, z] and w)
    fig.suptitle(
        f"{kind}conv i={case.i} k={case.k} s={case.s} p={case.p} d={case.d}"
        + (f" a={case.a}" if case.a else "")
        + f"\nout[{frame.cell[0]}, {frame.cell[1]}] = {terms or '0'} = {frame.value:g}",
        fontsize=8,
    )
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    plt.close(fig)
    return Image.open(buffer).convert("P", palette=Image.ADAPTIVE)


def _grid(axis, values: np.ndarray, colour, shown: np.ndarray | None = None) -> None:
    rows, cols = values.shape
    for y in range(rows):
        for z in range(cols):
            axis.add_patch(Rectangle((z, y), 1, 1, facecolor=colour(y, z), edgecolor="k", linewidth=0.6))
            if shown is None or not np.isnan(shown[y, z]):
                axis.text(z + 0.5, y + 0.5, f"{values[y, z]:g}", ha="center", va="center", fontsize=8)
    axis.set_xlim(-0.05, cols + 0.05)
    axis.set_ylim(rows + 0.05, -0.05)
    axis.set_aspect("equal")
    axis.axis("off")


def write_gifs(folder: Path, cases: list[Case] = CASES, seed: int = 0) -> list[Path]:
    """One animated GIF per case in `folder`; their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for case in cases:
        x, kernel = example(case, seed)
        images = render(case, x, kernel)
        path = folder / f"{case.name}.gif"
        images[0].save(path, save_all=True, append_images=images[1:], duration=700, loop=0)
        written.append(path)
    return written
