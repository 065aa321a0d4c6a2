"""Every notebook as a researcher meets it in JupyterLab, in a real browser (issue 11).

nbval executes the notebooks through a bare kernel client and compares text; it never sees
what JupyterLab draws. A progress-bar widget whose state was not saved reopens as "Error
displaying widget", a table can degrade to text, a figure to ``<Figure size ...>``: nbval
passes all of them. Here each notebook of notebooks/ is opened in JupyterLab in headless
Chromium, run on the demo profile (Run > Run All Cells), saved (File > Save Notebook),
closed (its kernel shut down) and reopened, and then

- the reopened page shows no error output (rendered traceback) and no "Error displaying
  widget", as many outputs holding an HTML table as expected, and as many figures as
  expected, each an image that loaded (``EXPECTED``);
- the saved file holds no error output, no widget output, the expected number of PNG
  figures, and an execution count in every code cell.

The notebooks run on copies in a temporary folder (``lab`` in conftest.py): notebooks/
stays output-free and results/demo is not rewritten. The demo's data, crops and runs are
complete after ./run_all.sh (or nbval), so each notebook reuses them and takes seconds to
a minute. ``test_the_checks_catch_a_broken_notebook`` shows that the checks fail when they
should: an error, a widget, a missing figure.

The executed copies in results/demo/notebooks are what a researcher opens without running:
untrusted on any other machine, so JupyterLab drops their ``<style>`` blocks.
``test_executed_copies_keep_the_papers_columns_apart_untrusted`` opens them so and checks that
the rule before the published figures is still drawn.

Run by ./run_tests.sh after nbval; alone: ``.venv/bin/python -m pytest tests/browser -m
browser`` (needs ``apt-get install chromium chromium-driver``).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from jdfd_lib.core.settings import profile_notebooks

from .conftest import ROOT, Lab

pytestmark = [pytest.mark.slow, pytest.mark.browser]

RUN_TIMEOUT = 600  # seconds for one notebook's Run All on the demo's complete stages
UI_TIMEOUT = 60  # seconds for the page, a menu, a kernel start, a save
SETTLE = 10  # seconds of unchanged prompts, kernel idle, after which a run counts as over
WIDGET_ERROR = "Error displaying widget"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


@dataclass(frozen=True)
class Expect:
    """What a notebook shows on the demo profile."""

    figures: int  # images: one per browse.show / show_png call (a loop shows one per pass)
    tables: int  # outputs holding an HTML table: DataFrames and written tables (ResultTable)


EXPECTED = {
    # three datasets' sample frames; the video table is printed text on purpose (nbval)
    "00_demo_data": Expect(figures=3, tables=0),
    # crops with landmarks per dataset + the mask figure; the IoU summary table (the
    # extraction and index tables are printed text for nbval)
    "01_preprocess": Expect(figures=4, tables=1),
    # training curves + reconstructions (VARIANT jdfd); the per-epoch table
    "02_train": Expect(figures=2, tables=1),
    # Fig. 3; Table 2, the metric table and the trivial reference
    "03_cross_dataset": Expect(figures=1, tables=3),
    # Table 3 (the comparisons are a Markdown list)
    "04_decoder_ablation": Expect(figures=0, tables=1),
    # Fig. 4; its table (comparisons: a Markdown list)
    "05_unlabeled_augmentation": Expect(figures=1, tables=1),
    # the ROC curves; the detector table (the differences: a Markdown list)
    "06_detector_comparison": Expect(figures=1, tables=1),
    # JDFD's and LAE's worst mistakes; the video scores and the worst mistakes
    "07_explore": Expect(figures=2, tables=2),
}
NOTEBOOKS = profile_notebooks("demo")  # the demo profile's (08 runs on the faces profile)

# JupyterLab renders an error output as stderr text (mime type application/vnd.jupyter.stderr),
# so a rendered traceback is told by IPython's header: "Traceback (most recent call last)",
# or "Cell In[n], line m" (a SyntaxError has only that).
JS_HELPERS = r"""
const TRACEBACK = /Traceback \(most recent call last\)|Cell In\[\d+\], line \d+/;
const tracebacks = root => [...root.querySelectorAll(
    '[data-mime-type="application/vnd.jupyter.stderr"]')]
    .filter(e => TRACEBACK.test(e.textContent));
