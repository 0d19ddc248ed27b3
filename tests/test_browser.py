"""A real browser: JupyterLab + headless chromium (Playwright) run 01_internalization.ipynb end to end.

Starts JupyterLab on 127.0.0.1 (random free port, a token, temporary config / runtime / settings
directories, a temporary copy of the notebook), runs all cells from the Run menu, checks that no
cell failed and that the widgets rendered, then moves the overlap slider with the keyboard and
waits until the evaluator PCA in the page shows the new arrangement. Screenshots go to
``test-output/browser/``. Every wait is bounded; the server is killed in ``finally``.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = "01_internalization.ipynb"
CHROMIUM = Path("/usr/bin/chromium")
OUTPUT = ROOT / "test-output" / "browser"
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--no-first-run"]
RUN_ALL_TIMEOUT_MS = 150_000

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")]

# JupyterLab settings for a quiet, fully rendered notebook: no news pop-up, every cell in the DOM
SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                        "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none",
                                                                   "autoStartDefaultKernel": True},
}

# the evaluator panel's PCA plot in the page: its title and arrow tips (trace 2), read from plotly.js
READ_PCA = """() => {
  const plot = document.querySelector('.scalarscope-evaluator-panel .js-plotly-plot');
  if (!plot || !plot.data || plot.data.length < 3 || !plot.layout) return null;  // still drawing
  const tips = plot.data[2];
  return {title: (plot.layout.title && plot.layout.title.text) || '',
          x: Array.from(tips.x || []), y: Array.from(tips.y || [])};
}"""


# cycles drawn so far by the dashboard's curves view (its third plot)
READ_CURVES = """() => {
  const plots = document.querySelectorAll('.scalarscope-dashboard .js-plotly-plot');
  return plots.length === 4 && plots[2].data && plots[2].data[0] ? Array.from(plots[2].data[0].x || []).length : 0;
}"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_server(url: str, server: subprocess.Popen, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"JupyterLab exited early with code {server.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"JupyterLab did not answer {url} within {timeout:.0f} s")


def _start_lab(workdir: Path, port: int, token: str) -> subprocess.Popen:
    settings = workdir / ".settings"
    for name, values in SETTINGS.items():
        path = settings / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(workdir / ".config"),
           "JUPYTER_RUNTIME_DIR": str(workdir / ".runtime"), "JUPYTERLAB_SETTINGS_DIR": str(settings),
           "JUPYTERLAB_WORKSPACES_DIR": str(workdir / ".workspaces"), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root", "--ip=127.0.0.1",
               f"--port={port}", "--ServerApp.port_retries=0", f"--ServerApp.token={token}",
               f"--ServerApp.root_dir={workdir}", "--LabApp.news_url=", "--ServerApp.open_browser=False"]
    log = open(workdir / "jupyterlab.log", "w")  # noqa: SIM115 (closed with the process)
    return subprocess.Popen(command, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)


def _stop(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=15)


def _share(title: str) -> float:
    match = re.search(r"first factor (\d\.\d+)", title)
    return float(match.group(1)) if match else float("nan")


def _errors(page) -> list[str]:
    texts = page.eval_on_selector_all(
        ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr'], "
        ".jp-RenderedText[data-mime-type*='error']", "nodes => nodes.map(n => n.innerText)")
    return [t for t in texts if "Traceback" in t or "Error" in t]


def test_front_door_notebook_runs_and_the_overlap_slider_redraws_the_pca(tmp_path):
    from playwright.sync_api import sync_playwright

    start = time.perf_counter()
    OUTPUT.mkdir(parents=True, exist_ok=True)
    (tmp_path / "notebooks").mkdir()
    shutil.copy(ROOT / "notebooks" / NOTEBOOK, tmp_path / "notebooks" / NOTEBOOK)
    port, token = _free_port(), secrets.token_hex(16)
    server = _start_lab(tmp_path, port, token)
    try:
        _wait_for_server(f"http://127.0.0.1:{port}/api/status?token={token}", server)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1500, "height": 1000})
                page.set_default_timeout(60_000)
                try:
                    result = _drive(page, port, token, start)
                except BaseException:
                    page.screenshot(path=str(OUTPUT / "failure.png"))
                    raise
            finally:
                browser.close()
    finally:
        _stop(server)

    loaded, ran, moved, spread, collapsed, readout, status = result
    stopped = int(re.search(r"stopped after (\d+) cycles", status).group(1))
    assert 5 <= stopped < 2000
    assert _share(spread["title"]) < 0.3 and _share(collapsed["title"]) > 0.85
    assert readout == "0.90"
    # at 0 the arrows point every which way; at 0.9 they all lie along the first axis
    assert max(abs(y) for y in spread["y"]) > 0.4
    assert min(collapsed["x"]) > 0.85 and max(abs(y) for y in collapsed["y"]) < 0.35
    print(f"\nbrowser test: page loaded {loaded:.1f} s, all cells ran {ran:.1f} s, slider and Run N / Stop "
          f"({stopped} cycles) checked {moved:.1f} s after start; screenshots in {OUTPUT}")


