"""The website (`python -m book site`): built offline from the stored outputs, then read in headless Chromium.

The build runs once for the module, into a temporary folder, with every network connection refused
except to this machine (a build that tried to download anything fails). The pages are then checked as
files (no CDN, titles, headings in order, links to the notebook and the other edition) and, when Debian's
Chromium is there, in the browser, served from 127.0.0.1: every chapter page of each edition loads with
no console error, its formulas are typeset by MathJax, its Chinese headings are drawn with the site's own
CJK font, figures carry alt text, and the Chinese search finds 反向传播.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import socket
import threading
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest

from book import notebooks as nbio
from tests.helpers import DRAW_GLYPH_JS

SITE_TOOLS = [("sphinx", "Sphinx"), ("myst_nb", "myst-nb"), ("sphinx_book_theme", "sphinx-book-theme"),
              ("sphinx-mathjax-offline", "sphinx-mathjax-offline (MathJax)"), ("jieba", "jieba (Chinese search)")]
for module, why in SITE_TOOLS:
    pytest.importorskip(module, reason=f"{why} is not installed: pip install -r requirements-test.txt")

from book import site  # noqa: E402  (after the skips: it needs the site tools)

CHROMIUM = os.environ.get("COMPANION_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
EDITIONS = site.editions_present()
PAGES = [(edition, chapter) for edition in EDITIONS for chapter in nbio.CHAPTERS]
PAGE_IDS = [f"{edition}-{chapter}" for edition, chapter in PAGES]
BUILD_BUDGET_S = 120
# The textbook's section titles (seed text, "## 1.N …"): each chapter page's title starts with its own.
TEXTBOOK_SECTIONS = {
    "01_background": "1.1 背景介绍",
    "02_core_concepts": "1.2 核心概念与联系",
    "03_algorithms": "1.3 核心算法原理和具体操作步骤以及数学模型公式详细讲解",
    "04_code_examples": "1.4 具体代码实例和详细解释说明",
    "05_future_and_challenges": "1.5 未来发展趋势与挑战",
    "06_faq": "1.6 附录：常见问题解答",
}


def _local(address) -> bool:
    if not isinstance(address, tuple):  # a Unix socket's path
        return True
    return str(address[0]).startswith("127.") or address[0] in {"::1", "localhost"}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The site, built with every connection off this machine refused; yields (report, output folder)."""
    out = tmp_path_factory.mktemp("site") / "_site"
    real_connect = socket.socket.connect

    def offline_connect(sock, address):
        if not _local(address):
            raise OSError(f"the site build tried to reach {address!r}; it must build offline")
        return real_connect(sock, address)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", offline_connect)
        report = site.build(out)
    return report, out


def test_site_builds_offline_within_budget(built):
    report, out = built
    assert report.editions == tuple(EDITIONS)
    assert report.warnings == (), "\n".join(report.warnings)
    assert report.chapter_pages == len(PAGES)
    assert report.seconds <= BUILD_BUDGET_S, f"the build took {report.seconds:.0f} s, budget {BUILD_BUDGET_S} s"
    for edition, chapter in PAGES:
        assert (out / edition / f"{chapter}.html").is_file()
    assert (out / site.SHARED / "mathjax" / "tex-svg.js").is_file()
    font = out / site.SHARED / "fonts" / site.FONT_FILE
    assert 0 < font.stat().st_size < 4 * 2**20, f"the CJK subset font is {font.stat().st_size} bytes"


class _Page(HTMLParser):
    """What the checks need from a page: its title, heading levels, external script and style URLs, links."""

    def __init__(self):
        super().__init__()
        self.title, self.headings, self.remote, self.links = "", [], [], []
        self._in_title = self._in_article = False
        self._depth = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "title":
            self._in_title = True
        url = attrs.get("src") if tag == "script" else attrs.get("href") if tag == "link" else None
        if url and re.match(r"(https?:)?//", url):
            self.remote.append(url)
        if tag == "article":
            self._in_article = True
        if self._in_article and re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs)

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False
        if tag == "article":
            self._in_article = False

    def handle_data(self, data):
        if self._in_title:
            self.title += data


def parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def has_math(edition: str, chapter: str) -> bool:
    nb = nbio.read(nbio.notebook_path(chapter, edition))
    return any(re.search(r"\$[^$\s]", nbio.source(cell)) for cell in nb.cells if cell.cell_type == "markdown")


def first_heading(edition: str, chapter: str) -> str:
    nb = nbio.read(nbio.notebook_path(chapter, edition))
    for cell in nb.cells:
        if cell.cell_type == "markdown" and (match := re.search(r"^# (.+)$", nbio.source(cell), re.M)):
            return match.group(1).strip()
    raise AssertionError(f"{chapter} ({edition}) has no level-1 heading")


def test_no_page_loads_anything_from_the_network(built):
    _, out = built
    remote = {str(p.relative_to(out)): parse(p).remote for p in out.rglob("*.html")}
    remote = {name: urls for name, urls in remote.items() if urls}
    assert not remote, f"pages that load scripts or styles from the network: {remote}"
    css = [p for p in out.rglob("*.css") if re.search(r"@import\s+url\(\s*['\"]?https?:", p.read_text())]
    assert not css, f"style sheets that import from the network: {css}"


@pytest.mark.parametrize(("edition", "chapter"), PAGES, ids=PAGE_IDS)
def test_page_title_links_and_headings(built, edition, chapter):
    _, out = built
    path = out / edition / f"{chapter}.html"
    page = parse(path)
    # the textbook's section title (the notebook's level-1 heading) is the page's title
    assert page.title.strip().startswith(first_heading(edition, chapter)), page.title
    # headings in order: never more than one level deeper than the one before
    skips = [(a, b) for a, b in zip(page.headings, page.headings[1:], strict=False) if b > a + 1]
    assert page.headings and page.headings[0] == 1 and not skips, f"heading levels {page.headings}"
    hrefs = {link["href"] for link in page.links}
    notebook = f"notebooks/{chapter}.ipynb"
    assert notebook in hrefs, "no link to the page's notebook"
    assert (path.parent / notebook).read_bytes() == nbio.notebook_path(chapter, edition).read_bytes()
    for other in EDITIONS:
        if other != edition:
            assert f"../{other}/{chapter}.html" in hrefs, f"no link to the {other} edition of this page"


@pytest.mark.parametrize(("edition", "chapter"), PAGES, ids=[f"{e}-{c}" for e, c in PAGES])
def test_page_title_is_the_textbook_section(built, edition, chapter):
    title = parse(built[1] / edition / f"{chapter}.html").title.strip()
    assert title.startswith(f"{TEXTBOOK_SECTIONS[chapter]} · "), title


def test_alt_texts_are_taken_from_the_output_metadata():
    """myst-nb drops ``output.metadata["image/png"]["alt"]``; the site's handler puts it on the image."""
    from base64 import b64encode

    import nbformat
    from docutils import nodes
    from docutils.utils import new_document

    png = b"\x89PNG\r\n\x1a\n" + bytes(range(64))
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("fig", outputs=[
        nbformat.v4.new_output("display_data", data={"image/png": b64encode(png).decode()},
                               metadata={"image/png": {"alt": "Two curves that cross at x = 1."}})])])
    texts = site.alt_texts(nb)
    assert list(texts.values()) == ["Two curves that cross at x = 1."]
    doctree = new_document("page")
    digest = next(iter(texts))
    doctree += [nodes.image(uri=f"_images/{digest}.png"), nodes.image(uri="_images/other.png")]

    class App:
        book_alt_texts = texts

    site._add_alt_texts(App(), doctree)
    images = list(doctree.findall(nodes.image))
    assert images[0]["alt"] == "Two curves that cross at x = 1." and "alt" not in images[1]