const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
const cells = panel ? [...panel.querySelectorAll('.jp-Notebook .jp-Cell')] : [];
const prompt = cell => ((cell.querySelector('.jp-InputPrompt') || {}).textContent || '').trim();
"""

# The open notebook as the page shows it: kernel status, prompts, outputs.
PAGE_STATE_JS = JS_HELPERS + r"""
if (!panel) return null;
const indicator = panel.querySelector('.jp-Notebook-ExecutionIndicator');
const outputs = [...panel.querySelectorAll('.jp-OutputArea-output')];
const images = [...panel.querySelectorAll('.jp-OutputArea .jp-RenderedImage img')];
return {
  cells: cells.length,
  status: indicator ? indicator.getAttribute('data-status') : null,
  prompts: cells.filter(c => c.classList.contains('jp-CodeCell')).map(prompt),
  errors: cells.flatMap((c, i) => tracebacks(c).map(e => [i + 1, prompt(c), e.textContent])),
  tables: outputs.filter(o => o.querySelector('table')).length,
  images: images.map(img => img.complete && img.naturalWidth > 0),
  // still settling: a widget output waiting for its model, an image still loading
  pending: outputs.filter(o => o.textContent.trim() === 'Loading widget...').length
      + images.filter(img => !img.complete).length,
  text: panel.textContent,
  dirty: document.querySelector('.lm-TabBar-tab.jp-mod-dirty') !== null,
};
"""

# Before the screenshot: bring the first rendered traceback into view.
SHOW_FIRST_ERROR_JS = JS_HELPERS + r"""
const first = cells.find(c => tracebacks(c).length);
if (first) first.scrollIntoView();
"""


def page_state(driver: WebDriver) -> dict | None:
    return driver.execute_script(PAGE_STATE_JS)


def open_notebook(driver: WebDriver, lab: Lab, name: str) -> None:
    """Load JupyterLab on the notebook (a page of its own: reopening reads the saved file)
    and wait until all its cells are shown, its kernel is idle and its outputs settled (a
    saved widget shows "Loading widget..." until the widget manager has looked for it)."""
    cells = len(json.loads((lab.notebooks / f"{name}.ipynb").read_text())["cells"])
    driver.get(f"{lab.url}/lab/workspaces/{name}/tree/{name}.ipynb?token={lab.token}")

    def ready(d: WebDriver) -> bool:
        state = page_state(d)
        return (bool(state) and state["cells"] == cells and state["status"] == "idle"
                and state["pending"] == 0)

    WebDriverWait(driver, UI_TIMEOUT).until(
        ready, f"{name}: JupyterLab did not show its {cells} cells, an idle kernel and "
               f"settled outputs within {UI_TIMEOUT} s")


def menu(driver: WebDriver, title: str, command: str) -> None:
    """Click a main-menu entry, e.g. Run > Run All Cells (command ``runmenu:run-all``)."""
    wait = WebDriverWait(driver, UI_TIMEOUT)
    wait.until(EC.element_to_be_clickable((
        By.XPATH, f"//li[contains(@class, 'lm-MenuBar-item')]"
                  f"[normalize-space(.//div[contains(@class, 'lm-MenuBar-itemLabel')])"
                  f" = '{title}']")), f"no menu {title!r}").click()
    wait.until(EC.element_to_be_clickable((
        By.CSS_SELECTOR, f".lm-Menu li.lm-Menu-item[data-command='{command}']")),
        f"no entry {command!r} in the menu {title!r}").click()


def ran(prompt: str) -> bool:
    """Whether a code cell's prompt shows an execution count ("[3]:")."""
    return prompt.strip().strip("[]:").isdigit()


