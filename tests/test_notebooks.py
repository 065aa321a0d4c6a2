"""The notebooks keep to their contract: parameters first, thin code, results checked by nbval.

The .ipynb files in notebooks/ are the source (edited in JupyterLab, linted by ruff): they
are kept clean (scripts/clean_notebooks.py), share their common parameters line for line,
and the executed copies in results/demo/notebooks must come from them as they are now.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from jdfd_lib.core.settings import profile_notebooks

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
# the paper study's notebooks, run by ./run_all.sh on the demo (08 is the faces profile's)
DEMO_NOTEBOOKS = [ROOT / "notebooks" / f"{n}.ipynb" for n in profile_notebooks("demo")]
COMMON = {"PROFILE", "DATA_ROOT", "FACES_ROOT", "RUNS_DIR", "RESULTS_DIR"}
CLEANER = ROOT / "scripts" / "clean_notebooks.py"


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text())["cells"]


def _code(cell: dict) -> str:
    src = cell["source"]
    return "".join(src) if isinstance(src, list) else src


def test_notebooks_are_numbered_in_order() -> None:
    names = [p.stem for p in NOTEBOOKS]
    assert [n[:2] for n in names] == [f"{i:02d}" for i in range(len(names))]
    assert len(names) == 9


def test_each_profile_runs_its_own_notebooks() -> None:
    """run_all.sh runs 00-07 for the paper's study (demo, paper) and 08 for the real faces."""
    names = [p.stem for p in NOTEBOOKS]
    assert profile_notebooks("demo") == profile_notebooks("paper") == names[:8]
    assert profile_notebooks("faces") == ["08_real_faces"]
    script = (ROOT / "run_all.sh").read_text()
    assert "jdfd_lib settings --notebooks" in script


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_parameters_cell_is_flat_upper_case_and_commented(path: Path) -> None:
    cells = _cells(path)
    assert cells[0]["cell_type"] == "markdown", "a notebook opens with what it reproduces"
    first_code = next(c for c in cells if c["cell_type"] == "code")
    assert "parameters" in first_code["metadata"].get("tags", [])
    tree = ast.parse(_code(first_code))
    names = set()
    for node in tree.body:
        assert isinstance(node, ast.Assign), "parameters are plain assignments"
        name = node.targets[0].id
        assert name.isupper(), name
        names.add(name)
    assert COMMON <= names, f"run_all.sh passes {COMMON - names}"
    for line in _code(first_code).splitlines():
        assert "#" in line, f"parameter without a comment (units, paper section): {line}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_code_is_thin(path: Path) -> None:
    for cell in _cells(path):
        if cell["cell_type"] != "code":
            continue
        tree = ast.parse(_code(cell))
        for node in ast.walk(tree):
            assert not isinstance(node, ast.FunctionDef | ast.ClassDef), "logic belongs in jdfd_lib"
            if isinstance(node, ast.ImportFrom):
                assert node.module and not node.module.startswith("sklearn"), "no metric code"


def test_exact_checks_only_where_outputs_are_machine_independent() -> None:
    """nbval compares the data and extraction summaries exactly (they reproduce byte for
    byte); trained numbers differ between processors, so no training notebook has an exactly
    compared cell, and run_tests.sh compares them with check-results within the seeds'
    spread instead."""
    checked = {p.stem for p in NOTEBOOKS for c in _cells(p)
               if "nbval-check-output" in c.get("metadata", {}).get("tags", [])}
    assert {"00_demo_data", "01_preprocess"} <= checked
    assert not checked & {"02_train", "03_cross_dataset", "04_decoder_ablation",
                          "05_unlabeled_augmentation", "06_detector_comparison",
                          "07_explore"}
    script = (ROOT / "run_tests.sh").read_text()
    assert "jdfd_lib check-results" in script and "--nbval-lax" in script


def _parameters(path: Path) -> str:
    return _code(next(c for c in _cells(path) if c["cell_type"] == "code"))


def test_common_parameters_are_the_same_line_in_every_notebook() -> None:
    """run_all.sh passes the common parameters to every notebook; their defaults, comments
    included, are written out in each parameters cell and must not drift apart."""
    def common_lines(path: Path) -> list[str]:
        lines = _parameters(path).splitlines()
        return [line for line in lines if line.split("=")[0].strip() in COMMON]

    first = NOTEBOOKS[0]
    expected = common_lines(first)
    assert {line.split("=")[0].strip() for line in expected} == COMMON
    for path in NOTEBOOKS[1:]:
        assert common_lines(path) == expected, (
            f"the common parameters of notebooks/{path.name} differ from notebooks/{first.name}")


def test_every_notebook_resolves_its_settings_the_same_way() -> None:
    """Right after the parameters, every notebook resolves the profile and its folders with
    the one settings resolver that run_all.sh uses too (jdfd_lib.core.settings), so a
    parameter left None means the same in all of them."""
    cells = []
    for path in NOTEBOOKS:
        code = [c for c in _cells(path) if c["cell_type"] == "code"]
        assert "parameters" in code[0]["metadata"].get("tags", []), path.name
        cells.append(_code(code[1]))
        assert all("= None" in line for line in _parameters(path).splitlines()
                   if line.split("=")[0].strip() in COMMON), path.name
    assert "resolve_settings(PROFILE, DATA_ROOT, FACES_ROOT, RUNS_DIR, RESULTS_DIR)" in cells[0]
    assert len(set(cells)) == 1, "the settings cells differ"
    assert "jdfd_lib settings --shell" in (ROOT / "run_all.sh").read_text()


