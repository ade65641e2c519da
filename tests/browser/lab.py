"""A throw-away `jupyter lab` server, and what a user does in it, for the browser tests.

The server runs on a free port with a token, with its own config, settings and workspaces
folders, so nothing of the user's JupyterLab setup leaks in, and nothing leaks out. One
setting differs from JupyterLab's defaults: notebooks are not windowed
(`windowingMode: "none"`), so every cell of a notebook is in the page and its outputs can
be checked there; JupyterLab 4 otherwise keeps only the cells near the screen.

Every wait is on the application's state (a prompt, the kernel's status, a dialog, a
saved file), never a fixed sleep.
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

from playwright.sync_api import TimeoutError as PlaywrightTimeout

from autograde.preloaded import JUPYTERLAB_OPTIONS

CHROMIUM = Path("/usr/bin/chromium")  # Debian's package; Playwright's own download is not used
# Headless, and quiet: without the background-networking flags Chromium keeps trying to reach
# Google's services, which a closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1366, "height": 768}  # a common laptop screen
LONG = 600_000  # ms: the longest one run or validation may take (a lesson takes 30-60 s here)
SHORT = 90_000  # ms: the longest anything else may take (a click, a page, a kernel's start)
# s: the longest a run may go without a cell finishing or an output appearing. A lesson's
# slowest cell takes about 4 s, 20 s on a busy machine; a kernel that hangs never finishes.
STALL = 120

SETTINGS = {
    # Every cell in the page, so that outputs can be checked without scrolling.
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    # No news or update pop-ups over the notebook.
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class JupyterLab:
    """`jupyter lab` in ROOT (its working directory too, where nbgrader reads its config)."""

    def __init__(self, root, home):
        self.root, self.home = Path(root), Path(home)
        self.port = free_port()
        self.token = uuid.uuid4().hex
        self.base = f"http://127.0.0.1:{self.port}"
        self.process = None
        self.log = self.home / "jupyterlab.log"

    def start(self, timeout=90):
        settings = self.home / "user-settings"
        for name, values in SETTINGS.items():
            path = settings / f"{name}.jupyterlab-settings"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))
        for folder in ("config", "data", "runtime", "workspaces"):
            (self.home / folder).mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "JUPYTER_CONFIG_DIR": str(self.home / "config"),
            "JUPYTER_RUNTIME_DIR": str(self.home / "runtime"),
            "JUPYTERLAB_SETTINGS_DIR": str(settings),
            "JUPYTERLAB_WORKSPACES_DIR": str(self.home / "workspaces"),
        }
        command = [
            sys.executable,
            "-m",
            "jupyterlab",  # the server itself, one process (not the `jupyter` launcher)
            "--no-browser",
            "--allow-root",  # CI runs as root
            f"--port={self.port}",
            "--ip=127.0.0.1",
            f"--ServerApp.token={self.token}",
            f"--ServerApp.root_dir={self.root}",
            f"--LabApp.user_settings_dir={settings}",
            f"--LabApp.workspaces_dir={self.home / 'workspaces'}",
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            *JUPYTERLAB_OPTIONS,  # kernels as `autograde lab` starts them: preloaded
        ]
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                command,
                cwd=self.root,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyter lab exited:\n{self.log.read_text()[-3000:]}")
            try:
                self.api("GET", "api/status")
                return self
            except OSError:
                time.sleep(0.2)  # polling the server's own status until it answers
        raise RuntimeError(f"jupyter lab did not answer in {timeout} s:\n{self.log.read_text()}")

    def stop(self):
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)  # the server shuts its kernels down
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)  # its own session: only what it started
            self.process.wait()

    def url(self, path=""):
        return f"{self.base}/{path}?token={self.token}"

    def api(self, method, path):
        request = urllib.request.Request(
            f"{self.base}/{path}", method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def stacks(self):
        """What each process under the server is doing: every thread's Python stack, as
        `py-spy dump` prints it (the kernels, the preloaded process they fork from)."""
        py_spy = Path(sys.executable).with_name("py-spy")
        dumps = []
        for pid in descendants(self.process.pid):
            try:
                result = subprocess.run(
                    [py_spy, "dump", "--pid", str(pid)], capture_output=True, text=True, timeout=60
                )
                dumps.append(f"--- pid {pid}\n{result.stdout}{result.stderr}")
            except (OSError, subprocess.TimeoutExpired) as error:
                dumps.append(f"--- pid {pid}: py-spy failed: {error}")
        return "\n".join(dumps)

    def shut_down_kernels(self):
        """End every kernel, so that the next lesson starts with the machine to itself."""
        for session in self.api("GET", "api/sessions"):
            self.api("DELETE", f"api/sessions/{session['id']}")
        for kernel in self.api("GET", "api/kernels"):
            self.api("DELETE", f"api/kernels/{kernel['id']}")


# --- what a user does ---------------------------------------------------------------------

NOTEBOOK = "#jp-main-dock-panel .jp-NotebookPanel:not(.lm-mod-hidden)"

# Per cell of the open notebook, in order: whether it is a code cell, and its prompt ("[3]:",
# "[*]:" waiting or running, "[ ]:" not run). Every cell is in the page (not windowed).
CELLS_JS = """(panel) => [...document.querySelectorAll(panel + ' .jp-Notebook .jp-Cell')].map(c => ({
  code: c.classList.contains('jp-CodeCell'),
  prompt: (c.querySelector('.jp-InputArea-prompt') || {}).textContent || '',
}))"""

# Done: no cell waiting or running, the kernel idle, and some cell ran since `before`.
DONE_JS = """([panel, before]) => {
  const notebook = document.querySelector(panel);
  const prompts = [...notebook.querySelectorAll('.jp-InputArea-prompt')].map(p => p.textContent);
  const counts = prompts.map(p => parseInt((p.match(/\\[(\\d+)\\]/) || [0, -1])[1]));
  const status = notebook.querySelector('.jp-Notebook-ExecutionIndicator');
  return !prompts.some(p => p.includes('*'))
    && status !== null && status.getAttribute('data-status') === 'idle'
    && Math.max(-1, ...counts) > before;
}"""

# Every image in the notebook's outputs: loaded or not, its width and the room it has.
IMAGES_JS = """(panel) => [...document.querySelectorAll(panel + ' .jp-OutputArea-output img')].map(img => ({
  loaded: img.complete && img.naturalWidth > 0,
  natural: img.naturalWidth,
  shown: img.getBoundingClientRect().width,
  room: img.closest('.jp-OutputArea-output').getBoundingClientRect().width,
}))"""


# Per cell: how tall its outputs are, and by how much its code is wider than the cell (it
# then scrolls sideways), in pixels, as laid out on the page.
LAYOUT_JS = """(panel) => [...document.querySelectorAll(panel + ' .jp-Notebook .jp-Cell')].map(c => {
  const outputs = c.querySelector('.jp-OutputArea');
  const code = c.querySelector('.jp-CodeCell .cm-scroller');
  return {
    outputs: outputs ? Math.round(outputs.getBoundingClientRect().height) : 0,
    overflow: code ? Math.max(0, code.scrollWidth - code.clientWidth) : 0,
  };
})"""


def open_lab(page, lab, folder=""):
    """JupyterLab in a workspace of its own, its file browser in FOLDER."""
    workspace = f"test-{uuid.uuid4().hex[:8]}"
    path = f"lab/workspaces/{workspace}" + (f"/tree/{folder}" if folder else "")
    page.goto(lab.url(path))
    page.locator("#filebrowser .jp-DirListing-content").wait_for()
    return page


def listing(page):
    """The names the file browser shows."""
    items = page.locator("#filebrowser .jp-DirListing-item .jp-DirListing-itemText")
    items.first.wait_for()
    return [text.strip() for text in items.all_inner_texts()]


def open_notebook(page, name):
    """Double-click NAME in the file browser; wait until its kernel is idle."""
    page.locator("#filebrowser .jp-DirListing-item", has_text=name).first.dblclick()
    page.locator(f"{NOTEBOOK} .jp-Cell").first.wait_for()
    wait_kernel_idle(page)


def wait_kernel_idle(page, timeout=SHORT):
    # The status bar says "Python 3 (ipykernel) | Idle" once the kernel is up and waiting.
    page.locator("#jp-main-statusbar").get_by_text(re.compile(r"\| Idle$")).wait_for(
        timeout=timeout
    )


def menu(page, top, item):
    """Choose TOP > ITEM in JupyterLab's menu bar."""
    page.locator("#jp-MainMenu .lm-MenuBar-itemLabel", has_text=top).first.click()
    label = page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{re.escape(item)}$"))
    page.locator(".lm-Menu .lm-Menu-item").filter(has=label).click()


