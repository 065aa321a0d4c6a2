"""Paths as result files record them (:mod:`jdfd_lib.core.paths`): relative to the project
root, as the user gave them, whatever links they pass through."""

from __future__ import annotations

from pathlib import Path

import pytest

from jdfd_lib.core.paths import portable, project_root, resolve


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "repo"
    (root / "jdfd_lib").mkdir(parents=True)
    (root / "pyproject.toml").write_text("")
    monkeypatch.delenv("JDFD_ROOT", raising=False)
    monkeypatch.chdir(root / "jdfd_lib")  # as JupyterLab does from notebooks/
    return root


def test_root_is_found_from_below_and_relative_paths_resolve_against_it(project) -> None:
    assert project_root() == project.resolve()
    assert resolve("data/demo") == project.resolve() / "data/demo"


def test_a_linked_data_folder_is_recorded_as_given(project, tmp_path) -> None:
    """data/ linked to a disk elsewhere stays data/... (it used to become the link's target,
    an absolute path of one machine, in every metrics JSON)."""
    elsewhere = tmp_path / "big-disk" / "faces"
    elsewhere.mkdir(parents=True)
    (project / "data").symlink_to(tmp_path / "big-disk")
    assert portable(project / "data" / "faces") == "data/faces"
    assert portable(resolve("data/faces")) == "data/faces"


def test_paths_outside_the_project_stay_as_they_are(project, tmp_path) -> None:
    outside = tmp_path / "elsewhere" / "faces"
    assert portable(outside) == str(outside)
    assert portable(project / "runs" / "x" / "best.pt") == "runs/x/best.pt"
    # written outside, but inside once a link is followed: the project-relative form
    (tmp_path / "alias").symlink_to(project)
    assert portable(tmp_path / "alias" / "runs") == "runs"


@pytest.mark.parametrize("name", ["..", ".", "", "a/b", "../x", "a\\b", "nul\0", 3])
def test_a_writer_refuses_a_name_that_is_a_path(tmp_path: Path, name) -> None:
    from jdfd_lib.core.paths import inside

    with pytest.raises(ValueError, match=rf"{tmp_path}: refusing to write under the name"):
        inside(tmp_path, "crops", name)
    assert inside(tmp_path, "crops", "..a", "v.json") == tmp_path / "crops" / "..a" / "v.json"
