"""Keep the source notebooks in notebooks/ clean: no outputs, no execution counts, no
widget state or papermill/timing metadata, the python3 kernelspec.

The .ipynb files in notebooks/ are the source (edited in JupyterLab, linted by ruff); the
executed copies live in results/<profile>/notebooks/ (written by ./run_all.sh).

    .venv/bin/python scripts/clean_notebooks.py           rewrite the unclean ones clean
    .venv/bin/python scripts/clean_notebooks.py --check   exit 1 naming each unclean notebook
    .venv/bin/python scripts/clean_notebooks.py PATH...   only these notebooks

Cell ids, sources and tags are kept; every other cell metadata key is dropped, and the
notebook metadata becomes the fixed kernelspec and language. The notebook is written by
nbformat (indent 1, sorted keys, final newline), so cleaning a clean notebook changes no
byte, and ``--check`` passes exactly when cleaning would change nothing. Cells are numbered
from 1, as ruff numbers them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}
LANGUAGE_INFO = {"name": "python"}
HINT = "run scripts/clean_notebooks.py"


def _cells(numbers: list[int]) -> str:
    listed = ", ".join(map(str, numbers))
    return f"cell {listed} has" if len(numbers) == 1 else f"cells {listed} have"


def clean(nb: nbformat.NotebookNode) -> list[str]:
    """Clean ``nb`` in place; return what was unclean (empty when it was clean already)."""
    found: dict[str, list[int]] = {}  # what is unclean -> the cells (numbered from 1)
    for number, cell in enumerate(nb.cells, start=1):
        if cell.cell_type == "code":
            if cell.get("outputs"):
                found.setdefault("outputs", []).append(number)
            if cell.get("execution_count") is not None:
                found.setdefault("an execution count", []).append(number)
            cell.outputs = []
            cell.execution_count = None
        tags = cell.metadata.get("tags") or []
        for key in sorted(k for k in cell.metadata if k != "tags"):
            found.setdefault(f"metadata {key}", []).append(number)
        if "tags" in cell.metadata and not tags:
            found.setdefault("an empty tag list", []).append(number)
        cell.metadata = nbformat.from_dict({"tags": list(tags)} if tags else {})
    problems = [f"{_cells(numbers)} {what}" for what, numbers in found.items()]
    metadata = {"kernelspec": KERNELSPEC, "language_info": LANGUAGE_INFO}
    extra = sorted(k for k in nb.metadata if k not in metadata)
    if extra:
        problems.append(f"notebook metadata has {', '.join(extra)}")
    for key, value in metadata.items():
        if nb.metadata.get(key) != value:
            problems.append(f"notebook metadata {key} is not {value}")
    nb.metadata = nbformat.from_dict(metadata)
    return problems


def clean_text(text: str) -> tuple[str, list[str]]:
    """The clean serialisation of a notebook's text, and what was unclean in it."""
    nb = nbformat.reads(text, as_version=nbformat.NO_CONVERT)
    problems = clean(nb)
    out = nbformat.writes(nb) + "\n"  # what nbformat.write puts on disk
    if out != text and not problems:
        problems.append("not in nbformat's layout (indent 1, sorted keys, final newline)")
    return out, problems


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", type=Path,
                        help="notebooks (default: notebooks/NN_*.ipynb of the repository)")
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 if a notebook is not clean")
    args = parser.parse_args(argv)
    paths = args.paths or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    unclean = 0
    for path in paths:
        text = path.read_text(encoding="utf-8")
        out, problems = clean_text(text)
        if out == text:
            continue
        unclean += 1
        if args.check:
            print(f"{_shown(path)}: {'; '.join(problems)}; {HINT}", file=sys.stderr)
        else:
            path.write_text(out, encoding="utf-8")
            print(f"cleaned {_shown(path)}: {'; '.join(problems)}")
    return 1 if args.check and unclean else 0


if __name__ == "__main__":
    sys.exit(main())
