"""The compiled training step (jdfd_lib.training.compiled): through torch.compile while it
works, and back to the eager step, bit for bit, when compilation is unavailable."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
import torch

from jdfd_lib.core.config import config_from_overrides
from jdfd_lib.training.checkpoint import read_checkpoint
from jdfd_lib.training.compiled import TrainingForward, check_mode
from jdfd_lib.training.train import train


def _model_and_optimizer(seed: int = 0):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4),
                                torch.nn.ReLU(), torch.nn.Dropout(0.5), torch.nn.Flatten(),
                                torch.nn.LazyLinear(2))
    model(torch.zeros(2, 3, 8, 8))  # materialise the lazy layer
    return model.train(), torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)


def _step(model, optimizer, x, y):
    def step(forward):
        loss = torch.nn.functional.cross_entropy(forward(x), y)  # dropout draws random bits
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss.detach()
    return step


def _state(model) -> list[torch.Tensor]:
    return [t.detach().clone() for t in (*model.parameters(), *model.buffers())]


def _batch():
    g = torch.Generator().manual_seed(1)
    return torch.randn(4, 3, 8, 8, generator=g), torch.tensor([0, 1, 0, 1])


def _eager_reference(steps: int = 2):
    model, opt = _model_and_optimizer()
    x, y = _batch()
    torch.manual_seed(5)
    losses = [TrainingForward(model).run(_step(model, opt, x, y)) for _ in range(steps)]
    return losses, _state(model), torch.get_rng_state()


def test_a_compiler_that_fails_half_way_leaves_the_eager_run_bit_for_bit(capsys) -> None:
    """The compiled forward updates BatchNorm's statistics and draws dropout bits, then its
    backward fails (as a lazily compiled backward can): the step is redone eagerly from the
    state before it, so the run equals a plain eager run exactly."""
    def half_way(module, mode):
        def forward(x):
            # a real forward (BN statistics move, dropout draws bits), then a failing backward
            return _BrokenBackward.apply(module(x))
        return forward

    ref_losses, ref_state, ref_rng = _eager_reference()
    model, opt = _model_and_optimizer()
    x, y = _batch()
    torch.manual_seed(5)
    forward = TrainingForward(model, "default", "run-a", compiler=half_way)
    losses = [forward.run(_step(model, opt, x, y)) for _ in range(2)]
    assert not forward.compiled and "no compiler here" in forward.fallback_reason
    assert all(torch.equal(a, b) for a, b in zip(losses, ref_losses, strict=True))
    assert all(torch.equal(a, b) for a, b in zip(_state(model), ref_state, strict=True))
    assert torch.equal(torch.get_rng_state(), ref_rng)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "run-a: torch.compile(mode='default') failed" in err
    assert "no compiler here" in err and "eager mode" in err


class _BrokenBackward(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x.clone()

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError("no compiler here (backward)")


def test_torch_compile_refusing_at_once_falls_back_too(capsys) -> None:
    def refuse(module, mode):
        raise RuntimeError("Dynamo is not supported on this Python")

    ref_losses, ref_state, _ = _eager_reference()
    model, opt = _model_and_optimizer()
    x, y = _batch()
    torch.manual_seed(5)
    forward = TrainingForward(model, "reduce-overhead", compiler=refuse)
    assert not forward.compiled and "Dynamo is not supported" in forward.fallback_reason
    losses = [forward.run(_step(model, opt, x, y)) for _ in range(2)]
    assert all(torch.equal(a, b) for a, b in zip(losses, ref_losses, strict=True))
    assert all(torch.equal(a, b) for a, b in zip(_state(model), ref_state, strict=True))
    assert "train: torch.compile(mode='reduce-overhead') failed" in capsys.readouterr().err


def test_an_error_of_the_model_itself_is_raised_not_hidden() -> None:
    model, opt = _model_and_optimizer()
    forward = TrainingForward(model, "default", compiler=lambda m, mode: m)
    bad = torch.zeros(4, 5, 8, 8)  # 5 channels where the model takes 3
    with pytest.raises(RuntimeError, match="channels"):
        forward.run(_step(model, opt, bad, torch.zeros(4, dtype=torch.long)))


def test_errors_after_a_good_first_step_are_not_caught() -> None:
    model, opt = _model_and_optimizer()
    x, y = _batch()
    forward = TrainingForward(model, "default", compiler=lambda m, mode: m)
    forward.run(_step(model, opt, x, y))
    assert forward.compiled
    with pytest.raises(RuntimeError, match="boom"):
        forward.run(lambda f: (_ for _ in ()).throw(RuntimeError("boom")))
    assert forward.compiled


def test_a_real_compile_gives_the_eager_numbers(capsys) -> None:
    """torch.compile's graph capture and autograd (the aot_eager backend: no C++ compiler
    needed) runs the same step; the guard lets it through."""
    ref_losses, ref_state, _ = _eager_reference()
    model, opt = _model_and_optimizer()
    x, y = _batch()
    torch.manual_seed(5)
    compiler = functools.partial(torch.compile, backend="aot_eager")
    forward = TrainingForward(model, "default", compiler=compiler)
    losses = [forward.run(_step(model, opt, x, y)) for _ in range(2)]
    assert forward.compiled and forward.fallback_reason is None
    for a, b in zip([*losses, *_state(model)], [*ref_losses, *ref_state], strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    assert capsys.readouterr().err == ""


def test_modes_are_checked() -> None:
    assert check_mode("reduce-overhead") == "reduce-overhead"
    with pytest.raises(ValueError, match="compile mode must be one of"):
        TrainingForward(torch.nn.Linear(1, 1), "fast")
    with pytest.raises(ValueError, match="compile_mode must be one of"):
        config_from_overrides("demo", compile_mode="fast")


@pytest.mark.slow  # two small trainings
def test_train_without_a_compiler_equals_the_eager_run(synthetic_faces, tmp_path: Path,
                                                       monkeypatch, capsys) -> None:
    """``train`` with compile_mode set where torch.compile fails: the run finishes with the
    weights of the eager run, and says once why it did not compile."""
    synthetic_faces(tmp_path / "faces" / "ffpp", "ffpp", seed=0)
    common = dict(image_size=32, decoder_channels=(16, 8, 8), epochs=1, samples_per_epoch=None,
                  max_frames_per_video=None, stop_at_val_auc=None, num_threads=1,
                  faces_root=str(tmp_path / "faces"))
    eager = train(config_from_overrides("demo", runs_dir=str(tmp_path / "eager"), **common),
                  progress=False)

    def unavailable(*args, **kwargs):
        raise RuntimeError("torch.compile is not available here")

    monkeypatch.setattr(torch, "compile", unavailable)
    cfg = config_from_overrides("demo", runs_dir=str(tmp_path / "compiled"),
                                compile_mode="reduce-overhead", **common)
    compiled = train(cfg, progress=False)
    assert "torch.compile is not available here" in capsys.readouterr().err
    a, b = (read_checkpoint(d / "last.pt")["model"] for d in (eager, compiled))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
