"""One device rule for training and scoring (jdfd_lib.training.runtime.resolve_device)."""

from __future__ import annotations

import pytest
import torch

from jdfd_lib.core.config import config_from_overrides
from jdfd_lib.evaluation.scoring import ScoreSettings
from jdfd_lib.training.runtime import resolve_device, setup_runtime


@pytest.mark.parametrize("cuda", [False, True])
def test_auto_takes_cuda_only_when_there_is_one(monkeypatch: pytest.MonkeyPatch,
                                                cuda: bool) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    assert resolve_device("auto") == torch.device("cuda" if cuda else "cpu")
    assert resolve_device("cpu") == torch.device("cpu")
    if cuda:
        assert resolve_device("cuda:1") == torch.device("cuda", 1)


def test_cuda_without_cuda_is_refused_by_training_and_scoring(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    cfg = config_from_overrides("demo", device="cuda", amp=True)
    for call in (lambda: resolve_device("cuda:0"), lambda: setup_runtime(cfg),
                 lambda: ScoreSettings.from_config(cfg)):
        with pytest.raises(RuntimeError, match="requested but CUDA is not available"):
            call()
    with pytest.raises(RuntimeError):  # not a device at all: torch's own message
        resolve_device("gpu")
    cpu = config_from_overrides("demo", device="auto", amp=True, channels_last=True)
    rt, settings = setup_runtime(cpu), ScoreSettings.from_config(cpu)
    assert rt.device == settings.device == torch.device("cpu")
    assert not (rt.amp or rt.channels_last or settings.amp or settings.channels_last)
