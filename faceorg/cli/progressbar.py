"""A terminal progress bar attached to a :class:`faceorg.progress.Progress`."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from tqdm import tqdm

from faceorg.progress import Progress, ProgressState


@contextmanager
def terminal_progress(enabled: bool | None = None) -> Iterator[Progress]:
    """A Progress that draws a tqdm bar on stderr when it is a terminal (or when ``enabled``)."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    bar: tqdm | None = None
    stage = ""

    def show(state: ProgressState) -> None:
        nonlocal bar, stage
        if not enabled:
            return
        if bar is None or state.stage != stage:
            if bar is not None:
                bar.close()
            stage = state.stage
            bar = tqdm(total=state.total, desc=state.stage, unit=" items", leave=False, dynamic_ncols=True,
                       file=sys.stderr)
        if state.total != bar.total:
            bar.total = state.total
        bar.n = state.done
        if state.message:
            bar.set_postfix_str(state.message, refresh=False)
        bar.refresh()

    progress = Progress(show)
    try:
        yield progress
    finally:
        if bar is not None:
            bar.close()
