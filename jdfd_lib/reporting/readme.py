"""The README's results sections, rewritten from the written result files (``report --readme``).

Between two markers the README holds the demo's Tables 2-3, the Fig. 4 table, the comparison
sentences, the detector comparison (notebook 06) and the figures of the run that wrote them
(nothing that differs between machines: stage times stay in its run record); between two
others, the real-faces study's tables (notebook 08). :func:`sync_readme` replaces a profile's
section and nothing else, so the numbers in the README are always the committed ones.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from jdfd_lib.core.paths import portable

# result Markdown files shown in the README, in order; the optional ones may be absent
SECTIONS = ("table2", "table3", "fig4", "comparisons", "detectors", "detector_differences")
OPTIONAL = ("comparisons", "detectors", "detector_differences")
FIGURES = (("Fig. 3", "fig3_roc.png"), ("Fig. 4", "fig4_unlabeled.png"),
           ("Detectors compared", "detectors_roc.png"))

# the real-faces study (profile faces): its own tables, none of the paper's
FACES_SECTIONS = ("detectors", "detector_differences", "trivial", "learning_curve")
FACES_FIGURES = (("Detectors compared", "detectors_roc.png"),
                 ("Learning curve", "learning_curve.png"))
BLOCKS = {"demo": (SECTIONS, OPTIONAL, FIGURES), "paper": (SECTIONS, OPTIONAL, FIGURES),
          "faces": (FACES_SECTIONS, (), FACES_FIGURES),
          "faces_paper": (FACES_SECTIONS, (), FACES_FIGURES)}


def markers(profile: str = "demo") -> tuple[str, str]:
    """The begin and end markers of a profile's results section in the README."""
    return (f"<!-- {profile}-results:begin (written by `python -m jdfd_lib report --readme`) -->",
            f"<!-- {profile}-results:end -->")


README_BEGIN, README_END = markers("demo")


def _read_file(path: Path) -> str | None:
    return path.read_text() if path.is_file() else None


def readme_block(results_dir: str | os.PathLike, profile: str = "demo",
                 read: Callable[[Path], str | None] = _read_file) -> str:
    """The README's results section of ``profile`` (:data:`BLOCKS`): the written tables, the
    comparison sentences and the figures, between the profile's markers. Nothing in it
    differs from one machine to the next: the stage times stay in the run record.

    Args:
        results_dir: ``results/<profile>``.
        profile: a key of :data:`BLOCKS`.
        read: a file's text, or None where it is absent (default: from disk; a test may read
            the committed versions instead).
    """
    out = Path(results_dir)
    sections, optional, figures_of = BLOCKS[profile]
    begin, end = markers(profile)
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
    rel = portable(out)  # links relative to the project root, where the README is
    figures = [f"![{title}]({rel}/{name})" for title, name in figures_of
               if (out / name).is_file()]
    if figures:
        parts.append("\n".join(figures))
    if read(out / "run_record.json") is not None:
        parts.append(f"How long each stage of the run that wrote these files took, on its "
                     f"machine: `{rel}/run_record.json`.")
    parts.append(end)
    return "\n\n".join(parts) + "\n"


def sync_readme(readme: str | os.PathLike, results_dir: str | os.PathLike,
                profile: str = "demo") -> bool:
    """Replace the README's results section of ``profile`` by :func:`readme_block`; True if
    it changed.

    Raises:
        ValueError: the README lacks the profile's begin/end markers.
    """
    path = Path(readme)
    text = path.read_text()
    begin, end = markers(profile)
    if begin not in text or end not in text:
        raise ValueError(f"{path}: expected the markers {begin!r} and {end!r}")
    head, rest = text.split(begin, 1)
    tail = rest.split(end, 1)[1]
    new = head + readme_block(results_dir, profile).rstrip("\n") + tail
    if new != text:
        path.write_text(new)
    return new != text
