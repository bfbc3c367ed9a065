"""What a user sees on the console: TensorFlow's native log lines that are never the user's
problem are dropped from stderr; everything else (Python warnings, our logs, real errors) passes.

TensorFlow writes these from C++ straight to file descriptor 2, below Python's `sys.stderr`,
so the filter sits on the descriptor: a pipe whose reader thread forwards every other line.
"""

from __future__ import annotations

import atexit
import os
import re
import sys
import threading

# "failed call to cuInit": a CUDA-enabled TensorFlow on a machine without an NVIDIA driver; the
# pipeline logs which devices it uses instead. "Could not find cuda drivers": the same, at INFO.
NOISE = re.compile(rb"failed call to cuInit|Could not find cuda drivers on your machine")


_state: dict = {}  # the original descriptor and the reader thread, while the filter is on


def filter_native_noise() -> None:
    """Route file descriptor 2 through a filter that drops `NOISE` lines, until the process exits."""
    if _state:
        return
    original = os.dup(2)
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)

    def forward() -> None:
        with os.fdopen(read_end, "rb", buffering=0) as source:
            for line in iter(source.readline, b""):
                if NOISE.search(line):
                    continue
                while line:  # a pipe or a terminal may take part of a line at a time
                    line = line[os.write(original, line) :]

    thread = threading.Thread(target=forward, name="stderr-filter", daemon=True)
    thread.start()
    _state.update(original=original, thread=thread)
    atexit.register(restore_stderr)


def restore_stderr() -> None:
    """Put the original stderr back and let the reader forward what is left (call it before
    `os._exit`, which skips atexit)."""
    if not _state:
        return
    sys.stderr.flush()
    os.dup2(_state["original"], 2)  # closes the pipe's write end: the reader sees its end
    _state.pop("thread").join(timeout=5)
    _state.clear()