def test_alt_text_reaches_the_page(tmp_path, monkeypatch):
    """End to end: a chapter whose figures carry alt text (as plot.show stores it) gets it on every <img>."""
    chapter = "05_future_and_challenges"
    nb = nbio.read(nbio.notebook_path(chapter))
    figures = [o for cell in nb.cells for o in cell.get("outputs", []) if "image/png" in o.get("data", {})]
    assert figures, f"{chapter} has no figure to test with"
    for k, output in enumerate(figures):
        output.setdefault("metadata", {})["image/png"] = {"alt": f"Figure {k} of the test, described."}
    copy = tmp_path / f"{chapter}.ipynb"
    nbio.write(nb, copy)
    real_path = nbio.notebook_path
    monkeypatch.setattr(nbio, "notebook_path", lambda c, e="en": copy if c == chapter else real_path(c, e))
    site.build(tmp_path / "_site", ["en"])
    page = (tmp_path / "_site" / "en" / f"{chapter}.html").read_text(encoding="utf-8")
    alts = re.findall(r'<img alt="([^"]*)"', page)
    assert alts == [f"Figure {k} of the test, described." for k in range(len(figures))], alts


def test_widgets_become_a_note_and_progress_bars_go():
    import nbformat

    view = {"model_id": "abc", "version_major": 2, "version_minor": 0}
    cell = nbformat.v4.new_code_cell("x", outputs=[
        nbformat.v4.new_output("display_data", data={site.WIDGET_VIEW: view, "text/plain": "  0%|  | 0/30"}),
        nbformat.v4.new_output("display_data", data={site.WIDGET_VIEW: view, "text/plain": "interactive(children=()"}),
        nbformat.v4.new_output("stream", text="kept\n")])
    nb = nbformat.v4.new_notebook(cells=[cell])
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {}}
    staged = site.widget_free(nb, "NOTE")
    outputs = staged.cells[0].outputs
    assert [o.get("data", {}).get("text/markdown") for o in outputs] == ["NOTE", None]
    assert outputs[1].text == "kept\n" and "widgets" not in staged.metadata
    assert len(nb.cells[0].outputs) == 3, "the notebook itself must not change"


def test_the_chinese_search_dictionary_holds_the_terms(tmp_path):
    words = site.jieba_dictionary(tmp_path / "terms.dict").read_text(encoding="utf-8").split()
    assert "反向传播" in words and "变分自编码器" in words
    assert all(re.search(r"[\u4e00-\u9fff]", word) for word in words)


@pytest.mark.skipif("zh" not in EDITIONS, reason="the Chinese edition is not built (python -m book build)")
def test_chinese_search_index_holds_whole_terms(built):
    """Without the term list, jieba cuts 反向传播 into 反向 + 传播, and a search for the term finds nothing."""
    import json

    _, out = built
    text = (out / "zh" / "searchindex.js").read_text(encoding="utf-8")
    index = json.loads(text[text.index("(") + 1:text.rindex(")")])
    pages = set()
    for kind in ("terms", "titleterms"):  # words of the text, words of the headings
        found = index[kind].get("反向传播", [])
        pages.update(found if isinstance(found, list) else [found])
    assert pages, "反向传播 is not a search term of the Chinese edition"
    assert index["docnames"].index("03_algorithms") in pages, [index["docnames"][i] for i in pages]


def test_build_rejects_unknown_editions(tmp_path):
    with pytest.raises(ValueError, match="expected editions among"):
        site.build(tmp_path / "out", ["fr"])
    with pytest.raises(ValueError, match="expected an output folder"):
        site.build(nbio.ROOT)
    other = tmp_path / "documents"
    other.mkdir()
    (other / "letter.txt").write_text("keep me")
    with pytest.raises(ValueError, match="holds other files"):
        site.build(other)
    assert (other / "letter.txt").read_text() == "keep me"


# --- in the browser ------------------------------------------------------------------------------------