def _load_cleaner():
    spec = importlib.util.spec_from_file_location("clean_notebooks", CLEANER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_source_notebooks_are_clean() -> None:
    result = subprocess.run([sys.executable, str(CLEANER), "--check"], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_clean_notebooks_cleans_a_dirty_copy_back_to_the_source(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """What JupyterLab and papermill add (outputs, counts, timings, widget state, the
    interpreter's version) is removed; ids, sources and tags stay, byte for byte."""
    cleaner = _load_cleaner()
    source = NOTEBOOKS[2]
    nb = json.loads(source.read_text(encoding="utf-8"))
    code_cells = [i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code"]
    dirty_cell = code_cells[1]
    nb["cells"][dirty_cell]["outputs"] = [
        {"name": "stdout", "output_type": "stream", "text": ["run name\n"]}]
    nb["cells"][dirty_cell]["execution_count"] = 3
    nb["cells"][dirty_cell]["metadata"]["execution"] = {"iopub.status.idle": "2026-01-01"}
    nb["cells"][0]["metadata"]["tags"] = []
    nb["metadata"]["widgets"] = {"application/vnd.jupyter.widget-state+json": {}}
    nb["metadata"]["language_info"]["version"] = "3.11.9"
    dirty = tmp_path / source.name
    dirty.write_text(json.dumps(nb, indent=2), encoding="utf-8")

    assert cleaner.main(["--check", str(dirty)]) == 1
    err = capsys.readouterr().err
    assert f"{dirty}: " in err and "run scripts/clean_notebooks.py" in err
    assert f"cell {dirty_cell + 1} has outputs" in err
    for what in ("execution count", "metadata execution", "empty tag list", "widgets",
                 "language_info"):
        assert what in err, what

    assert cleaner.main([str(dirty)]) == 0
    assert dirty.read_bytes() == source.read_bytes()
    assert cleaner.main(["--check", str(dirty)]) == 0
    assert cleaner.main([str(dirty)]) == 0  # idempotent: a clean notebook is not rewritten
    assert dirty.read_bytes() == source.read_bytes()


def _defined(cell: dict) -> tuple[str, str, list[str]]:
    """What the source defines of a cell and papermill keeps: its type, source and tags
    (papermill adds outputs, counts, timings and an empty tag list to the cells)."""
    tags = [t for t in cell.get("metadata", {}).get("tags", []) if t != "injected-parameters"]
    return cell["cell_type"], _code(cell), tags


# each committed executed copy and the run that writes it: the demo's notebooks, and the
# real-faces study (notebook 08 under the faces profile, on the DFDC crops: 75-90 minutes)
EXECUTED_COPIES = [(p, "demo", "./run_all.sh") for p in DEMO_NOTEBOOKS] + [
    (ROOT / "notebooks" / f"{n}.ipynb", "faces", "./run_all.sh --profile faces --data-root DIR")
    for n in profile_notebooks("faces")]


@pytest.mark.parametrize("path, profile, command", EXECUTED_COPIES,
                         ids=[f"{p.stem}-{profile}" for p, profile, _ in EXECUTED_COPIES])
def test_executed_copy_comes_from_the_notebook_as_it_is(path: Path, profile: str,
                                                        command: str) -> None:
    """results/<profile>/notebooks/NN_x.ipynb is papermill's execution of notebooks/NN_x.ipynb:
    the same cells once the cell papermill injects after the parameters cell is removed."""
    folder = f"results/{profile}/notebooks"
    stale = f"{folder} is stale: rerun {command}"
    executed = ROOT / folder / path.name
    assert executed.is_file(), f"{folder}/{path.name} is missing; {stale}"
    cells = _cells(executed)
    injected = [i for i, c in enumerate(cells)
                if "injected-parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(injected) <= 1, f"{folder}/{path.name}: two injected cells"
    ran = [_defined(c) for i, c in enumerate(cells) if i not in injected]
    source = [_defined(c) for c in _cells(path)]
    for number, (want, got) in enumerate(zip(source, ran, strict=False), start=1):
        differ = [what for what, a, b in zip(("type", "source", "tags"), want, got, strict=True)
                  if a != b]
        first_line = (want[1].splitlines() or [""])[0]
        verb = "differs" if len(differ) == 1 else "differ"
        assert not differ, (f"notebooks/{path.name}: the {' and '.join(differ)} of cell {number} "
                            f"({want[0]}, {first_line[:60]!r}) {verb} from its executed copy; "
                            f"{stale}")
    assert len(source) == len(ran), (
        f"notebooks/{path.name} has {len(source)} cells, its executed copy {len(ran)}; {stale}")
