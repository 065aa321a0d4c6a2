"""TQDM_DISABLE turns every progress bar off, the notebook widget bars included."""

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


@pytest.mark.parametrize("env, disabled", [
    ("1", True), ("true", True), ("YES", True), ("0", False), ("", False),
])
def test_notebook_bars_follow_the_environment_too(monkeypatch, env, disabled) -> None:
    """In Jupyter, tqdm.auto gives widget bars, which ignore TQDM_DISABLE on their own:
    progress_bar applies the variable to them itself."""
    from tqdm.notebook import tqdm as notebook_tqdm

    monkeypatch.setattr("jdfd_lib.core.progress.tqdm", notebook_tqdm)
    monkeypatch.setenv("TQDM_DISABLE", env)
    bar = progress_bar(range(2))
    assert bar.disable is disabled
    assert list(bar) == [0, 1]