def _drive(page, port: int, token: str, start: float):
    """Open the notebook, run all cells, check them, move the slider; returns timings and readings."""
    page.goto(f"http://127.0.0.1:{port}/lab/tree/notebooks/{NOTEBOOK}?token={token}")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=90_000)
    page.wait_for_function(  # the kernel has started and is idle (the indicator is "idle" before it connects)
        """() => {
          const name = document.querySelector('.jp-Toolbar-kernelName');
          const idle = document.querySelector(".jp-Notebook-ExecutionIndicator[data-status='idle']");
          return idle !== null && name !== null && name.innerText.includes('Python');
        }""", timeout=90_000, polling=250)
    loaded = time.perf_counter() - start

    # Run > Run All Cells, then wait until every code cell has run (or one failed)
    page.click(".lm-MenuBar-itemLabel:text-is('Run')")
    page.click(".lm-Menu-itemLabel:text-is('Run All Cells')")
    page.wait_for_function(
        """() => {
          const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].map(p => p.innerText);
          const failed = document.querySelector(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']");
          const idle = document.querySelector(".jp-Notebook-ExecutionIndicator[data-status='idle']");
          return failed !== null || (idle !== null && prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p)));
        }""", timeout=RUN_ALL_TIMEOUT_MS, polling=500)
    ran = time.perf_counter() - start
    assert _errors(page) == []

    # the widgets rendered: two plots in the evaluator panel, four in the dashboard
    page.wait_for_function(
        """() => document.querySelectorAll('.scalarscope-evaluator-panel .js-plotly-plot').length === 2
              && document.querySelectorAll('.scalarscope-dashboard .js-plotly-plot').length === 4""",
        timeout=60_000)
    assert page.locator(".scalarscope-governor-panel").count() == 1
    assert "passes the Desktop contract validator" in page.locator(".scalarscope-export-panel").last.inner_text()
    page.wait_for_function(f"() => ({READ_PCA})() !== null", timeout=60_000)  # its traces drawn, not just the div
    assert _share(page.evaluate(READ_PCA)["title"]) > 0.85  # the notebook built them at overlap 0.87

    # move the overlap slider with the keyboard: Home (0.00), then End and 10 x ArrowLeft (0.90)
    panel = page.locator(".scalarscope-evaluator-panel")
    panel.scroll_into_view_if_needed()
    handle = panel.locator(".widget-slider .noUi-handle").first
    handle.focus()
    handle.press("Home")
    page.wait_for_function(f"() => {{ const s = ({READ_PCA})(); return s && /first factor 0\\.[0-2]/.test(s.title); }}",
                           timeout=30_000)
    spread = page.evaluate(READ_PCA)
    panel.screenshot(path=str(OUTPUT / "overlap_0.png"))
    handle.press("End")
    for _ in range(10):
        handle.press("ArrowLeft")
    page.wait_for_function(
        f"() => {{ const s = ({READ_PCA})(); return s && /first factor 0\\.9/.test(s.title); }}", timeout=30_000)
    page.wait_for_timeout(300)  # let the last redraw paint before the screenshot
    collapsed = page.evaluate(READ_PCA)
    readout = panel.locator(".widget-readout").first.inner_text()
    panel.screenshot(path=str(OUTPUT / "overlap_0.9.png"))
    page.screenshot(path=str(OUTPUT / "jupyterlab.png"))

    # Run N trains in the background while the page stays live; Stop ends it after the current cycle
    dashboard = page.locator(".scalarscope-dashboard")
    dashboard.scroll_into_view_if_needed()
    cycles_before = page.evaluate(READ_CURVES)
    dashboard.locator("input[type=number]").fill("2000")
    dashboard.locator("input[type=number]").press("Enter")
    dashboard.locator("button:has-text('Run N')").click()
    page.wait_for_function(f"() => ({READ_CURVES})() >= {cycles_before + 5}", timeout=60_000)
    dashboard.locator("button:has-text('Stop')").click()
    dashboard.locator(".widget-html:has-text('stopped after')").wait_for(timeout=30_000)
    status = dashboard.locator(".widget-html:has-text('stopped after')").inner_text()
    dashboard.screenshot(path=str(OUTPUT / "dashboard.png"))
    return loaded, ran, time.perf_counter() - start, spread, collapsed, readout, status
