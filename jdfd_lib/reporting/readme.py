"""The results shown in the README and in ``docs/results.md``, rewritten from the written result
files (``report --readme``).

Between two markers ``docs/results.md`` holds a profile's whole results: the demo's Tables 2-3,
the Fig. 4 table, the comparison sentences, the detector comparison (notebook 06) and the
figures; the real-faces study's tables (notebook 08). The README holds a headline block (Table
2 and Fig. 3). Nothing in a block differs between machines (stage times stay in the run
record). :func:`sync_readme` replaces a profile's blocks and nothing else, so the numbers shown
are always the committed ones. Between a third pair of markers ``docs/extending.md`` holds the
table of registered detectors (:func:`sync_detector_table`), written from the registry alone.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from jdfd_lib.core.paths import portable

# result Markdown files shown, in order; the optional ones may be absent
SECTIONS = ("table2", "table3", "fig4", "comparisons", "detectors", "detector_differences")
OPTIONAL = ("comparisons", "detectors", "detector_differences")
FIGURES = (("Fig. 3", "fig3_roc.png"), ("Fig. 4", "fig4_unlabeled.png"),
           ("Detectors compared", "detectors_roc.png"))
HEADLINE = (("table2",), (), (("Fig. 3", "fig3_roc.png"),))

# the real-faces study (profile faces): its own tables, none of the paper's
FACES_SECTIONS = ("detectors", "detector_differences", "trivial", "learning_curve")
FACES_FIGURES = (("Detectors compared", "detectors_roc.png"),
                 ("Learning curve", "learning_curve.png"))
# block name -> (sections, optional sections, figures); a profile's blocks are "<profile>"
# (whole results) and "<profile>-headline" (the README's)
BLOCKS = {"demo": (SECTIONS, OPTIONAL, FIGURES), "paper": (SECTIONS, OPTIONAL, FIGURES),
          "demo-headline": HEADLINE, "paper-headline": HEADLINE,
          "faces": (FACES_SECTIONS, (), FACES_FIGURES),
          "faces_paper": (FACES_SECTIONS, (), FACES_FIGURES)}
RESULTS_PAGE = Path("docs") / "results.md"  # beside the README: the whole results


def markers(block: str = "demo") -> tuple[str, str]:
    """The begin and end markers of a block (:data:`BLOCKS`) in a Markdown page."""
    kind = "headline" if block.endswith("-headline") else "results"
    name = block.removesuffix("-headline")
    return (f"<!-- {name}-{kind}:begin (written by `python -m jdfd_lib report --readme`) -->",
            f"<!-- {name}-{kind}:end -->")


def _read_file(path: Path) -> str | None:
    return path.read_text() if path.is_file() else None


def readme_block(results_dir: str | os.PathLike, block: str = "demo",
                 read: Callable[[Path], str | None] = _read_file,
                 link: str | None = None) -> str:
    """One block of :data:`BLOCKS`: the written tables and the figures, between its markers.

    Args:
        results_dir: ``results/<profile>``.
        block: a key of :data:`BLOCKS` (a profile, or ``<profile>-headline``).
        read: a file's text, or None where it is absent (default: from disk; a test may read
            the committed versions instead).
        link: the results folder as the page's links reach it (default: from the project
            root, as the README's).
    """
    out = Path(results_dir)
    sections, optional, figures_of = BLOCKS[block]
    begin, end = markers(block)
    parts = [begin]
    for name in sections:
        text = read(out / f"{name}.md")
        if text is None and name in optional:
            continue  # e.g. results written before the related detectors were trained
        if text is None:
            raise FileNotFoundError(f"{out / name}.md: expected the report's {name} table "
                                    f"(python -m jdfd_lib report --out {portable(out)})")
        text = text.strip().replace("## ", "#### ", 1)
        parts.append(text.replace("\n### ", "\n##### "))  # per-training-set sub-tables
    rel = link or portable(out)
    figures = [f"![{title}]({rel}/{name})" for title, name in figures_of
               if (out / name).is_file()]
    if figures:
        parts.append("\n".join(figures))
    if read(out / "run_record.json") is not None and block in {"demo", "paper", "faces",
                                                               "faces_paper"}:
        parts.append(f"How long each stage of the run that wrote these files took, on its "
                     f"machine: `{portable(out)}/run_record.json`.")
    parts.append(end)
    return "\n\n".join(parts) + "\n"


def page_link(page: str | os.PathLike, results_dir: str | os.PathLike) -> str:
    """The results folder as a link from ``page``'s folder (``../results/demo`` from docs/)."""
    return Path(os.path.relpath(Path(results_dir).resolve(),
                                Path(page).resolve().parent)).as_posix()