def cells(page):
    return page.evaluate(CELLS_JS, NOTEBOOK)


def last_count(page):
    counts = [
        int(m[1]) for c in cells(page) if c["code"] and (m := re.search(r"\[(\d+)\]", c["prompt"]))
    ]
    return max(counts, default=-1)


class Stalled(AssertionError):
    """A run made no progress for STALL seconds: a cell shows [*] and nothing changes."""


# What changes while a run makes progress: the prompts, and how many outputs there are.
PROGRESS_JS = """(panel) => [
  [...document.querySelectorAll(panel + ' .jp-InputArea-prompt')].map(p => p.textContent).join(),
  document.querySelectorAll(panel + ' .jp-OutputArea-output').length,
]"""


def run(page, top, item, timeout=LONG):
    """Choose a Run menu item; wait until what it started is over. Returns the seconds taken.

    Raises Stalled, naming the cell that is running, when nothing changes for STALL seconds.
    """
    before = last_count(page)
    start = time.monotonic()
    menu(page, top, item)
    progress, changed = None, start
    while True:
        try:
            page.wait_for_function(DONE_JS, arg=[NOTEBOOK, before], timeout=5_000, polling=100)
            return time.monotonic() - start
        except PlaywrightTimeout:
            pass
        now, latest = time.monotonic(), page.evaluate(PROGRESS_JS, NOTEBOOK)
        if latest != progress:
            progress, changed = latest, now
        elif now - changed > STALL:
            running = [i for i, c in enumerate(cells(page)) if "*" in c["prompt"]]
            # Idle here means the kernel never got (or never answered) the next request.
            status = page.locator("#jp-main-statusbar").inner_text().split("\n")
            kernel = next((line for line in status if "|" in line), "no kernel status")
            raise Stalled(f"no progress for {STALL} s; cells showing [*]: {running}; {kernel}")
        if now - start > timeout / 1000:
            raise AssertionError(f"{item} was still running after {timeout / 1000:.0f} s")