@dataclass
class RunWatch:
    """What :func:`run_all` has seen of a Run All: the prompts, since when they are unchanged,
    and the kernel status the page shows."""

    prompts: list[str] | None = None
    since: float = 0.0
    status: str | None = None

    def over(self, state: dict, now: float, kernels_idle: Callable[[], bool]) -> bool:
        """Whether the run is over, given the page's state at time ``now`` (rules: run_all)."""
        if state["prompts"] != self.prompts:
            self.prompts, self.since = state["prompts"], now
        self.status = state["status"]
        if not any(ran(p) for p in self.prompts):
            return False
        if all(ran(p) for p in self.prompts):  # every code cell ran: over, whatever the status
            return True
        if self.status == "idle" and not any("*" in p for p in self.prompts):
            return True
        # the fallback, for a run a failing cell ended: the server's record decides. Never
        # without a traceback on the page: in CI the server once reported the kernel idle
        # while notebook 04's grid cell still ran, and the notebook was saved half run
        return bool(state.get("errors")) and now - self.since >= SETTLE and kernels_idle()

    def last_seen(self, now: float) -> str:
        return (f"last seen: kernel {self.status!r} on the page, prompts {self.prompts}, "
                f"unchanged for {now - self.since:.0f} s")


def run_all(driver: WebDriver, lab: Lab, name: str) -> None:
    """Run > Run All Cells, then wait until the run is over.

    Over means: some cell ran, and either every code cell shows its execution count, or the
    page shows the kernel idle with no cell queued or running ("[*]", which Run All marks at
    once in every code cell), or a cell failed (a traceback on the page), the server reports
    the kernel idle and the prompts have not changed for ``SETTLE`` seconds. The last rule
    needs the failure: without it, CI once saw the server report the kernel idle while
    notebook 04's long grid cell still ran, and saved the notebook half run. The rule exists
    because CI once saw the broken notebook's Run All never end (600 s) where this machine
    ends it in seconds, every time, even under load: a cell the kernel aborted after an
    earlier failure left marked "[*]", or the page's indicator missing the last "idle", are
    the candidates; the server's own record of the kernel decides either way. A click
    the page drops is given once more. The timeout message carries the last state seen.
    A cell that fails ends the run; the cells after it stay unrun.
    """
    def started(d: WebDriver) -> bool:
        return any("*" in p or ran(p) for p in page_state(d)["prompts"])

    for attempt in (1, 2):  # a click the page dropped (no cell queued) is given once more
        menu(driver, "Run", "runmenu:run-all")
        try:
            WebDriverWait(driver, UI_TIMEOUT).until(started)
            break
        except TimeoutException:
            if attempt == 2:
                raise TimeoutException(f"{name}: Run > Run All Cells queued no cell, twice; "
                                       f"prompts {page_state(driver)['prompts']}") from None
    watch = RunWatch(since=time.monotonic())
    try:
        WebDriverWait(driver, RUN_TIMEOUT).until(
            lambda d: watch.over(page_state(d), time.monotonic(), lab.kernels_idle))
    except TimeoutException:
        raise TimeoutException(f"{name}: Run All did not finish within {RUN_TIMEOUT} s; "
                               f"{watch.last_seen(time.monotonic())}") from None


def save(driver: WebDriver, name: str) -> None:
    """File > Save Notebook, then wait until the tab no longer shows unsaved changes."""
    menu(driver, "File", "docmanager:save")
    WebDriverWait(driver, UI_TIMEOUT).until(
        lambda d: not page_state(d)["dirty"], f"{name}: still unsaved after File > Save")


def run_save_reopen(driver: WebDriver, lab: Lab, name: str) -> dict:
    """The researcher's round trip; the reopened page's state."""
    open_notebook(driver, lab, name)
    run_all(driver, lab, name)
    save(driver, name)
    lab.shut_down_kernels()  # closing: the reopened page starts a fresh kernel
    open_notebook(driver, lab, name)
    return page_state(driver)


def page_problems(state: dict, expect: Expect) -> list[str]:
    """What is wrong on the reopened page."""
    problems = [f"traceback in cell {number} {prompt.rstrip(':')}: ...{text[-600:]}"
                for number, prompt, text in state["errors"]]
    if WIDGET_ERROR in state["text"]:
        problems.append(f"the page shows {WIDGET_ERROR!r}")
    if state["tables"] != expect.tables:
        problems.append(f"{state['tables']} outputs with an HTML table, expected {expect.tables}")
    loaded = sum(state["images"])
    if loaded != expect.figures or len(state["images"]) != loaded:
        problems.append(f"{loaded} figures shown ({len(state['images'])} images), "
                        f"expected {expect.figures}")
    return problems


