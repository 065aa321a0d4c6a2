"""The README and docs/ stay true: every link reaches a file and heading that exist, the module
table lists every module of jdfd_lib, and the front page stays about one screen of reading."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", ROOT / "BENCHMARKS.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def anchors(page: Path) -> set[str]:
    """GitHub's anchors of a page's headings (lower case, punctuation dropped, spaces to -)."""
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    found = set()
    for title in re.findall(r"^#+ (.+)$", text, flags=re.M):
        slug = re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")
        found.add(slug)
    return found


def local_links(page: Path) -> list[tuple[str, Path, str]]:
    """(link, target file, anchor) of every link of ``page`` that stays in the repository."""
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    out = []
    for link in LINK.findall(text):
        if re.match(r"[a-z]+://|mailto:", link):
            continue
        path, _, anchor = link.partition("#")
        out.append((link, (page.parent / path).resolve() if path else page, anchor))
    return out


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_link_reaches_an_existing_file_and_heading(page: Path) -> None:
    broken = [link for link, target, anchor in local_links(page)
              if not target.exists() or (anchor and target.suffix == ".md"
                                         and anchor not in anchors(target))]
    assert not broken, f"{page.relative_to(ROOT)}: broken links {broken}"


def test_the_link_check_can_fail(tmp_path: Path) -> None:
    page = tmp_path / "a.md"
    page.write_text("# Title\n\n[ok](#title) [gone](b.md) [no heading](#other)\n")
    bad = [link for link, target, anchor in local_links(page)
           if not target.exists() or (anchor and anchor not in anchors(target))]
    assert bad == ["b.md", "#other"]


def test_the_module_table_lists_every_module() -> None:
    """docs/library.md's package table names each module of each sub-package."""
    table = (ROOT / "docs" / "library.md").read_text().split("| package |", 1)[1]
    rows = {m.group(1): m.group(2) for m in re.finditer(r"^\| `(\w+)/` \|[^|]*\| (.*) \|$",
                                                          table, flags=re.M)}
    lib = ROOT / "jdfd_lib"
    packages = sorted(p.name for p in lib.iterdir() if (p / "__init__.py").is_file())
    assert sorted(rows) == packages
    missing = [f"{pkg}/{m.stem}" for pkg in packages for m in sorted((lib / pkg).glob("*.py"))
               if m.stem != "__init__" and f"`{m.stem}`" not in rows[pkg]]
    assert not missing, f"docs/library.md's module table lacks {missing}"


def test_the_front_page_stays_short() -> None:
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 200
    assert any(line.startswith("./run_all.sh") for line in lines[:40])  # runs on screen one
