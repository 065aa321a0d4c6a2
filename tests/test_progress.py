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


def test_notebook_bars_are_disabled_too(monkeypatch) -> None:
    from tqdm.notebook import tqdm as notebook_tqdm

    monkeypatch.setenv("TQDM_DISABLE", "1")
    assert notebook_tqdm(range(2)).disable is False  # why jdfd_lib.core.progress exists
    monkeypatch.setattr("jdfd_lib.core.progress.tqdm", notebook_tqdm)
    assert progress_bar(range(2)).disable is True