def select_cell(page, index):
    """Click the cell's prompt area; wait until it is the active cell (command mode).

    A busy page can still be laying out outputs when the click lands: the wait makes
    sure the cell clicked is the one that will run.
    """
    page.locator(f"{NOTEBOOK} .jp-Notebook .jp-Cell").nth(index).locator(".jp-InputPrompt").click()
    page.wait_for_function(
        """([panel, index]) => document.querySelectorAll(panel + ' .jp-Notebook .jp-Cell')[index]
            .classList.contains('jp-mod-active')""",
        arg=[NOTEBOOK, index],
        timeout=SHORT,
    )


def run_all_the_way(page):
    """Run > Run All Cells, then, wherever an error stopped it, on from the next cell.

    JupyterLab stops Run All at the first error outside a cell tagged `raises-exception`
    (the queued cells are aborted, their prompts empty). A student who has not answered an
    exercise gets such an error in its test cell; "Run Selected Cell and All Below" from the
    first cell that has not run carries on. Returns (seconds in all, the indexes of the
    cells it stopped at).
    """
    seconds = run(page, "Run", "Run All Cells")
    stops = []
    while True:
        state = cells(page)
        ran = [i for i, c in enumerate(state) if c["code"] and re.search(r"\[\d+\]", c["prompt"])]
        not_run = [i for i, c in enumerate(state) if c["code"] and i not in ran]
        if not not_run:
            return seconds, stops
        stop = max((i for i in ran if i < not_run[0]), default=-1)  # where it stopped
        if stops and stops[-1] == stop:
            raise AssertionError(f"nothing ran after the error in cell {stop}")
        stops.append(stop)
        select_cell(page, not_run[0])
        seconds += run(page, "Run", "Run Selected Cell and All Below")


def restart_and_clear(page):
    """Kernel > Restart Kernel and Clear Outputs of All Cells, confirmed; wait until idle."""
    menu(page, "Kernel", "Restart Kernel and Clear Outputs of All Cells…")
    page.locator(".jp-Dialog-footer .jp-mod-accept").click()
    page.wait_for_function(
        "(panel) => ![...document.querySelectorAll(panel + ' .jp-InputArea-prompt')]"
        ".some(p => /[0-9*]/.test(p.textContent))",
        arg=NOTEBOOK,
    )
    wait_kernel_idle(page)


def save(page):
    """File > Save Notebook; wait until the server has written the file and the tab is clean."""
    with page.expect_response(
        lambda r: r.request.method == "PUT" and "/api/contents/" in r.url, timeout=60_000
    ) as response:
        menu(page, "File", "Save Notebook")
    assert response.value.ok, f"saving failed: {response.value.status}"
    page.locator("#jp-main-dock-panel .lm-TabBar-tab.jp-mod-current:not(.jp-mod-dirty)").wait_for()


def layout(page):
    """Per cell: the height of its outputs and the sideways overflow of its code, in pixels."""
    return page.evaluate(LAYOUT_JS, NOTEBOOK)


def images(page):
    """Every image in the notebook's outputs: loaded or not, its width and the room it has."""
    return page.evaluate(IMAGES_JS, NOTEBOOK)


def descendants(pid):
    """The pids of the processes under `pid`: its children, theirs, and so on (from /proc)."""
    found = children(pid)
    for child in list(found):
        found.extend(descendants(child))
    return found


def children(pid):
    """The pids of the processes whose parent is `pid` (from /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/stat") as stat:
                if int(stat.read().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry))
        except (OSError, ValueError, IndexError):
            continue  # not a process, or one that has just ended
    return found
