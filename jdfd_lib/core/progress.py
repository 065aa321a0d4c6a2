"""Progress bars for the long jobs (extraction, training, scoring).

A thin wrapper over tqdm's *text* bar, in a terminal and in Jupyter alike. Jupyter's widget
bars (``tqdm.auto``) are saved into the ``.ipynb`` as references to widget models that are
not saved with it, so a notebook reopened after a run showed "Error displaying widget: model
not found" where each bar had been; a text bar is plain stderr output, which JupyterLab
redraws in place (carriage returns) and saves as text. Bars refresh at most once a second
(``MIN_INTERVAL``), so a long cell sends few messages. Setting ``TQDM_DISABLE=1`` turns every
bar off (the nbval run of ``run_tests.sh`` sets it).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from tqdm.std import tqdm

MIN_INTERVAL = 1.0  # seconds between refreshes of a bar


def bars_disabled() -> bool:
    """True when ``TQDM_DISABLE`` is set to a true value (1, true, yes)."""
    return os.environ.get("TQDM_DISABLE", "").strip().lower() in ("1", "true", "yes")


def progress_bar(iterable: Iterable | None = None, enabled: bool = True, **kwargs: Any) -> tqdm:
    """A text progress bar over ``iterable``; off when ``enabled`` is false or bars are disabled.

    Args:
        iterable: what to iterate over.
        enabled: the caller's own switch (e.g. ``progress=False``).
        **kwargs: passed to tqdm (desc, total, unit, leave, ...).
    """
    kwargs.setdefault("mininterval", MIN_INTERVAL)
    return tqdm(iterable, disable=not enabled or bars_disabled(), **kwargs)
