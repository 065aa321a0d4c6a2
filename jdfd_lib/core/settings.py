"""Where a profile's data, crops, runs and results live: one place for every notebook.

The notebooks and ``run_all.sh`` read the same settings, so "paper profile, datasets at DIR"
is stated once. Each value comes from the first of:

1. an explicit value: a notebook parameter that is not ``None``, a ``run_all.sh`` flag;
2. the environment: ``JDFD_PROFILE``, ``JDFD_DATA_ROOT``, ``JDFD_FACES_ROOT``,
   ``JDFD_RUNS_DIR``, ``JDFD_RESULTS_DIR``;
3. the settings file ``jdfd.env`` at the project root (or the file ``JDFD_SETTINGS`` names):
   ``KEY=VALUE`` lines with the same keys, ``#`` comments (not tracked by git);
4. the profile's defaults: ``demo``; data ``data/demo`` (generated) for the demo, none for the
   others (their datasets are yours to point at); crops
   ``data/<profile>_faces``; runs
   ``runs``; results ``results/<profile>``.

Relative paths are relative to the project root (:mod:`jdfd_lib.core.paths`). A results
folder of another profile is refused: ``results/demo`` holds the committed demo results, and
a paper-profile run must not write its tables over them.
"""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from jdfd_lib.core.config import PROFILES, default_faces_root
from jdfd_lib.core.errors import UserError, option
from jdfd_lib.core.paths import project_root, resolve

SETTINGS_FILE = "jdfd.env"  # at the project root; git-ignored
SETTINGS_ENV = "JDFD_SETTINGS"  # another settings file
KEYS = {"profile": "JDFD_PROFILE", "data_root": "JDFD_DATA_ROOT",
        "faces_root": "JDFD_FACES_ROOT", "runs_dir": "JDFD_RUNS_DIR",
        "results_dir": "JDFD_RESULTS_DIR"}


@dataclass(frozen=True)
class Settings:
    """A profile's folders, as given (relative to the project root unless absolute), and
    where each value came from ("explicit", "environment", the settings file, "default")."""

    profile: str
    data_root: str
    faces_root: str
    runs_dir: str
    results_dir: str
    sources: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def data(self) -> Path:
        """The datasets' folder (FaceForensics++/, Celeb-DF-v2/, UADFV/, ...)."""
        return resolve(self.data_root)

    @property
    def faces(self) -> Path:
        """The prepared face crops, one folder per dataset key."""
        return resolve(self.faces_root)

    @property
    def runs(self) -> Path:
        """Checkpoints and training logs, one folder per run name."""
        return resolve(self.runs_dir)

    @property
    def results(self) -> Path:
        """Tables, figures and metric files of this profile."""
        return resolve(self.results_dir)

    def __str__(self) -> str:
        return "\n".join(f"{name:<12} {getattr(self, name)!s:<32} ({self.sources.get(name, '')})"
                         for name in KEYS)

    def shell(self) -> str:
        """``NAME=value`` lines (shell-quoted) for ``run_all.sh``."""
        return "\n".join(f"{name.upper()}={shlex.quote(str(getattr(self, name)))}"
                         for name in KEYS)


def settings_file() -> Path:
    """The settings file: ``$JDFD_SETTINGS``, else ``jdfd.env`` at the project root."""
    if os.environ.get(SETTINGS_ENV):
        return Path(os.environ[SETTINGS_ENV]).expanduser()
    return project_root() / SETTINGS_FILE


