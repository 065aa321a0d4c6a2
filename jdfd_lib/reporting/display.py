"""Written result tables shown in a notebook as rendered HTML (Tables 2-3, Fig. 4, Sec. 4.3-4.4).

``report`` writes each table as Markdown (``<name>.md``: a title, the table, a note) and as a
long numeric CSV. In JupyterLab a printed Markdown table wraps at the column's width into
stray ``|`` characters, so the notebooks show :class:`ResultTable` instead: an HTML table
(pandas Styler) rebuilt from the CSV, ours and the papers' columns set apart by a rule, the
note below; its plain-text form (what a terminal, papermill's log or nbval sees) is the
written Markdown itself, unchanged.
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from jdfd_lib.reporting import tables

SEPARATE = ("(paper)", "(published)")  # the first such column gets a rule on its left
RULE = "border-left: 2px solid #888"


def _table2(long: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    return [("", tables.wide(long, ["train"]))]


def _table3(long: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    return [("", tables.wide(long, ["train", "method"]))]


def _fig4(long: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    return [("", tables.fig4_wide(long))]


def _detectors(long: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    from jdfd_lib.datasets.registry import dataset_label
    from jdfd_lib.reporting.detector_comparison import comparison_wide

    return [(f"Trained on {dataset_label(t)}", comparison_wide(part))
            for t, part in long.groupby("train", sort=False)]


WIDE: dict[str, Callable[[pd.DataFrame], list[tuple[str, pd.DataFrame]]]] = {
    "table2": _table2, "table3": _table3, "fig4": _fig4, "detectors": _detectors}


class ResultTable:
    """A written result (``results/<profile>/<name>.md``) for display in a notebook.

    JupyterLab shows the HTML form; ``repr`` (terminals, logs) is the Markdown file's text.
    Bullet lists (``comparisons``, ``detector_differences``) render as Markdown.
    """

    def __init__(self, results_dir: str | os.PathLike, name: str) -> None:
        self.stem = Path(results_dir) / name
        self.name = name
        self.markdown = self.stem.with_suffix(".md").read_text()

    def __repr__(self) -> str:
        return self.markdown

    def _repr_markdown_(self) -> str:
        return self.markdown

    def _repr_html_(self) -> str | None:
        if self.name not in WIDE:
            return None  # the frontend renders the Markdown
        title, _, rest = self.markdown.partition("\n")
        note = rest.rstrip().rsplit("\n\n", 1)[-1]
        parts = [f"<h4>{html.escape(title.lstrip('# '))}</h4>"]
        frames = WIDE[self.name](pd.read_csv(self.stem.with_suffix(".csv")))
        for i, (caption, frame) in enumerate(frames):
            parts.append(styled(frame, caption, uuid=f"{self.name}_{i}"))
        parts.append(f"<p style='font-size:85%'>{html.escape(note)}</p>")
        return "\n".join(parts)


def styled(frame: pd.DataFrame, caption: str = "", uuid: str = "table") -> str:
    """HTML of a wide table: no index, one decimal, "-" where empty, a rule before the first
    column of published figures so they never read as ours. ``uuid`` names the table's ids
    (fixed, so a re-run notebook saves the same output).

    The rule is an inline ``style`` attribute on each cell of that column, not a rule of the
    Styler's ``<style>`` block: JupyterLab drops ``<style>`` from an untrusted notebook (an
    executed copy in ``results/<profile>/notebooks`` opened on another machine) but keeps a
    cell's own style.
    """
    style = (frame.style.set_uuid(uuid).hide(axis="index")
             .format(precision=tables.DECIMALS, na_rep="-"))
    if caption:
        style = style.set_caption(html.escape(caption))
    page = style.to_html()
    first = next((i for i, c in enumerate(frame.columns) if str(c).endswith(SEPARATE)), None)
    if first is None:
        return page
    # the Styler marks column j's header and data cells with the class "colj"
    cell = re.compile(rf'(<t[hd] [^>]*class="[^"]*\bcol{first}\b[^"]*")')
    return cell.sub(rf'\1 style="{RULE}"', page)
