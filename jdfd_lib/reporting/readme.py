"""The README's results sections, rewritten from the written result files (``report --readme``).

Between two markers the README holds the demo's Tables 2-3, the Fig. 4 table, the comparison
sentences, the detector comparison (notebook 06), the figures and the stage times of the run
that wrote them; between two others, the real-faces study's tables (notebook 08).
:func:`sync_readme` replaces a profile's section and nothing else, so the numbers in the
README are always the committed ones. Between a third pair of markers the README (or a page
of ``docs/``) holds the table of registered detectors (:func:`detector_table`), written from
the registry alone.
"""

from __future__ import annotations

import json
import os
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


def readme_block(results_dir: str | os.PathLike, profile: str = "demo") -> str:
    """The README's results section of ``profile`` (:data:`BLOCKS`): the written tables, the
    comparison sentences and the figures, and the stage timings of its run record, between
    the profile's markers."""
    out = Path(results_dir)
    sections, optional, figures_of = BLOCKS[profile]
    begin, end = markers(profile)
    parts = [begin]
    for name in sections:
        md = out / f"{name}.md"
        if name in optional and not md.is_file():
            continue  # e.g. results written before the related detectors were trained
        text = md.read_text().strip().replace("## ", "#### ", 1)
        parts.append(text.replace("\n### ", "\n##### "))  # per-training-set sub-tables
    rel = portable(out)  # links relative to the project root, where the README is
    figures = [f"![{title}]({rel}/{name})" for title, name in figures_of
               if (out / name).is_file()]
    if figures:
        parts.append("\n".join(figures))
    record = out / "run_record.json"
    if record.is_file():
        stages = json.loads(record.read_text()).get("stages", {})
        rows = " | ".join(f"{k} {v['seconds']:.0f} s" for k, v in sorted(stages.items()))
        total = sum(v["seconds"] for v in stages.values())
        parts.append(f"Stage times of the run that wrote these files (`{rel}/run_record.json`): "
                     f"{rows}; total {total / 60:.1f} min.")
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


def sync_detector_table(path: str | os.PathLike) -> bool:
    """Replace the detector table between :data:`DETECTORS_BEGIN` and :data:`DETECTORS_END`
    in ``path`` (if it has them); True if it changed."""
    path = Path(path)
    text = path.read_text()
    if DETECTORS_BEGIN not in text or DETECTORS_END not in text:
        return False
    head, rest = text.split(DETECTORS_BEGIN, 1)
    new = head + detector_table() + rest.split(DETECTORS_END, 1)[1]
    if new != text:
        path.write_text(new)
    return new != text
