"""The command line: its commands, notebook paths, and what a person sees when a command fails
(one line, exit 1; usage errors exit 2; Ctrl-C exits 130; tracebacks only with --debug)."""

from __future__ import annotations

import importlib
import os
import re
import shlex
import signal
import subprocess
import sys
import time
import types
import warnings

import pytest

from jdfd_lib import cli
from jdfd_lib.core import errors, paths


@pytest.mark.parametrize("name", list(cli.COMMANDS))
def test_every_command_has_a_working_help(name: str, capsys) -> None:
    """The command's module exposes run() and add_arguments(), whose options render as help
    (argparse formats help text only when asked: a stray % or a bad default fails here)."""
    module = importlib.import_module(cli.COMMANDS[name][0])
    assert callable(module.run) and callable(module.add_arguments)
    with pytest.raises(SystemExit) as exit_info:
        cli.main([name, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: jdfd {name} ") and "--debug" in out


def _readme_command_lines() -> list[list[str]]:
    """The command lines of the README and the docs/ pages."""
    root = paths.project_root()
    text = "\n".join(p.read_text() for p in [root / "README.md", *sorted(root.glob("docs/*.md"))])
    lines = re.findall(r"^\.venv/bin/python -m jdfd_lib (.+)$", text, flags=re.M)
    return [shlex.split(line, comments=True) for line in lines]


def test_the_readme_shows_every_command_and_its_command_lines_parse() -> None:
    lines = _readme_command_lines()
    assert {argv[0] for argv in lines} == set(cli.COMMANDS)
    for argv in lines:
        args = cli.build_parser(argv[0]).parse_args(argv)  # a usage error exits 2 here
        assert args.command == argv[0]


def test_unknown_command_fails() -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["no-such-command"])
    assert exit_info.value.code == cli.EXIT_USAGE


def test_relative_paths_resolve_against_the_project_root(tmp_path, monkeypatch) -> None:
    root = paths.project_root()
    monkeypatch.chdir(root / "notebooks")
    assert paths.resolve("data/demo") == root / "data" / "demo"
    assert paths.resolve(tmp_path) == tmp_path
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(paths.ROOT_ENV, raising=False)
    with pytest.raises(FileNotFoundError, match="JDFD_ROOT"):
        paths.project_root()


# ----------------------------------------------------------------------------- errors
def _jdfd(*args: str, env: dict | None = None, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "jdfd_lib", *args], capture_output=True,
                          text=True, cwd=paths.project_root(),
                          env={**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})}, **kw)


@pytest.fixture
def fake_command(monkeypatch):
    """A command ``boom`` whose run() raises what ``fake_command.raises`` holds."""
    module = types.ModuleType("jdfd_test_boom")
    module.add_arguments = lambda parser: parser.add_argument("--n", type=errors.positive_int)

    def run(args):
        assert errors.current_command() == "boom"
        raise module.raises

    module.run = run
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setitem(cli.COMMANDS, "boom", (module.__name__, "raises on purpose"))
    monkeypatch.delenv(cli.DEBUG_ENV, raising=False)
    return module


def test_a_user_error_is_one_line_and_exit_1(fake_command, capsys) -> None:
    fake_command.raises = errors.UserError("data/x.csv: empty file;\n expected one row per video")
    assert cli.main(["boom"]) == 1
    err = capsys.readouterr().err
    assert err == "jdfd boom: error: data/x.csv: empty file; expected one row per video\n"


def test_a_bug_says_internal_error_and_points_to_debug(fake_command, capsys) -> None:
    fake_command.raises = TypeError("unsupported operand")
    assert cli.main(["boom"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "internal error (TypeError" in err and "--debug" in err


@pytest.mark.parametrize("how", ["flag-before", "flag-after", "env"])
def test_debug_shows_the_traceback(fake_command, capsys, monkeypatch, how) -> None:
    fake_command.raises = errors.UserError("x.pt: bad")
    argv = {"flag-before": ["--debug", "boom"], "flag-after": ["boom", "--debug"],
            "env": ["boom"]}[how]
    if how == "env":
        monkeypatch.setenv(cli.DEBUG_ENV, "1")
    assert cli.main(argv) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and err.rstrip().endswith("jdfd boom: error: x.pt: bad")


def test_ctrl_c_exits_130_without_traceback(fake_command, capsys) -> None:
    fake_command.raises = KeyboardInterrupt()
    assert cli.main(["boom"]) == 130
    assert capsys.readouterr().err == f"jdfd boom: {cli.INTERRUPTED}\n"


def test_usage_error_exits_2_naming_the_flag(fake_command, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["boom", "--n", "0"])
    assert exit_info.value.code == 2
    assert "jdfd boom: error: argument --n: expected a positive integer, got 0" in (
        capsys.readouterr().err)


def test_option_names_the_flag_only_under_the_cli(fake_command, capsys) -> None:
    assert errors.option("force=True", "--force") == "force=True"

    def run(args):
        raise errors.UserError(errors.option("force=True", "--force"))

    fake_command.run = run
    cli.main(["boom"])
    assert capsys.readouterr().err.strip().endswith("error: --force")


def test_warnings_are_one_line_under_the_cli(fake_command, capsys) -> None:
    def run(args):
        warnings.warn("data/FF++: 3 videos are in no official split", stacklevel=1)
        return 0

    fake_command.run = run
    assert cli.main(["boom"]) == 0
    assert capsys.readouterr().err == (
        "jdfd boom: warning: data/FF++: 3 videos are in no official split\n")


def test_a_real_command_error_is_one_line(tmp_path) -> None:
    missing = tmp_path / "committed.json"
    res = _jdfd("check-results", "--expected", str(missing), "--actual", str(missing))
    assert res.returncode == 1, res.stderr
    assert res.stderr.startswith("jdfd check-results: error: ") and str(missing) in res.stderr
    assert res.stderr.count("\n") == 1 and "Traceback" not in res.stderr
    debug = _jdfd("check-results", "--expected", str(missing), "--actual", str(missing),
                  env={cli.DEBUG_ENV: "1"})
    assert debug.returncode == 1 and "Traceback" in debug.stderr


@pytest.mark.parametrize("sig, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_stop_during_a_long_command_is_one_line(tmp_path, sig, status: int) -> None:
    """A real Ctrl-C (SIGINT) or a scheduler's stop (SIGTERM, handled alike) while demo-data
    renders: one line, status 130 or 143, no traceback."""
    proc = subprocess.Popen([sys.executable, "-m", "jdfd_lib", "demo-data", "--out",
                             str(tmp_path / "demo"), "--size", "small"],
                            cwd=paths.project_root(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "HF_HUB_OFFLINE": "1", "TQDM_DISABLE": "1"},
                            # as from a terminal: a suite started in the background (`cmd &`
                            # in a script) passes SIGINT on ignored, and Python keeps it so
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    while not (tmp_path / "demo").exists() and time.monotonic() < deadline:
        time.sleep(0.2)  # the command has started writing: it is inside run()
    time.sleep(1.0)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == status, err
    assert err.strip().splitlines()[-1] == f"jdfd demo-data: {cli.INTERRUPTED}"
    assert "Traceback" not in err
