"""pyproject.toml (pip) and environment.yml (conda) must name the same packages."""

from __future__ import annotations

import re
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the same parser, installed as tomli (dev extra)
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]

# pip name -> conda name, where the two registries call one package differently.
PIP_TO_CONDA = {
    "torch": "pytorch",
    "dlib-bin": "dlib",
    "opencv-python-headless": "opencv",
}
CONDA_ONLY = {"python", "pip"}


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _pip_names() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = project["dependencies"] + project["optional-dependencies"]["dev"]
    return {PIP_TO_CONDA.get(_name(r), _name(r)) for r in reqs}


def _conda_names() -> set[str]:
    deps = (ROOT / "environment.yml").read_text().split("dependencies:", 1)[1]
    names = set()
    for line in deps.splitlines():
        m = re.match(r"^\s*-\s+([A-Za-z0-9_.\-]+)", line.split("#")[0])
        if m and m.group(1) != "-e":
            names.add(_name(m.group(1)))
    return names - CONDA_ONLY


def test_same_packages_in_pyproject_and_environment() -> None:
    pip, conda = _pip_names(), _conda_names()
    assert pip == conda, f"only in pyproject: {pip - conda}; only in environment.yml: {conda - pip}"


def test_environment_takes_dlib_from_conda_forge() -> None:
    text = (ROOT / "environment.yml").read_text()
    assert "conda-forge" in text and re.search(r"^\s*-\s+dlib\b", text, re.M)


def test_constraints_pin_every_dependency_within_pyproject_ranges() -> None:
    """constraints.txt (the exact environment bootstrap.sh builds) fits pyproject.toml."""
    from packaging.requirements import Requirement

    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, sep, version = line.partition("==")
            assert sep and version and "+" not in version, f"not an exact pin: {line!r}"
            assert _name(name) not in pins, f"pinned twice: {name}"
            pins[_name(name)] = version
    assert "jdfd" not in pins
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for text in project["dependencies"] + project["optional-dependencies"]["dev"]:
        req = Requirement(text)
        if req.marker is not None and not req.marker.evaluate({"python_version": "3.11"}):
            continue  # the pins are resolved for CPython 3.11
        name = _name(req.name)
        assert name in pins, f"{name} is not pinned in constraints.txt"
        assert req.specifier.contains(pins[name], prereleases=True), \
            f"{name}=={pins[name]} is outside pyproject's {req.specifier}"
