"""The command line lists the pipeline's commands and resolves notebook paths."""

from __future__ import annotations

import subprocess
import sys

import pytest

from jdfd_lib import cli, paths


def test_help_lists_every_command() -> None:
    out = subprocess.run([sys.executable, "-m", "jdfd_lib", "--help"], capture_output=True,
                         text=True, check=True).stdout
    for name in cli.COMMANDS:
        assert name in out


def test_unknown_command_fails() -> None:
    with pytest.raises(SystemExit):
        cli.main(["no-such-command"])


def test_relative_paths_resolve_against_the_project_root(tmp_path, monkeypatch) -> None:
    root = paths.project_root()
    monkeypatch.chdir(root / "notebooks")
    assert paths.resolve("data/demo") == root / "data" / "demo"
    assert paths.resolve(tmp_path) == tmp_path
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(paths.ROOT_ENV, raising=False)
    with pytest.raises(FileNotFoundError, match="JDFD_ROOT"):
        paths.project_root()