needs_chromium = pytest.mark.skipif(
    not os.access(CHROMIUM, os.X_OK),
    reason=f"Chromium not found at {CHROMIUM}: apt-get install chromium, or set COMPANION_CHROMIUM")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def served(built):
    """The built site over HTTP on 127.0.0.1 (a free port); yields its base URL."""
    _, out = built
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(out)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser_page(served, tmp_path_factory):
    """One Chromium page for the module; it records console errors and requests that left 127.0.0.1.

    The browser sees only the system's fonts, so a CJK glyph on the page can come only from the site's font
    (or from a system CJK font, which the font check below tells apart)."""
    playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(30_000)
            page.console_errors, page.remote_requests = [], []
            page.on("console", lambda m: page.console_errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: page.console_errors.append(f"uncaught: {e}"))
            page.on("request", lambda r: None if r.url.startswith((served, "data:", "blob:"))
                    else page.remote_requests.append(r.url))
            yield page
        finally:
            browser.close()


def open_page(page, url: str) -> None:
    page.goto(url, wait_until="load")
    page.evaluate("document.fonts.ready.then(() => true)")


MATH_JS = """
async () => {
  if (!window.MathJax || !MathJax.startup) return {nomathjax: true};
  await MathJax.startup.promise;
  return {
    sources: document.querySelectorAll('article .math').length,
    typeset: document.querySelectorAll('article mjx-container').length,
    errors: [...document.querySelectorAll('article mjx-merror')]
      .map(e => e.getAttribute('data-mjx-error') || e.textContent),
  };
}
"""

# Text outside code cells that still looks like TeX source: $…$ or \( … \) left untypeset.
RAW_TEX_JS = r"""
() => {
  const walker = document.createTreeWalker(document.querySelector('article'), NodeFilter.SHOW_TEXT);
  const raw = [];
  while (walker.nextNode()) {
    const node = walker.currentNode, parent = node.parentElement;
    if (parent.closest('div.cell, pre, code, script, mjx-container')) continue;
    const text = node.textContent;
    if (/\$[^$\s][^$]*\$|\\\(|\\\[|\\frac|\\mathcal/.test(text)) raw.push(text.trim().slice(0, 80));
  }
  return raw;
}
"""

# For each heading with Chinese characters: which of them are drawn by something other than the site's
# CJK font (the heading's own font stack, drawn on a canvas, compared with the site's font alone) and which
# are drawn as the missing-glyph box.
CJK_HEADINGS_JS = r"""
(family) => {
""" + DRAW_GLYPH_JS + r"""  const face = [...document.fonts].find(f => f.family.replace(/"/g, '') === family);
  const headings = [...document.querySelectorAll('article :is(h1, h2, h3, h4, h5, h6)')].map(h => {
    const han = [...new Set([...h.textContent].filter(c => /\p{Script=Han}/u.test(c)))];
    const style = getComputedStyle(h);
    const size = `${style.fontWeight} ${style.fontSize}`;
    const tofu = draw('\u0378', `${size} ${style.fontFamily}`);
    return {
      text: h.textContent.trim().slice(0, 60), han: han.length,
      boxes: han.filter(c => draw(c, `${size} ${style.fontFamily}`) === tofu),
      notSiteFont: han.filter(c => draw(c, `${size} ${style.fontFamily}`) !== draw(c, `${size} "${family}"`)),
    };
  }).filter(h => h.han > 0);
  return {status: face ? face.status : 'absent', headings};
}
"""

IMAGES_JS = """
() => [...document.querySelectorAll('article .cell_output img')].map(img => ({
  src: img.getAttribute('src'), alt: (img.getAttribute('alt') || '').trim(), width: img.naturalWidth}))
"""