def read_settings_file(path: str | os.PathLike) -> dict[str, str]:
    """The ``KEY=VALUE`` lines of a settings file (blank lines and ``#`` comments skipped;
    values may be quoted as in a shell). A missing file holds no settings.

    Raises:
        UserError: a line is not ``KEY=VALUE`` with one of the known keys (names the file
            and line).
    """
    path = Path(path)
    if not path.is_file():
        if os.environ.get(SETTINGS_ENV):
            raise UserError(f"{path}: settings file not found ({SETTINGS_ENV} names it)")
        return {}
    known = {v: k for k, v in KEYS.items()}
    out = {}
    try:
        text_lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as err:
        raise UserError(f"{path}: not a text settings file ({err.reason} at byte {err.start}); "
                        f"expected KEY=VALUE lines") from None
    for number, line in enumerate(text_lines, 1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        key, sep, value = text.removeprefix("export ").partition("=")
        key = key.strip()
        if not sep or key not in known:
            raise UserError(f"{path}:{number}: expected KEY=VALUE with KEY one of "
                            f"{', '.join(known)}, got {text!r}")
        try:
            words = shlex.split(value, comments=True)
        except ValueError as err:
            raise UserError(f"{path}:{number}: {err} in {text!r}") from None
        out[known[key]] = " ".join(words)
    return out


def _defaults(profile: str) -> dict[str, str | None]:
    return {"data_root": "data/demo" if profile == "demo" else None,
            "faces_root": default_faces_root(profile), "runs_dir": "runs",
            "results_dir": f"results/{profile}"}


def _given(name: str, explicit: str | os.PathLike | None, env: Mapping[str, str],
           file: Path | None, from_file: Mapping[str, str]) -> tuple[str, str] | None:
    """(value, source) of the first of the explicit value, the environment, the file."""
    for value, source in ((explicit, "explicit"), (env.get(KEYS[name]) or None, KEYS[name]),
                          (from_file.get(name), file.name if file else "")):
        if value is not None:
            return str(value), source
    return None


# The commands that take a folder from these settings when its flag is not given; every
# other command takes its folders from its own flags only. ``settings`` prints this, and
# tests/test_settings.py runs each command to check it honours what is listed here.
COMMAND_DEFAULTS: dict[str, tuple[tuple[str, str], ...]] = {
    "faces_root": (("train", "--faces-root"),), "runs_dir": (("train", "--runs-dir"),)}


def command_folder(name: str, profile: str, given: str | os.PathLike | None = None,
                   environ: Mapping[str, str] | None = None) -> tuple[Path, str]:
    """The folder ``name`` (a key of :data:`COMMAND_DEFAULTS`) a command uses, and where it
    comes from: the command's flag (relative to the working directory, as any path typed
    on a command line), else the environment, the settings file or the profile's default
    (relative to the project root, as for the notebooks).

    Outside a jdfd project (no project root above the working directory and no
    ``JDFD_ROOT``) no ``jdfd.env`` exists to read, and a default is taken relative to the
    working directory; the source says so.

    Raises:
        UserError: the settings file is unreadable, or names a file where a folder is meant.
    """
    if given is not None:
        return Path(given), "explicit"
    env = os.environ if environ is None else environ
    try:
        file = settings_file()
    except FileNotFoundError:  # no project: only a file JDFD_SETTINGS names
        file = None
    found = _given(name, None, env, file, read_settings_file(file) if file else {})
    if found is None:
        found = _defaults(profile)[name], "default"
    value, source = found
    if file is None and not Path(value).expanduser().is_absolute():
        return Path(value), f"{source}, relative to the working directory: no jdfd project here"
    path = resolve(value)
    if path.is_file():
        raise UserError(f"{value} ({name}, from {source}): a file; expected a folder")
    return path, source


def resolve_settings(profile: str | None = None, data_root: str | os.PathLike | None = None,
                     faces_root: str | os.PathLike | None = None,
                     runs_dir: str | os.PathLike | None = None,
                     results_dir: str | os.PathLike | None = None,
                     environ: Mapping[str, str] | None = None) -> Settings:
    """The settings in force: explicit values, then the environment, then the settings file,
    then the profile's defaults (module docstring).

    Raises:
        UserError: an unknown profile; the paper profile without a data folder; a results
            folder that belongs to another profile (by its name, or by the profile its
            ``run_record.json`` or ``metrics.json`` records).
    """
    env = os.environ if environ is None else environ
    file = settings_file()
    from_file = read_settings_file(file)
    explicit = {"profile": profile, "data_root": data_root, "faces_root": faces_root,
                "runs_dir": runs_dir, "results_dir": results_dir}
    values, sources = {}, {}
    for name in KEYS:
        found = _given(name, explicit[name], env, file, from_file)
        if found is not None:
            values[name], sources[name] = found
        if name == "profile":
            values.setdefault("profile", "demo")
            sources.setdefault("profile", "default")
            if values["profile"] not in PROFILES:
                raise UserError(f"profile {values['profile']!r} (from {sources['profile']}): "
                                f"expected one of {', '.join(PROFILES)}")
            defaults = _defaults(values["profile"])
        elif name not in values:
            values[name], sources[name] = defaults[name], "default"
    if values["data_root"] is None:
        raise UserError(f"the {values['profile']} profile needs the datasets' folder: set "
                        f"{KEYS['data_root']}"
                        f" in {file} or the environment (docs/running.md: Settings), or pass "
                        f"{option('DATA_ROOT', '--data-root')}")
    settings = Settings(**values, sources=sources)
    for name in ("data_root", "faces_root", "runs_dir", "results_dir"):
        if resolve(values[name]).is_file():  # a folder is meant; a file would fail later
            raise UserError(f"{values[name]} ({name}, from {sources[name]}): a file; expected "
                            f"a folder")
    check_results_profile(settings)
    return settings


def results_profile(results_dir: str | os.PathLike) -> str | None:
    """The profile that wrote a results folder, from its ``run_record.json`` or
    ``metrics.json`` (None for a new or empty folder)."""
    folder = resolve(results_dir)
    record, metrics = folder / "run_record.json", folder / "metrics.json"
    profiles = set()
    if record.is_file():  # run_all.sh records each stage's profile
        stages = json.loads(record.read_text()).get("stages", {})
        profiles = {s.get("profile") for s in stages.values()} - {None}
    if not profiles and metrics.is_file():
        profiles = {r.get("profile") for r in json.loads(metrics.read_text())} - {None}
    return str(sorted(profiles)[0]) if len(profiles) == 1 else None


def check_results_profile(settings: Settings) -> None:
    """Refuse a results folder of another profile (see :func:`resolve_settings`)."""
    named = Path(settings.results_dir).name
    found = named if named in PROFILES else results_profile(settings.results_dir)
    if found is not None and found != settings.profile:
        raise UserError(
            f"results folder {settings.results_dir} (from {settings.sources.get('results_dir')}) "
            f"holds {found}-profile results, but the profile is {settings.profile} (from "
            f"{settings.sources.get('profile')}): writing there would mix or overwrite them; "
            f"leave RESULTS_DIR unset (results/{settings.profile}) or choose another folder")


# Notebooks of a study that runs under one profile only (faces: real DFDC crops); every other
# notebook belongs to the paper's study, run under the demo and paper profiles.
PROFILE_NOTEBOOKS: dict[str, tuple[str, ...]] = {"faces": ("08_real_faces",),
                                                 "faces_paper": ("08_real_faces",)}


def profile_notebooks(profile: str, names: list[str] | None = None) -> list[str]:
    """The notebooks ``run_all.sh`` runs for ``profile``, in order (``names``: the notebook
    stems to choose from; default: ``notebooks/NN_*.ipynb`` of the project)."""
    if names is None:
        names = sorted(p.stem for p in (project_root() / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    own = PROFILE_NOTEBOOKS.get(profile)
    if own is not None:
        return [n for n in names if n in own]
    claimed = {n for group in PROFILE_NOTEBOOKS.values() for n in group}
    return [n for n in names if n not in claimed]


def add_arguments(parser) -> None:
    """Options of ``python -m jdfd_lib settings`` (each overrides the environment and file)."""
    for name in KEYS:
        parser.add_argument(f"--{name.replace('_', '-')}", dest=name,
                            help=f"explicit {name} (else {KEYS[name]}, the settings file, "
                                 f"the profile's default)")
    parser.add_argument("--shell", action="store_true",
                        help="print NAME=value lines for a shell (run_all.sh reads them)")
    parser.add_argument("--notebooks", action="store_true",
                        help="print the notebooks the profile runs, one per line (run_all.sh)")


def who_reads() -> str:
    """Which value each reader honours (:data:`COMMAND_DEFAULTS`), for ``settings``."""
    lines = ["who reads them:"]
    for name in KEYS:
        readers = ["./run_all.sh", "every notebook", *(
            f"{c} (without {flag})" for c, flag in COMMAND_DEFAULTS.get(name, ()))]
        lines.append(f"  {name:<12} {', '.join(readers)}")
    lines.append("the other commands (prepare, evaluate, detect, report, ...) take their folders "
                 "from their own flags only")
    return "\n".join(lines)


def run(args) -> int:
    """Print the settings in force, where each value comes from, and who reads them."""
    s = resolve_settings(**{name: getattr(args, name) for name in KEYS})
    if args.notebooks:
        print("\n".join(profile_notebooks(s.profile)))
    elif args.shell:
        print(s.shell())
    else:
        print(f"settings file: {settings_file()}\n{s}\n\n{who_reads()}")
    return 0
