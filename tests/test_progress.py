"""Progress bars: text bars (no notebook widgets), turned off by TQDM_DISABLE."""

from __future__ import annotations

import pytest

from jdfd_lib.core.progress import progress_bar


@pytest.mark.parametrize("env, enabled, disabled", [
    (None, True, False), (None, False, True), ("1", True, True), ("0", True, False),
])
def test_bars_follow_the_switch_and_the_environment(monkeypatch, env, enabled, disabled) -> None:
    if env is None:
        monkeypatch.delenv("TQDM_DISABLE", raising=False)
    else:
        monkeypatch.setenv("TQDM_DISABLE", env)
    bar = progress_bar(range(3), enabled=enabled)
    assert bar.disable is disabled  # (before iterating: a finished bar reads as disabled)
    assert list(bar) == [0, 1, 2]  # iterates the same either way


def test_bars_are_text_never_notebook_widgets() -> None:
    """A widget bar saved in a notebook reopens as "Error displaying widget: model not
    found"; a text bar is saved as the text it printed."""
    from tqdm.notebook import tqdm_notebook

    bar = progress_bar(range(2))
    assert not isinstance(bar, tqdm_notebook) and bar.mininterval >= 1.0
    assert list(bar) == [0, 1]