@needs_chromium
@pytest.mark.parametrize(("edition", "chapter"), PAGES, ids=PAGE_IDS)
def test_chapter_page_in_the_browser(browser_page, served, screenshots_dir, edition, chapter):
    page = browser_page
    errors_before, remote_before = len(page.console_errors), len(page.remote_requests)
    open_page(page, f"{served}/{edition}/{chapter}.html")
    page.screenshot(path=screenshots_dir / f"site_{edition}_{chapter}.png")

    if has_math(edition, chapter):
        math = page.evaluate(MATH_JS)
        assert not math.get("nomathjax"), "MathJax did not load"
        assert math["sources"] > 0 and math["typeset"] > 0, f"formulas not typeset by MathJax: {math}"
        assert not math["errors"], f"MathJax errors: {math['errors']}"
    raw = page.evaluate(RAW_TEX_JS)
    assert not raw, f"TeX shown as source text: {raw[:5]}"

    fonts = page.evaluate(CJK_HEADINGS_JS, site.FONT_FAMILY)
    assert fonts["headings"], "no heading with Chinese characters"
    assert fonts["status"] == "loaded", f"the site's CJK font is {fonts['status']}"
    boxes = [(h["text"], h["boxes"]) for h in fonts["headings"] if h["boxes"]]
    assert not boxes, f"Chinese characters drawn as boxes: {boxes}"
    other_font = [(h["text"], h["notSiteFont"]) for h in fonts["headings"] if h["notSiteFont"]]
    assert not other_font, f"Chinese characters not drawn with {site.FONT_FAMILY}: {other_font}"

    images = page.evaluate(IMAGES_JS)
    assert all(image["width"] > 0 for image in images), "a figure did not load"
    assert page.console_errors[errors_before:] == [], page.console_errors[errors_before:]
    assert page.remote_requests[remote_before:] == [], f"requests off this machine: {page.remote_requests}"


def figures_with_and_without_alt(page, served) -> dict[str, tuple[int, int]]:
    """Per chapter page: (figures with a real alt text, figures without). docutils puts the file's own
    path in alt when there is none, which says nothing, so that counts as none."""
    counts = {}
    for edition, chapter in PAGES:
        open_page(page, f"{served}/{edition}/{chapter}.html")
        images = page.evaluate(IMAGES_JS)
        good = sum(bool(i["alt"]) and i["alt"] != i["src"] and not i["alt"].endswith(".png") for i in images)
        counts[f"{edition}/{chapter}"] = (good, len(images) - good)
    return counts


@needs_chromium
def test_every_figure_has_alt_text(browser_page, served):
    counts = figures_with_and_without_alt(browser_page, served)
    print("figures with / without alt text:", counts)
    assert sum(good for good, _ in counts.values()) > 0, "no figures found"
    missing = {page: without for page, (_, without) in counts.items() if without}
    assert not missing, f"figures without alt text, per page: {missing}"


@needs_chromium
@pytest.mark.skipif("zh" not in EDITIONS, reason="the Chinese edition is not built (python -m book build)")
def test_chinese_search_finds_backpropagation(browser_page, served):
    page = browser_page
    page.goto(f"{served}/zh/search.html?q=反向传播")
    results = page.locator("#search-results ul.search li")
    results.first.wait_for()
    hrefs = [a.get_attribute("href") for a in page.locator("#search-results ul.search li a").all()]
    assert any(href and href.split("?")[0].endswith("03_algorithms.html") for href in hrefs), hrefs


@needs_chromium
def test_edition_link_opens_the_same_page(browser_page, served):
    if len(EDITIONS) < 2:
        pytest.skip("only one edition is built")
    page = browser_page
    open_page(page, f"{served}/en/03_algorithms.html")
    page.locator(".book-edition-link[hreflang='zh-CN']").first.click()
    page.wait_for_url(re.compile(r"/zh/03_algorithms\.html$"))
    assert page.evaluate("document.documentElement.lang").startswith("zh")


@pytest.fixture(scope="module")
def screenshots_dir(tmp_path_factory) -> Path:
    out = Path(os.environ.get("COMPANION_SCREENSHOTS") or tmp_path_factory.mktemp("site_screenshots"))
    out.mkdir(parents=True, exist_ok=True)
    return out


def test_links_to_repository_files_become_named_files():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("See [the README](../README.md) and [§1.3](03_algorithms.ipynb); "
                                              "中文见[说明](../../README.zh-CN.md)。")]
    text = nbio.source(site.repository_links_as_text(nb).cells[0])
    assert text == ("See the README (`README.md`) and [§1.3](03_algorithms.ipynb); "
                    "中文见说明 (`README.zh-CN.md`)。")
