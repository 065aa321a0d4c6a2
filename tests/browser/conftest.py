"""JupyterLab and headless Chromium for tests/browser/test_jupyterlab.py.

Collected only when tests/browser is named on the command line (``pytest tests/browser``, as
``./run_tests.sh`` runs it after nbval), never by ``pytest tests``: the browser test needs
the demo's outputs (``./run_all.sh``, or nbval on a fresh clone), Debian's ``chromium`` and
``chromedriver``, and minutes.

``lab`` starts one JupyterLab server for the session, on copies: the notebooks of
notebooks/ (which stay output-free) and results/demo (notebooks write their tables there;
``JDFD_RESULTS_DIR`` points at the copy). Data, crops and runs are the repository's. Its
Jupyter configuration, settings and workspaces are temporary folders, so neither the
user's Jupyter settings nor a workspace left by an earlier run change what the test sees.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SERVER_START_TIMEOUT = 120  # seconds for JupyterLab to answer


def _named(config: pytest.Config) -> bool:
    """Whether a command-line argument names tests/browser or a file in it."""
    base = config.invocation_params.dir
    for arg in config.args:
        path = (base / arg.split("::")[0]).resolve()
        if path == HERE or HERE in path.parents:
            return True
    return False


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    return None if _named(config) else True


@dataclass(frozen=True)
class Lab:
    """A running JupyterLab: its address, token, notebook folder and log file."""

    url: str
    token: str
    notebooks: Path
    log: Path

    def api(self, method: str, path: str) -> object:
        """Call the server's REST API; the decoded JSON answer (None when empty)."""
        request = urllib.request.Request(f"{self.url}{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=30) as answer:
            body = answer.read()
        return json.loads(body) if body else None

    def kernels_idle(self) -> bool:
        """Whether the server reports every running kernel idle (its own record of the
        kernels' status messages, independent of what the page shows)."""
        return all(k["execution_state"] == "idle" for k in self.api("GET", "/api/kernels"))

    def shut_down_kernels(self) -> None:
        """End every session and its kernel (a closed notebook keeps its kernel otherwise)."""
        for session in self.api("GET", "/api/sessions"):
            self.api("DELETE", f"/api/sessions/{session['id']}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _server_env(results: Path, home: Path) -> dict[str, str]:
    """The environment a researcher's JupyterLab would have, on the demo profile, with
    the results folder moved to a copy and Jupyter's own folders to temporary ones."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("JDFD_", "JUPYTER", "MPLBACKEND", "TQDM_"))}
    env.update(
        JDFD_ROOT=str(ROOT), JDFD_PROFILE="demo", JDFD_DATA_ROOT="data/demo",
        JDFD_FACES_ROOT="data/demo_faces", JDFD_RUNS_DIR="runs", JDFD_RESULTS_DIR=str(results),
        HF_HUB_OFFLINE="1", PYTHONHASHSEED="0",
        JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_DATA_DIR=str(home / "data"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"), IPYTHONDIR=str(home / "ipython"),
        JUPYTERLAB_SETTINGS_DIR=str(home / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"),
    )
    # no toast asking to fetch Jupyter news, no request to a website
    notification = home / "settings" / "@jupyterlab" / "apputils-extension"
    notification.mkdir(parents=True)
    (notification / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    return env


def _wait_for_server(lab: Lab, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"JupyterLab exited with {process.returncode}; its log: {lab.log}")
        try:
            lab.api("GET", "/api/status")
            return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.5)  # nothing to wait on but the port
    pytest.fail(f"JupyterLab did not answer within {SERVER_START_TIMEOUT} s; its log: {lab.log}")


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory):
    """A JupyterLab server on copies of notebooks/ and results/demo (module docstring)."""
    if not (ROOT / "results" / "demo" / "metrics.json").is_file():
        pytest.fail("no demo results: run ./run_all.sh first (results/demo/metrics.json)")
    base = tmp_path_factory.mktemp("lab")
    notebooks = base / "notebooks"
    shutil.copytree(ROOT / "notebooks", notebooks, ignore=shutil.ignore_patterns(".*"))
    results = base / "results" / "demo"
    shutil.copytree(ROOT / "results" / "demo", results,
                    ignore=shutil.ignore_patterns("notebooks"))  # nbval's executed copies
    port, token = _free_port(), secrets.token_hex(16)
    lab = Lab(f"http://127.0.0.1:{port}", token, notebooks, base / "jupyterlab.log")
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
               f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
               f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={notebooks}",
               "--ServerApp.allow_root=True"]  # CI containers run as root
    with lab.log.open("wb") as log:
        process = subprocess.Popen(command, cwd=notebooks, env=_server_env(results, base),
                                   stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_for_server(lab, process)
        yield lab
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, headless, driven by its chromedriver."""
    from selenium import webdriver

    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not chromium or not driver:
        pytest.fail("the browser test needs chromium and chromedriver: "
                    "apt-get install chromium chromium-driver (./run_tests.sh installs them)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--window-size=1400,1000"):
        options.add_argument(argument)
    chrome = webdriver.Chrome(options=options, service=webdriver.ChromeService(driver))
    try:
        yield chrome
    finally:
        chrome.quit()