def file_problems(path: Path, expect: Expect) -> list[str]:
    """What is wrong in the saved notebook file."""
    cells = json.loads(path.read_text())["cells"]
    problems, figures = [], 0
    for number, cell in enumerate(cells, 1):
        if cell["cell_type"] != "code":
            continue
        first_line = next(iter("".join(cell["source"]).splitlines()), "")
        where = f"{path.name} cell {number} ({first_line!r})"
        if cell.get("execution_count") is None:
            problems.append(f"{where} has no execution count: not run")
        for output in cell.get("outputs", []):
            if output["output_type"] == "error":
                problems.append(f"{where} saved an error: {output['ename']}: {output['evalue']}")
            data = output.get("data", {})
            if WIDGET_MIME in data:
                problems.append(f"{where} saved a widget output (dead once reopened)")
            figures += "image/png" in data
    if figures != expect.figures:
        problems.append(f"{path.name} holds {figures} PNG figures, expected {expect.figures}")
    return problems


def evidence(driver: WebDriver, folder: Path, name: str) -> str:
    """A screenshot and the page's text, for the failure message."""
    folder.mkdir(parents=True, exist_ok=True)
    driver.execute_script(SHOW_FIRST_ERROR_JS)
    driver.save_screenshot(str(folder / f"{name}.png"))
    (folder / f"{name}.txt").write_text(driver.execute_script("return document.body.innerText"))
    return f"screenshot and page text: {folder / name}.png, .txt"


def check_notebook(driver: WebDriver, lab: Lab, name: str, expect: Expect,
                   folder: Path) -> list[str]:
    """Every problem the round trip of ``name`` reveals (none: it passes). When the round
    trip itself fails (a timeout), the screenshot and page text go to ``folder`` first."""
    try:
        state = run_save_reopen(driver, lab, name)
        return page_problems(state, expect) + file_problems(lab.notebooks / f"{name}.ipynb",
                                                            expect)
    except Exception:
        print(evidence(driver, folder, name), f"JupyterLab log: {lab.log}")
        raise
    finally:
        lab.shut_down_kernels()


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_in_jupyterlab(name: str, lab: Lab, browser: WebDriver,
                                tmp_path: Path) -> None:
    assert name in EXPECTED, f"{name}: add its figures and tables to EXPECTED"
    problems = check_notebook(browser, lab, name, EXPECTED[name], tmp_path)
    assert not problems, "\n".join([f"{name} in JupyterLab:", *problems,
                                    evidence(browser, tmp_path, name)])


def test_a_run_is_over_when_the_kernel_is_idle_however_the_page_lags() -> None:
    """RunWatch's rules on made-up page states (no browser): a run is over once the page shows
    it over (every cell ran, or the kernel idle and no cell queued), or, after a traceback,
    once the server reports the kernel idle and a stuck "[*]" has not changed for SETTLE
    seconds; never while the server reports the kernel busy, never before a cell ran, never on
    the server's word alone while no cell failed."""
    idle, busy = (lambda: True), (lambda: False)
    unrun = {"prompts": ["[ ]:", "[ ]:"], "status": "idle"}
    assert not RunWatch().over(unrun, 0.0, idle)
    done = {"prompts": ["[1]:", "[2]:"], "status": "idle"}
    assert RunWatch().over(done, 0.0, busy)
    assert RunWatch().over({**done, "status": "busy"}, 0.0, busy)  # the indicator lags
    # a long cell, no failure: the server reporting the kernel idle does not end it (CI saw
    # notebook 04 saved half run that way)
    running = {"prompts": ["[1]:", "[*]:", "[*]:"], "status": "idle", "errors": []}
    watch = RunWatch()
    assert not watch.over(running, 100.0, idle)
    assert not watch.over(running, 100.0 + 10 * SETTLE, idle)
    # the aborted cell left marked "[*]" after a traceback; the indicator stuck on "busy"
    stuck = {"prompts": ["[1]:", "[*]:"], "status": "busy",
             "errors": [[1, "[1]:", "ValueError: ..."]]}
    watch = RunWatch()
    assert not watch.over(stuck, 100.0, idle)
    assert not watch.over(stuck, 100.0 + SETTLE - 1, idle)
    assert not watch.over(stuck, 100.0 + SETTLE, busy)  # a long cell still running
    assert watch.over(stuck, 100.0 + SETTLE, idle)
    # a prompt that changes restarts the clock
    moved = {"prompts": ["[1]:", "[2]:", "[*]:"], "status": "busy", "errors": stuck["errors"]}
    assert not watch.over(moved, 100.0 + SETTLE + 1, idle)
    assert "unchanged for 0 s" in watch.last_seen(100.0 + SETTLE + 1)


