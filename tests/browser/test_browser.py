"""The book as a reader sees it: JupyterLab in headless Chromium opens every chapter, and a widget works.

nbval compares what the kernel printed; this test looks at what the browser shows. It starts
JupyterLab on 127.0.0.1 (a free port, a token, settings and runtime files in a temporary directory),
drives Debian's Chromium with Playwright (`executable_path`, nothing downloaded) and

1. opens every chapter in notebooks/ from the file browser and checks that the stored outputs render:
   every cell is there, every figure image decoded, no stderr beyond the stored tracebacks, no output
   without a renderer, no MathJax error, links between chapters resolve, and the Chinese characters
   of the headings are drawn as glyphs;
2. runs chapter 2's first widget (with the cells above it, which are cheap), moves its first slider
   with the keyboard and asserts that the figure under it was redrawn. Chapter 3's widget sits below
   a training run, so running it would cost minutes; its chapter is only rendered.

Notebooks are copied to a temporary directory first, so the work tree is never touched. Screenshots
go to $COMPANION_SCREENSHOTS if set, else to pytest's temporary directory; the path is printed.

Chinese in figures is drawn by matplotlib into the PNG (companion.plot's CJK font), so in the browser
it only has to decode. Chinese in markdown is drawn by the browser with the reader's system fonts; a
machine without a CJK font shows boxes. The browser here is given the CJK font the book already ships
(mplfonts' Noto Sans CJK SC, through a private fontconfig file), as any desktop with a CJK font would.
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
from importlib.resources import files
from pathlib import Path
from urllib.parse import unquote, urlparse

import nbformat
import pytest

from tests.helpers import DRAW_GLYPH_JS

REPO = Path(__file__).resolve().parents[2]
CHAPTERS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
CHROMIUM = os.environ.get("COMPANION_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
# Flags that keep Chromium quiet on a closed network (no background connections, no updates).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STARTUP_TIMEOUT_S = 60
STEP_TIMEOUT_MS = 30_000
# Chapters whose first widget is run in the browser, with every code cell above it (cheap in chapter 2:
# imports and two small definitions). Chapter 3's widget sits below a training run, so it is only rendered.
WIDGET_CHAPTERS = [c for c in CHAPTERS if c.stem == "02_core_concepts"]
# Apart from the unit tests (tests/browser/, marker "browser"): `pytest -m "not browser"` leaves it out.
pytestmark = pytest.mark.browser

playwright_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install -r requirements.txt)"
)
if not os.access(CHROMIUM, os.X_OK):
    pytest.skip(
        f"Chromium not found at {CHROMIUM}: install Debian's chromium (apt-get install chromium) "
        "or set COMPANION_CHROMIUM to its path",
        allow_module_level=True,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_settings(settings_dir: Path) -> None:
    """User settings: render every cell (no windowing), no news fetching, kernels stop with their tab."""
    settings = {
        "notebook-extension/tracker": {"windowingMode": "none", "kernelShutdown": True},
        "apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    }
    for name, values in settings.items():
        path = settings_dir / "@jupyterlab" / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


def fontconfig_with_book_font(directory: Path) -> Path:
    """A fontconfig file: the system's fonts plus the CJK font that companion.plot uses for figures."""
    from companion.plot import BUNDLED_FONT_FILE

    fonts = directory / "fonts"
    fonts.mkdir(parents=True)
    (fonts / BUNDLED_FONT_FILE).symlink_to(Path(str(files("mplfonts") / "fonts" / BUNDLED_FONT_FILE)))
    config = directory / "fonts.conf"
    config.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n'
        '  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>\n'
        f"  <dir>{fonts}</dir>\n  <cachedir>{directory / 'cache'}</cachedir>\n</fontconfig>\n"
    )
    return config


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory, pytestconfig) -> Path:
    out = Path(os.environ.get("COMPANION_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    out.mkdir(parents=True, exist_ok=True)
    capture = pytestconfig.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print(f"\nbrowser test: screenshots in {out}")
    return out


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab on 127.0.0.1 serving a temporary copy of the chapters; yields (url, root, wait_until_ready)."""
    base = tmp_path_factory.mktemp("lab")
    root = base / "root"
    root.mkdir()
    for chapter in CHAPTERS:
        shutil.copy2(chapter, root / chapter.name)
    # Everything JupyterLab and IPython write (settings, workspaces, runtime files) stays under base.
    env = dict(os.environ, JUPYTER_PLATFORM_DIRS="1")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"  # the kernel is this Python
    private_dirs = {
        "JUPYTER_CONFIG_DIR": "config",
        "JUPYTER_RUNTIME_DIR": "runtime",
        "JUPYTER_DATA_DIR": "data",
        "JUPYTERLAB_SETTINGS_DIR": "settings",
        "JUPYTERLAB_WORKSPACES_DIR": "workspaces",
        "IPYTHONDIR": "ipython",
    }
    for var, name in private_dirs.items():
        (base / name).mkdir()
        env[var] = str(base / name)
    write_settings(base / "settings")
    port, token = free_port(), secrets.token_hex(16)
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
               f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
               f"--ServerApp.root_dir={root}", "--ServerApp.allow_root=True"]
    log_path = base / "jupyterlab.log"
    with open(log_path, "w") as log:
        server = subprocess.Popen(command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    url = f"http://127.0.0.1:{port}"

    def wait_until_ready() -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2):
                    return
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    tail = log_path.read_text()[-2000:]
                    pytest.fail(f"JupyterLab did not answer within {STARTUP_TIMEOUT_S} s (exit code "
                                f"{server.poll()}); log:\n{tail}")
                time.sleep(0.3)

    try:
        yield f"{url}/lab?token={token}", root, wait_until_ready
    finally:
        # SIGTERM lets the server shut its kernels down; SIGKILL the group if it hangs.
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


@pytest.fixture(scope="module")
def page(lab, tmp_path_factory):
    """One JupyterLab page for the whole module (loading the app costs ~10 s); collects console errors."""
    url, _, wait_until_ready = lab
    env = dict(os.environ, FONTCONFIG_FILE=str(fontconfig_with_book_font(tmp_path_factory.mktemp("fontconfig"))))
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, env=env)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 1000})
            page = context.new_page()
            page.set_default_timeout(STEP_TIMEOUT_MS)
            page.console_errors = []
            page.on("console", lambda m: page.console_errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: page.console_errors.append(f"uncaught: {e}"))
            wait_until_ready()  # the server started while Chromium did
            page.goto(url)
            page.locator(".jp-DirListing-item").first.wait_for(timeout=60_000)
            yield page
        finally:
            browser.close()


def open_notebook(page, name: str):
    """Open a notebook from the file browser, as a reader would; returns its panel once the cells are there."""
    page.locator(".jp-DirListing-item", has_text=name).first.dblclick()
    panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
    panel.locator(".jp-Notebook .jp-Cell").first.wait_for()
    return panel


def wait_for_idle_kernel(page) -> None:
    # The kernel name next to "Idle" in the status bar: the active notebook's kernel has started.
    page.locator(".jp-StatusBar-Item", has_text=re.compile(r"\(ipykernel\) \| Idle")).first.wait_for(timeout=60_000)


@pytest.fixture(autouse=True)
def close_tabs_after(page):
    """Each test starts from an empty main area, even after a failure: File > Close All Tabs, discarding."""
    yield
    page.keyboard.press("Escape")
    page.click(".lm-MenuBar-itemLabel:text-is('File')")
    page.click(".lm-Menu-itemLabel:text-is('Close All Tabs')")
    panels = page.locator(".jp-NotebookPanel")
    deadline = time.monotonic() + 30
    while panels.count() and time.monotonic() < deadline:
        discard = page.locator(".jp-Dialog button", has_text="Discard")
        if discard.count():
            discard.first.click()  # a notebook that was run asks whether to save; the copy is not worth it
        page.wait_for_timeout(200)
    assert panels.count() == 0, "notebook tabs did not close"


# For each heading with Chinese characters: the characters that the heading's own font stack draws
# exactly like an unassigned code point (U+0378), i.e. as the missing-glyph box ("tofu").
TOFU_IN_HEADINGS_JS = r"""
(panel) => {
""" + DRAW_GLYPH_JS + r"""  return [...panel.querySelectorAll('.jp-RenderedMarkdown :is(h1, h2, h3, h4, h5, h6)')]
    .map(h => {
      const han = [...new Set([...h.textContent].filter(c => /\p{Script=Han}/u.test(c)))];
      const style = getComputedStyle(h);
      const font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
      const tofu = draw('\u0378', font);
      return {text: h.textContent.trim(), han: han.length, boxes: han.filter(c => draw(c, font) === tofu)};
    })
    .filter(h => h.han > 0);
}
"""

IMAGES_JS = """
(panel) => [...panel.querySelectorAll('.jp-OutputArea-output img')]
  .map(img => ({complete: img.complete, width: img.naturalWidth, height: img.naturalHeight}))
"""


LINKS_JS = "(panel) => [...panel.querySelectorAll('.jp-RenderedMarkdown a[href]')].map(a => a.href)"


def missing_link_targets(panel, root: Path) -> list[str]:
    """Links between chapters render as /files/<name> URLs on this server; each must name a file that exists."""
    missing = []
    for href in panel.evaluate(LINKS_JS):
        url = urlparse(href)
        if url.hostname == "127.0.0.1" and url.path.startswith("/files/"):
            name = unquote(url.path.removeprefix("/files/"))
            if not (root / name).exists():
                missing.append(name)
    return sorted(set(missing))


def assert_headings_are_glyphs(panel) -> list[dict]:
    headings = panel.evaluate(TOFU_IN_HEADINGS_JS)
    boxed = [h for h in headings if h["boxes"]]
    assert not boxed, f"Chinese characters drawn as missing-glyph boxes in headings: {boxed}"
    return headings


def expect(wait, what: str, shown) -> None:
    """Run a Playwright wait; on timeout fail with what was expected and what the page shows instead."""
    try:
        wait()
    except playwright_api.TimeoutError:
        pytest.fail(f"{what}; the page shows instead:\n{shown.inner_text()[-3000:]}", pytrace=False)


STDERR = ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"


def run_cells(page, panel, indices: list[int], timeout_ms: int = 120_000) -> None:
    """Run the given cells in order, as a reader would (select the cell, Ctrl+Enter), each to completion.

    Stored outputs are cleared first, so that a finished cell is one whose prompt shows a number again.
    """
    page.click(".lm-MenuBar-itemLabel:text-is('Edit')")
    page.click(".lm-Menu-itemLabel:text-is('Clear Outputs of All Cells')")
    cells = panel.locator(".jp-Notebook .jp-Cell")
    for index in indices:
        prompt = cells.nth(index).locator(".jp-InputPrompt")
        prompt.click()
        page.keyboard.press("Escape")  # command mode: Ctrl+Enter runs the selected cell and stays on it
        page.keyboard.press("Control+Enter")
        page.wait_for_function("(el) => /\\[\\d+\\]/.test(el.textContent)", arg=prompt.element_handle(),
                               timeout=timeout_ms)
        errors = cells.nth(index).locator(STDERR)
        assert errors.count() == 0, f"cell {index} wrote to stderr:\n" + "\n".join(errors.all_inner_texts())


@pytest.mark.skipif(not CHAPTERS, reason="no chapter notebooks in notebooks/ yet")
@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.stem for c in CHAPTERS])
def test_chapter_renders_its_stored_outputs(lab, page, screenshots, chapter):
    notebook = nbformat.read(lab[1] / chapter.name, as_version=4)  # the copy the browser sees
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    n_png = sum("image/png" in o.get("data", {}) for o in outputs)
    n_errors = sum(o.output_type == "error" for o in outputs)
    has_math = any("$" in cell.source for cell in notebook.cells if cell.cell_type == "markdown")

    errors_before = len(page.console_errors)
    panel = open_notebook(page, chapter.name)
    cells_shown = "([panel, n]) => panel.querySelectorAll('.jp-Notebook .jp-Cell').length === n"
    expect(lambda: page.wait_for_function(cells_shown, arg=[panel.element_handle(), len(notebook.cells)]),
           f"{len(notebook.cells)} cells in {chapter.name}, {panel.locator('.jp-Cell').count()} shown", panel)
    panel.locator(".jp-RenderedMarkdown").first.wait_for()
    page.wait_for_function(
        "(panel) => [...panel.querySelectorAll('.jp-OutputArea-output img')].every(img => img.complete)",
        arg=panel.element_handle(),
    )
    panel.screenshot(path=screenshots / f"{chapter.stem}_top.png")

    images = panel.evaluate(IMAGES_JS)
    assert len(images) >= n_png, f"{n_png} stored PNG figures, {len(images)} images on the page"
    broken = [i for i, image in enumerate(images) if image["width"] == 0]
    assert not broken, f"figures that did not decode (index among images): {broken}"
    if images:
        first_figure = panel.locator(".jp-OutputArea-output img").first
        first_figure.scroll_into_view_if_needed()
        first_figure.screenshot(path=screenshots / f"{chapter.stem}_first_figure.png")

    # Tracebacks render as stderr; the only ones allowed are the stored ones (raises-exception cells).
    stderr = panel.locator(STDERR)
    assert stderr.count() == n_errors, stderr.all_inner_texts()
    page_text = panel.inner_text()
    for message in ["No renderer could be found", "Error displaying widget", "Javascript Error"]:
        assert message not in page_text, f"{message!r} shown in {chapter.name}"
    if has_math:
        panel.locator("mjx-container").first.wait_for()
        assert panel.locator("mjx-merror").count() == 0, panel.locator("mjx-merror").all_inner_texts()
    assert_headings_are_glyphs(panel)
    missing = missing_link_targets(panel, lab[1])
    assert not missing, f"{chapter.name} links to files that do not exist: {missing}"
    new_errors = page.console_errors[errors_before:]
    assert not new_errors, f"browser console errors while opening {chapter.name}: {new_errors}"
    wait_for_idle_kernel(page)  # closing the tab shuts the kernel down; let it finish starting first


# What a widget's output shows: its text and the sources of its images (a redraw makes a new PNG).
OUTPUT_STATE_JS = "(el) => el.innerText + [...el.querySelectorAll('img')].map(img => img.src).join('')"
REDRAWN_JS = """
([el, before]) => {
  const images = [...el.querySelectorAll('img')];
  const state = el.innerText + images.map(img => img.src).join('');
  return state !== before && images.length > 0 && images.every(img => img.complete && img.naturalWidth > 0);
}
"""


@pytest.mark.parametrize("chapter", WIDGET_CHAPTERS, ids=[c.stem for c in WIDGET_CHAPTERS])
def test_chapter_widget_redraws_when_its_slider_moves(lab, page, screenshots, chapter):
    notebook = nbformat.read(lab[1] / chapter.name, as_version=4)
    code = [i for i, cell in enumerate(notebook.cells) if cell.cell_type == "code"]
    widgets = [i for i in code if "interact(" in notebook.cells[i].source]
    assert widgets, f"{chapter.name} has no interact(...) widget cell"
    panel = open_notebook(page, chapter.name)
    wait_for_idle_kernel(page)
    run_cells(page, panel, [i for i in code if i <= widgets[0]])

    cell = panel.locator(".jp-Notebook .jp-Cell").nth(widgets[0])
    output = cell.locator(".widget-output")
    handle = cell.locator(".widget-slider .noUi-handle").first
    expect(handle.wait_for, "no slider in the widget cell", cell)
    expect(output.locator("img").first.wait_for, "no figure under the widget", cell)
    readout = cell.locator(".widget-readout").first
    value_before, state_before = readout.inner_text(), output.evaluate(OUTPUT_STATE_JS)
    cell.screenshot(path=screenshots / f"{chapter.stem}_widget_before.png")

    handle.focus()
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    assert readout.inner_text() != value_before, "the slider did not move"
    expect(lambda: page.wait_for_function(REDRAWN_JS, arg=[output.element_handle(), state_before]),
           f"the widget's output did not change when its first slider moved from {value_before} "
           f"to {readout.inner_text()}", cell)
    # Five key presses queue five redraws: screenshot the last one, once the kernel has been idle and the
    # output unchanged for 2 s (a redraw keeps the old figure until the new one arrives).
    idle = page.locator(".jp-StatusBar-Item", has_text=re.compile(r"\(ipykernel\) \| Idle"))
    state, quiet_since, deadline = None, time.monotonic(), time.monotonic() + 30
    while time.monotonic() - quiet_since < 2.0:
        assert time.monotonic() < deadline, "the widget's output did not settle within 30 s"
        page.wait_for_timeout(250)
        if state != (state := output.evaluate(OUTPUT_STATE_JS)) or idle.count() == 0:
            quiet_since = time.monotonic()
    cell.screenshot(path=screenshots / f"{chapter.stem}_widget_after.png")
    assert cell.locator(STDERR).count() == 0, cell.locator(STDERR).all_inner_texts()
