"""Progress bars for the long jobs (extraction, training, scoring).

A thin wrapper over ``tqdm.auto``: a widget bar in Jupyter, a text bar in a terminal. Setting
``TQDM_DISABLE=1`` turns every bar off. tqdm reads that variable itself for its text bars,
but its notebook bars override it, so it is applied here explicitly. The nbval run of
``run_tests.sh`` sets it: nbval reads a cell's kernel messages only once the cell has ended,
and the thousands of widget messages of a minutes-long training cell overflow the kernel's
message queue, losing the cell's final 'idle' message.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from tqdm.auto import tqdm


def bars_disabled() -> bool:
    """True when ``TQDM_DISABLE`` is set to a true value (1, true, yes)."""
    return os.environ.get("TQDM_DISABLE", "").strip().lower() in ("1", "true", "yes")


def progress_bar(iterable: Iterable | None = None, enabled: bool = True, **kwargs: Any) -> tqdm:
    """A ``tqdm.auto`` bar over ``iterable``; off when ``enabled`` is false or bars are disabled.

    Args:
        iterable: what to iterate over.
        enabled: the caller's own switch (e.g. ``progress=False``).
        **kwargs: passed to tqdm (desc, total, unit, leave, ...).
    """
    return tqdm(iterable, disable=not enabled or bars_disabled(), **kwargs)