# The first "(paper)"/"(published)" header of each output table: its left border as drawn, and
# how many <style> elements the outputs kept (none: JupyterLab sanitised them, untrusted).
RULES_JS = JS_HELPERS + r"""
const heads = [...panel.querySelectorAll('.jp-OutputArea table')].map(t => [...t.querySelectorAll(
    'th')].find(th => /\((paper|published)\)$/.test(th.textContent.trim()))).filter(Boolean);
return {rules: heads.map(th => getComputedStyle(th).borderLeftWidth),
        styles: panel.querySelectorAll('.jp-OutputArea style').length};
"""


@pytest.mark.parametrize("name", ["03_cross_dataset", "06_detector_comparison"])
def test_executed_copies_keep_the_papers_columns_apart_untrusted(name: str, lab: Lab,
                                                                 browser: WebDriver) -> None:
    """The executed copies in results/demo/notebooks, opened as on another machine (untrusted,
    not run): JupyterLab drops their <style> blocks, and the rule before the published
    figures must still be drawn (display.styled puts it inline)."""
    copy = f"executed_{name}"
    shutil.copy(ROOT / "results" / "demo" / "notebooks" / f"{name}.ipynb",
                lab.notebooks / f"{copy}.ipynb")
    try:
        open_notebook(browser, lab, copy)
        seen = browser.execute_script(RULES_JS)
    finally:
        lab.shut_down_kernels()
    assert seen["styles"] == 0, f"{copy}: its <style> blocks were kept: not opened untrusted"
    assert seen["rules"] and set(seen["rules"]) == {"2px"}, (
        f"{copy}: left borders of the first published column per table: {seen['rules']}")


# A notebook with each fault the checks exist for: a widget (dead once reopened), an error
# that stops Run All, so that one figure and one execution count are missing; and it is
# said to show two tables where it shows one.
BROKEN_CELLS = [
    "from IPython.display import HTML\nHTML('<table><tr><td>1</td></tr></table>')",
    "import ipywidgets\nipywidgets.IntSlider()",
    "import matplotlib.pyplot as plt\nplt.plot([0, 1])\nplt.show()",
    "raise RuntimeError('deliberate failure')",
    "plt.plot([1, 0])\nplt.show()",
]


def test_the_checks_catch_a_broken_notebook(lab: Lab, browser: WebDriver,
                                            tmp_path: Path) -> None:
    """The checks above report every fault of BROKEN_CELLS: they can fail."""
    import nbformat

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)
                                               for source in BROKEN_CELLS])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    nbformat.write(notebook, lab.notebooks / "broken.ipynb")
    problems = check_notebook(browser, lab, "broken", Expect(figures=2, tables=2), tmp_path)
    found = "\n".join(problems)
    for expected in ("traceback in cell 4 [4]", "RuntimeError: deliberate failure",
                     f"the page shows {WIDGET_ERROR!r}", "cell 2 ('import ipywidgets') saved a "
                     "widget output", "1 figures shown (1 images), expected 2",
                     "1 outputs with an HTML table, expected 2", "holds 1 PNG figures",
                     "cell 5 ('plt.plot([1, 0])') has no execution count",
                     "cell 4 (\"raise RuntimeError('deliberate failure')\") saved an error"):
        assert expected in found, f"the checks missed {expected!r}; they found:\n{found}"
