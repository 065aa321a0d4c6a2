"""One place for the profile and its folders (issue: the notebooks in JupyterLab): explicit
values, then the environment, then jdfd.env, then the profile's defaults; a results folder
of another profile is refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jdfd_lib.core import settings as S
from jdfd_lib.core.errors import UserError


@pytest.fixture
def project(tmp_path: Path, monkeypatch) -> Path:
    """An empty project root with no settings in the environment."""
    (tmp_path / "jdfd_lib").mkdir()
    (tmp_path / "pyproject.toml").write_text("")
    monkeypatch.setenv("JDFD_ROOT", str(tmp_path))
    for var in (*S.KEYS.values(), S.SETTINGS_ENV):
        monkeypatch.delenv(var, raising=False)
    return tmp_path


def test_defaults_follow_the_profile(project: Path) -> None:
    demo = S.resolve_settings()
    assert (demo.profile, demo.data_root, demo.faces_root, demo.runs_dir, demo.results_dir) == (
        "demo", "data/demo", "data/demo_faces", "runs", "results/demo")
    assert set(demo.sources.values()) == {"default"}
    assert demo.results == project / "results" / "demo"
    paper = S.resolve_settings("paper", data_root="/datasets")
    assert (paper.faces_root, paper.results_dir) == ("data/paper_faces", "results/paper")
    assert paper.sources["data_root"] == "explicit" and paper.data == Path("/datasets")


def test_paper_profile_needs_its_data_folder(project: Path) -> None:
    with pytest.raises(UserError, match="paper profile needs the datasets' folder: set "
                                        "JDFD_DATA_ROOT in .*jdfd.env"):
        S.resolve_settings("paper")


def test_explicit_beats_environment_beats_file(project: Path, monkeypatch) -> None:
    (project / "jdfd.env").write_text(
        "# my machine\nJDFD_PROFILE=paper\nexport JDFD_DATA_ROOT='/mnt/deep fakes'  # quoted\n"
        "\nJDFD_RUNS_DIR=/scratch/runs\n")
    s = S.resolve_settings()
    assert (s.profile, s.data_root, s.runs_dir, s.results_dir) == (
        "paper", "/mnt/deep fakes", "/scratch/runs", "results/paper")
    assert s.sources["profile"] == "jdfd.env" and s.sources["results_dir"] == "default"
    monkeypatch.setenv("JDFD_RUNS_DIR", "/fast/runs")
    assert S.resolve_settings().runs_dir == "/fast/runs"
    assert S.resolve_settings(runs_dir="runs2").runs_dir == "runs2"
    demo = S.resolve_settings("demo")  # explicit profile: the file's data folder still applies
    assert demo.data_root == "/mnt/deep fakes" and demo.results_dir == "results/demo"
    assert "JDFD_RUNS_DIR" in str(S.resolve_settings())


def test_another_settings_file_and_bad_lines(project: Path, monkeypatch) -> None:
    other = project / "other.env"
    other.write_text("JDFD_PROFILE=paper\nJDFD_DATA_ROOT=/d\n")
    monkeypatch.setenv(S.SETTINGS_ENV, str(other))
    assert S.resolve_settings().profile == "paper"
    other.write_text("JDFD_PROFILE=paper\nDATA=/d\n")
    with pytest.raises(UserError, match=r"other.env:2: expected KEY=VALUE with KEY one of "
                                        r"JDFD_PROFILE, .*got 'DATA=/d'"):
        S.resolve_settings()
    other.write_text("JDFD_PROFILE=papr\n")
    with pytest.raises(UserError, match="profile 'papr' \\(from other.env\\): expected one of"):
        S.resolve_settings()
    monkeypatch.setenv(S.SETTINGS_ENV, str(project / "absent.env"))
    with pytest.raises(UserError, match="absent.env: settings file not found"):
        S.resolve_settings()


def test_results_of_another_profile_are_refused(project: Path) -> None:
    with pytest.raises(UserError, match="results folder results/demo .*holds demo-profile "
                                        "results, but the profile is paper"):
        S.resolve_settings("paper", data_root="/d", results_dir="results/demo")
    mine = project / "results" / "mine"
    mine.mkdir(parents=True)
    assert S.resolve_settings("paper", data_root="/d", results_dir="results/mine")
    (mine / "run_record.json").write_text(json.dumps(
        {"stages": {"02_train": {"seconds": 1.0, "profile": "demo"}}}))
    with pytest.raises(UserError, match="results/mine .*holds demo-profile results"):
        S.resolve_settings("paper", data_root="/d", results_dir="results/mine")
    assert S.resolve_settings("demo", results_dir="results/mine").results == mine


def test_shell_lines_are_quoted(project: Path) -> None:
    s = S.resolve_settings("paper", data_root="/mnt/deep fakes")
    assert "DATA_ROOT='/mnt/deep fakes'" in s.shell().splitlines()
    assert s.shell().splitlines()[0] == "PROFILE=paper"


def test_a_binary_settings_file_and_a_file_as_a_folder_are_named(project: Path,
                                                                 monkeypatch) -> None:
    (project / "jdfd.env").write_bytes(b"JDFD_PROFILE=demo\n\xff\xfe\x00binary")
    with pytest.raises(UserError, match=r"jdfd.env: not a text settings file \(invalid start "
                                        r"byte at byte \d+\); expected KEY=VALUE lines"):
        S.resolve_settings()
    (project / "jdfd.env").unlink()
    (project / "datasets.tar").write_text("not a folder")
    monkeypatch.setenv("JDFD_DATA_ROOT", str(project / "datasets.tar"))
    with pytest.raises(UserError, match=r"datasets.tar \(data_root, from JDFD_DATA_ROOT\): a "
                                        r"file; expected a folder"):
        S.resolve_settings()


def test_settings_says_who_reads_them(project: Path, capsys) -> None:
    import argparse

    parser = argparse.ArgumentParser()
    S.add_arguments(parser)
    assert S.run(parser.parse_args([])) == 0
    out = capsys.readouterr().out
    assert "  faces_root   ./run_all.sh, every notebook, train (without --faces-root)" in out
    assert "  data_root    ./run_all.sh, every notebook\n" in out
    assert "take their folders from their own flags only" in out


@pytest.mark.parametrize("where", ["file", "environment"])
def test_train_honours_the_folders_settings_lists(project: Path, monkeypatch, capsys,
                                                  synthetic_faces, where: str) -> None:
    """The issue's case: JDFD_FACES_ROOT and JDFD_RUNS_DIR in jdfd.env were listed as in
    force while ``train`` read data/demo_faces. Each command that settings names for a
    value (COMMAND_DEFAULTS) takes it when its flag is not given; a flag still wins."""
    from jdfd_lib import cli

    synthetic_faces(project / "elsewhere" / "faces" / "ffpp", "ffpp")
    values = {"JDFD_FACES_ROOT": "elsewhere/faces", "JDFD_RUNS_DIR": "elsewhere/runs"}
    if where == "file":
        (project / "jdfd.env").write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    else:
        for key, value in values.items():
            monkeypatch.setenv(key, value)
    monkeypatch.chdir(project / "elsewhere")  # relative settings: to the project root
    assert set(S.COMMAND_DEFAULTS) == {"faces_root", "runs_dir"}
    argv = ["train", "--profile", "demo", "--train-dataset", "ffpp", "--epochs", "1",
            "--no-progress", "--set", "image_size=32", "--set", "decoder_channels=16,8,8",
            "--set", "samples_per_epoch=16", "--set", "num_threads=1"]
    assert cli.main(argv) == 0
    out, err = capsys.readouterr()
    source = "jdfd.env" if where == "file" else "JDFD_FACES_ROOT"
    assert f"faces_root {project / 'elsewhere' / 'faces'} ({source})" in err
    run = project / "elsewhere" / "runs" / "demo-jdfd-ffpp-u00-s0"
    assert out.strip() == str(run) and (run / "best.pt").is_file()
    assert not (project / "data").exists() and not (project / "runs").exists()
    # an explicit flag wins, relative to the working directory as any typed path
    assert cli.main([*argv, "--runs-dir", "mine"]) == 0
    assert (project / "elsewhere" / "mine" / "demo-jdfd-ffpp-u00-s0" / "best.pt").is_file()


def test_outside_a_project_a_default_folder_says_so(tmp_path: Path, monkeypatch) -> None:
    for var in (*S.KEYS.values(), S.SETTINGS_ENV, "JDFD_ROOT"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    folder, source = S.command_folder("runs_dir", "demo")
    assert folder == Path("runs") and "relative to the working directory: no jdfd project" in source