def _replace(page: Path, results_dir: str | os.PathLike, block: str) -> bool:
    """Rewrite ``block`` in ``page`` if its markers are there; True if the page changed."""
    text = page.read_text()
    begin, end = markers(block)
    if begin not in text or end not in text:
        return False
    head, rest = text.split(begin, 1)
    tail = rest.split(end, 1)[1]
    body = readme_block(results_dir, block, link=page_link(page, results_dir))
    new = head + body.rstrip("\n") + tail
    if new != text:
        page.write_text(new)
    return new != text


def sync_readme(readme: str | os.PathLike, results_dir: str | os.PathLike,
                profile: str = "demo") -> bool:
    """Rewrite ``profile``'s blocks: its headline in the README, its whole results in
    ``docs/results.md`` beside it (each where its markers are); True if a page changed.

    Raises:
        ValueError: neither page holds a block of ``profile``.
    """
    readme = Path(readme)
    pages = [(readme, f"{profile}-headline"), (readme, profile),
             (readme.parent / RESULTS_PAGE, profile)]
    found = [(p, b) for p, b in pages if b in BLOCKS and p.is_file()
             and markers(b)[0] in p.read_text()]
    if not found:
        raise ValueError(f"{readme}: expected the markers {markers(profile)[0]!r} here or in "
                         f"{readme.parent / RESULTS_PAGE}")
    changed = [_replace(p, results_dir, b) for p, b in found]
    return any(changed)


DETECTORS_BEGIN = ("<!-- detectors:begin (written by `python -m jdfd_lib report --readme` from "
                   "the detector registry) -->")
DETECTORS_END = "<!-- detectors:end -->"


def detector_table() -> str:
    """The registered detectors as a Markdown table: the name ``--detector`` takes, the label
    in tables, whether (and where) it joins the comparison, its options (``--set
    <name>_<option>=...``), the profiles with a recipe of its own, its module. Derived from
    the registry alone, so a new detector appears without another file changed."""
    import dataclasses  # the registry imports torch: only when the table is written

    from jdfd_lib.detectors.registry import compared_detectors, detector_class, list_detectors

    rows = ["| `--detector` | label | compared | options (`--set <detector>_<option>=...`) "
            "| own profiles | module |", "|---|---|---|---|---|---|"]
    compared = compared_detectors()
    for name in compared + [d for d in list_detectors() if d not in compared]:
        cls = detector_class(name)
        options = ", ".join(f"`{f.name}`" for f in dataclasses.fields(cls.options)) or "none"
        where = f"row {compared.index(name) + 1}" if name in compared else "no"
        profiles = ", ".join(sorted(cls.profiles)) or "none"
        module = cls.__module__.replace(".", "/") + ".py"
        rows.append(f"| `{name}` | {cls.display_label()} | {where} | {options} | {profiles} "
                    f"| `{module}` |")
    return "\n".join([DETECTORS_BEGIN, "", *rows, "", DETECTORS_END])


def sync_detector_table(readme: str | os.PathLike) -> bool:
    """Replace the detector table between :data:`DETECTORS_BEGIN` and :data:`DETECTORS_END`
    in the README and the ``docs/`` pages beside it (those that have them); True if one
    changed."""
    readme = Path(readme)
    changed = False
    for path in [readme, *sorted((readme.parent / "docs").glob("*.md"))]:
        text = path.read_text()
        if DETECTORS_BEGIN not in text or DETECTORS_END not in text:
            continue
        head, rest = text.split(DETECTORS_BEGIN, 1)
        new = head + detector_table() + rest.split(DETECTORS_END, 1)[1]
        if new != text:
            path.write_text(new)
            changed = True
    return changed
