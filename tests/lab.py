"""A real JupyterLab in headless Chromium, for the browser tests: the server from the student's
venv (``make setup`` builds ``.venv-lab``, without the harness), Chromium and chromedriver from
Debian, driven through Selenium. Lab runs with ``expose_app_in_browser`` so the test can call
its commands (``notebook:run-all-cells``) as the menu does."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LAB_VENV = Path(os.environ.get("LAB_VENV", ROOT / ".venv-lab"))
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
BROWSER_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--window-size=1200,1000"]  # fmt: skip


def missing() -> str:
    """Why the browser tests cannot run here ("" when they can). In CI (``$CI`` set) they
    must run: the reason is raised, not skipped, so a missing install step fails the build."""
    why = _missing()
    if why and os.environ.get("CI"):
        raise RuntimeError(f"browser tests cannot run in CI: {why}")
    return why


def _missing() -> str:
    if CHROMIUM is None or CHROMEDRIVER is None:
        return "chromium and chromium-driver are not installed (make system)"
    if not (LAB_VENV / "bin" / "jupyter-lab").exists():
        return f"no JupyterLab venv at {LAB_VENV} (make setup builds it)"
    return ""


def wait_for(what: Callable[[], Any], timeout: float, message: str) -> Any:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        got = what()
        if got:
            return got
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:g} s: {message}")


class Lab:
    """One JupyterLab page: open notebooks, run them, read their outputs."""

    def __init__(self, driver: Any, base: str, root: Path) -> None:
        self.driver = driver
        self.base = base
        self.root = root  # the folder the server shows

    def js(self, script: str, *args: Any) -> Any:
        return self.driver.execute_script(script, *args)

    def command(self, name: str, args: dict[str, Any] | None = None) -> None:
        self.js("window.jupyterapp.commands.execute(arguments[0], arguments[1]); return null",
                name, args or {})  # fmt: skip

    def ready(self) -> None:
        """The page's plugins are loaded (the commands the test uses exist)."""
        wait_for(lambda: self.js("var a=window.jupyterapp;return !!(a&&a.commands&&"
                                 "a.commands.hasCommand('docmanager:open')&&"
                                 "a.commands.hasCommand('notebook:run-all-cells'))"),
                 90, "JupyterLab's plugins did not load")  # fmt: skip

    def open(self, name: str) -> None:
        """Open ``name`` (or bring it to the front) and wait until it stays in front: after a
        reload, the layout JupyterLab restores may still change the current tab."""

        def in_front() -> bool:
            if self.current_path() != name:
                self.command("docmanager:open", {"path": name})
                return False
            time.sleep(1.0)
            return self.current_path() == name

        wait_for(in_front, 60, f"{name} did not open")
        self.idle()

    def current_path(self) -> str:
        return str(self.js("var w=window.jupyterapp.shell.currentWidget;"
                           "return w&&w.context?w.context.path:''"))  # fmt: skip

    def idle(self, timeout: float = 120) -> None:
        """The current notebook's kernel is started and idle."""
        wait_for(lambda: self.js("var w=window.jupyterapp.shell.currentWidget;"
                                 "var k=w&&w.sessionContext&&w.sessionContext.session&&"
                                 "w.sessionContext.session.kernel;return !!k&&k.status==='idle'"),
                 timeout, "the kernel did not become idle")  # fmt: skip

    def run_all(self, timeout: float = 180) -> None:
        """Run every cell of the current notebook and wait until each has run."""
        self.command("notebook:run-all-cells")
        time.sleep(0.5)
        wait_for(lambda: self.js("var w=window.jupyterapp.shell.currentWidget;"
                                 "var cells=w.content.widgets.filter(c=>c.model.type==='code');"
                                 "return cells.every(c=>c.model.executionCount!==null)"
                                 "&&w.sessionContext.session.kernel.status==='idle'"),
                 timeout, "the cells did not all run")  # fmt: skip

    def outputs(self, index: int) -> Any:
        """The output area element of the current notebook's code cell ``index``, scrolled
        into view (JupyterLab lays out only the cells near the viewport)."""
        area = self.js("var w=window.jupyterapp.shell.currentWidget;"
                       "var c=w.content.widgets.filter(c=>c.model.type==='code')[arguments[0]];"
                       "c.node.scrollIntoView({block:'start'});"
                       "return c.node.querySelector('.jp-OutputArea')", index)  # fmt: skip
        time.sleep(0.3)
        return area

    def shot(self, element: Any, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.js("arguments[0].scrollIntoView({block:'start'})", element)
        time.sleep(0.3)
        element.screenshot(str(path))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def jupyterlab(root: Path, log: Path, env: dict[str, str] | None = None) -> Iterator[Lab]:
    """A JupyterLab server on ``root`` and a headless Chromium showing it."""
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    port, token = _free_port(), secrets.token_hex(16)
    home = root.parent / f"{root.name}-home"  # the server's settings and workspaces
    home.mkdir(exist_ok=True)
    news = home / ".jupyter/lab/user-settings/@jupyterlab/apputils-extension"
    news.mkdir(parents=True, exist_ok=True)  # no "get notified about Jupyter news?" toast
    (news / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    server_env = {**os.environ, **(env or {}), "HOME": str(home), "JUPYTER_CONFIG_DIR":
                  str(home / ".jupyter"), "JUPYTER_DATA_DIR": str(home / "data")}  # fmt: skip
    server_env.pop("PYTHONPATH", None)  # the student's kernel sees no harness
    log_file = log.open("w")
    server = subprocess.Popen(
        [str(LAB_VENV / "bin" / "jupyter-lab"), "--no-browser", f"--port={port}",
         "--ip=127.0.0.1", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
         "--allow-root", "--LabApp.expose_app_in_browser=True",
         "--LabApp.news_url=", "--LabApp.check_for_updates_class="
         "jupyterlab.handlers.announcements.NeverCheckForUpdate"],
        stdout=log_file, stderr=subprocess.STDOUT, env=server_env, cwd=root,
    )  # fmt: skip
    driver = None
    try:
        wait_for(lambda: _listening(port), 60, "JupyterLab did not start")
        opts = Options()
        opts.binary_location = str(CHROMIUM)
        for flag in BROWSER_FLAGS:
            opts.add_argument(flag)
        driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=opts)
        driver.get(f"http://127.0.0.1:{port}/lab?token={token}")
        lab = Lab(driver, f"http://127.0.0.1:{port}", root)
        lab.ready()
        yield lab
    finally:
        if driver is not None:
            driver.quit()
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log_file.close()


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), 0.3).close()
        return True
    except OSError:
        return False
