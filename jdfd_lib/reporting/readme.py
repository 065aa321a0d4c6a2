"""The README's results section, rewritten from the written result files (``report --readme``).

Between two markers the README holds the demo's Tables 2-3, the Fig. 4 table, the comparison
sentences, the detector comparison (notebook 06), the figures and the stage times of the run
that wrote them; :func:`sync_readme` replaces that section and nothing else, so the numbers
in the README are always the committed ones.
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

README_BEGIN = "<!-- demo-results:begin (written by `python -m jdfd_lib report --readme`) -->"
README_END = "<!-- demo-results:end -->"


def readme_block(results_dir: str | os.PathLike) -> str:
    """The README's results section: the written tables, the comparison sentences and the
    figures of one profile, and the stage timings of its run record, between the markers."""
    out = Path(results_dir)
    parts = [README_BEGIN]
    for name in SECTIONS:
        md = out / f"{name}.md"
        if name in OPTIONAL and not md.is_file():
            continue  # e.g. results written before the related detectors were trained
        text = md.read_text().strip().replace("## ", "#### ", 1)
        parts.append(text.replace("\n### ", "\n##### "))  # per-training-set sub-tables
    rel = portable(out)  # links relative to the project root, where the README is
    figures = [f"![{title}]({rel}/{name})" for title, name in FIGURES if (out / name).is_file()]
    if figures:
        parts.append("\n".join(figures))
    record = out / "run_record.json"
    if record.is_file():
        stages = json.loads(record.read_text()).get("stages", {})
        rows = " | ".join(f"{k} {v['seconds']:.0f} s" for k, v in sorted(stages.items()))
        total = sum(v["seconds"] for v in stages.values())
        parts.append(f"Stage times of the run that wrote these files (`{rel}/run_record.json`): "
                     f"{rows}; total {total / 60:.1f} min.")
    parts.append(README_END)
    return "\n\n".join(parts) + "\n"


def sync_readme(readme: str | os.PathLike, results_dir: str | os.PathLike) -> bool:
    """Replace the README's results section by :func:`readme_block`; True if it changed.

    Raises:
        ValueError: the README lacks the begin/end markers.
    """
    path = Path(readme)
    text = path.read_text()
    if README_BEGIN not in text or README_END not in text:
        raise ValueError(f"{path}: expected the markers {README_BEGIN!r} and {README_END!r}")
    head, rest = text.split(README_BEGIN, 1)
    tail = rest.split(README_END, 1)[1]
    new = head + readme_block(results_dir).rstrip("\n") + tail
    if new != text:
        path.write_text(new)
    return new != text
