"""The website: every edition of the book as static HTML, built by Sphinx with myst-nb from the stored outputs.

    python -m book site                 # writes _site/ (en/, zh/, the shared MathJax and font, index.html)
    python -m book site --out DIR       # somewhere else

Sphinx with myst-nb directly, not Jupyter Book 1.x: Jupyter Book 1 is a configuration layer over the same
two packages (Sphinx, myst-nb, with sphinx-book-theme), and it pins Sphinx 7 and brings some twenty more
(bibtex, thebe, comments, LaTeX, external-toc) that this book does not use; what the book needs beyond it
is per edition (the language and its search splitter, links to the other edition, the alt text of the
figures), and that is Sphinx configuration and one event handler either way. So the build calls Sphinx's
API itself, with no conf.py: the configuration is `sphinx_config()` below, and this module is also the
Sphinx extension (`setup`).

Nothing is executed (``nb_execution_mode = "off"``): the pages show the outputs that strict nbval checks.
Each edition present (`notebooks/` in English, `notebooks/zh/` in Chinese) is staged in a temporary
folder, where only the outputs of ipywidgets differ from the notebooks (they need a live kernel): an
`interact` explorer becomes a short note, a progress bar is left out. Each page links to its notebook,
copied verbatim next to the pages, and to the same page of the other edition.

Offline: MathJax 3.2 comes from the `sphinx-mathjax-offline` package, with SVG output (no math fonts to
fetch; MathJax 2.7 from `jupyter-server-mathjax` was tried first: its font test and the TeX fonts that copy
leaves out put errors in the browser console). Chinese text is set in Noto Sans CJK SC from the `mplfonts`
dependency, subset with fontTools to the characters the site uses and served with @font-face. Both are
written once, to `_shared/`, for all editions. Chinese search needs a word splitter: Sphinx's Chinese search
indexes nothing but Latin words unless `jieba` is installed, so it is a site requirement; the term list
(`companion.glossary`) is given to it as a user dictionary, so that every term of the book is one search
word (反向传播 is one).
"""

from __future__ import annotations

import argparse
import hashlib
import html
import json
import logging
import re
import shutil
import tempfile
import time
from base64 import b64decode
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import nbformat

from book import notebooks as nbio

DEFAULT_OUT = nbio.ROOT / "_site"
SHARED = "_shared"
# Sphinx puts a relative script or style path under the edition's _static/; the shared folder is two up from there.
SHARED_FROM_STATIC = f"../../{SHARED}"
FONT_FILE = "NotoSansCJKsc-book-subset.woff"
FONT_FAMILY = "Book Noto Sans CJK SC"
# The scripts the subset font serves: CJK punctuation, kana, the unified ideographs (with extension A),
# compatibility ideographs, full-width forms. Latin text stays in the theme's fonts.
CJK_RANGES = ((0x3000, 0x30FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0xFF00, 0xFFEF))
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
TEMPLATES = Path(__file__).resolve().parent / "site_templates"


@dataclass(frozen=True)
class Edition:
    """One language of the book on the site."""

    code: str  # "en" or "zh", the folder under the site root
    language: str  # Sphinx's language code
    name: str  # how the edition is named in links to it, in its own language
    title: str  # the site title
    intro: str  # the first paragraph of its home page
    widget_note: str  # what replaces a widget's output
    notebook_link: str  # the text of the link to a page's notebook


EDITIONS = {
    "en": Edition(
        "en", "en", "English",
        "神经网络系统的创意创作技术 · Creative generation with neural networks",
        "The notebook companion to the textbook chapter 神经网络系统的创意创作技术, one chapter per section "
        "(§1.1–§1.6): every formula derived and checked, every listing corrected and run. These pages show "
        "the notebooks with their stored, tested outputs; to run them, download a notebook (the link at the "
        "top of each page) and open it in JupyterLab.",
        "*Interactive widget: it needs a running Jupyter kernel, so it is not shown here. Download the "
        "notebook (top of the page) and run it to use it.*",
        "Notebook (.ipynb)",
    ),
    "zh": Edition(
        "zh", "zh_CN", "中文",
        "神经网络系统的创意创作技术 · 配套笔记本",
        "教材《神经网络系统的创意创作技术》一章的配套笔记本，每节（§1.1–§1.6）一本：每个公式都经推导和检验，"
        "每段代码都经改正并运行。本网站展示笔记本及其经过测试的输出；要运行它们，请下载笔记本（每页顶部的链接），"
        "在 JupyterLab 中打开。",
        "*交互控件：需要正在运行的 Jupyter 内核，此处不显示。请下载本笔记本（页面顶部）并运行。*",
        "笔记本（.ipynb）",
    ),
}


def editions_present() -> list[str]:
    """The editions whose six notebooks are all there: English always (it is the source), others when built."""
    return [code for code in EDITIONS
            if all(nbio.notebook_path(chapter, code).exists() for chapter in nbio.CHAPTERS)]


# --- staging: the notebooks as the site shows them -------------------------------------------------------


def widget_free(nb, note: str):
    """A copy of ``nb`` whose widget outputs are gone: an `interact` explorer becomes ``note``, a progress
    bar disappears (its text is a snapshot of 0 %). Nothing is executed; every other output is kept."""
    nb = nbio.clone(nb)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        outputs = []
        for output in cell.outputs:
            data = output.get("data", {})
            if WIDGET_VIEW not in data:
                outputs.append(output)
            elif str(data.get("text/plain", "")).startswith("interactive("):
                outputs.append(nbformat.v4.new_output("display_data", data={"text/markdown": note}))
        cell.outputs = outputs
    nb.metadata.pop("widgets", None)  # the widget state: nothing on the page reads it any more
    return nb


OUTSIDE_LINK = re.compile(r"\[([^\]]+)\]\((?:\.\./)+([^)#\s]+)\)")  # [text](../README.md): a file of the repository


def repository_links_as_text(nb):
    """A copy of ``nb`` whose links to repository files outside the notebooks (the README, CONTRIBUTING.md)
    name the file instead: the site holds the notebooks only, so such a link would lead nowhere."""
    nb = nbio.clone(nb)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = OUTSIDE_LINK.sub(lambda m: f"{m.group(1)} (`{m.group(2)}`)", nbio.source(cell))
    return nb


def alt_texts(nb) -> dict[str, str]:
    """sha256 of each PNG output -> its alt text (``output.metadata["image/png"]["alt"]``, as plot.show stores it)."""
    texts = {}
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            png = output.get("data", {}).get("image/png")
            alt = output.get("metadata", {}).get("image/png", {}).get("alt")
            if png and isinstance(alt, str) and alt.strip():
                texts[hashlib.sha256(b64decode(png)).hexdigest()] = alt.strip()
    return texts


def index_page(edition: Edition) -> str:
    """The edition's home page: its title, what the book is, and the chapters with their sections."""
    chapters = "\n".join(nbio.CHAPTERS)
    return f"# {edition.title}\n\n{edition.intro}\n\n```{{toctree}}\n:maxdepth: 2\n\n{chapters}\n```\n"


def stage(code: str, srcdir: Path) -> dict[str, str]:
    """Write the edition's pages into ``srcdir``; return the alt texts of its figures by PNG hash."""
    edition = EDITIONS[code]
    srcdir.mkdir(parents=True)
    (srcdir / "index.md").write_text(index_page(edition), encoding="utf-8")
    texts = {}
    for chapter in nbio.CHAPTERS:
        nb = nbio.read(nbio.notebook_path(chapter, code))
        texts.update(alt_texts(nb))
        nbio.write(repository_links_as_text(widget_free(nb, edition.widget_note)), srcdir / f"{chapter}.ipynb")
    return texts


def jieba_dictionary(path: Path) -> Path:
    """The term list's Chinese names as a jieba user dictionary (one word a line), so search finds whole terms."""
    from companion.glossary import TERMS

    words = set()
    for term in TERMS:
        for name in re.split(r"[（）()、，,]", term.zh):
            name = name.strip()
            if len(name) > 1 and " " not in name and re.search(r"[\u4e00-\u9fff]", name):
                words.add(name)
    path.write_text("".join(f"{word}\n" for word in sorted(words)), encoding="utf-8")
    return path


# --- Sphinx: configuration and the extension ---------------------------------------------------------------

# MathJax 3 with SVG output: glyphs are drawn as paths, so no math web fonts to load; each formula also
# carries hidden MathML for screen readers (assistive-mml, on by default). What tex-svg.js may load later:
# TeX packages (autoload), the menu, its accessibility extensions and speech rules.
MATHJAX_FILES = ("tex-svg.js", "input", "a11y", "ui", "sre")


def sphinx_config(edition: Edition, dictionary: Path | None) -> dict:
    """Everything a conf.py would say, as Sphinx's configuration overrides (the build has no conf.py)."""
    config = {
        "project": edition.title,
        "html_title": edition.title,
        "language": edition.language,
        "extensions": ["myst_nb", "sphinx.ext.mathjax", "book.site"],
        "master_doc": "index",
        "exclude_patterns": [],
        "nb_execution_mode": "off",  # the stored, nbval-checked outputs; never executed here
        "nb_ipywidgets_js": {},  # no widget manager from a CDN (widget outputs are replaced when staging)
        "nb_merge_streams": True,
        "myst_enable_extensions": ["dollarmath", "amsmath"],
        "myst_heading_anchors": 3,
        "mathjax_path": f"{SHARED_FROM_STATIC}/mathjax/tex-svg.js",
        "html_theme": "sphinx_book_theme",
        "html_theme_options": {
            "article_header_end": ["edition-links.html", "article-header-buttons.html"],
            "use_download_button": False,  # the page's own notebook link replaces it (see edition-links.html)
            "use_fullscreen_button": False,
            "show_toc_level": 2,
            "home_page_in_toc": True,
            "navigation_with_keys": False,
        },
        "templates_path": [str(TEMPLATES)],
        "html_favicon": str(TEMPLATES / "favicon.svg"),
        "html_context": {"default_mode": "auto"},  # light or dark as the reader's system says
        "html_css_files": [f"{SHARED_FROM_STATIC}/book.css"],
        "html_copy_source": False,
        "html_show_sourcelink": False,
        "html_show_sphinx": False,
        "html_last_updated_fmt": None,
        "book_edition": edition.code,
    }
    if edition.language.startswith("zh") and dictionary is not None:
        config["html_search_options"] = {"dict": str(dictionary)}
    return config


def _add_alt_texts(app, doctree) -> None:
    """myst-nb 1.4 reads only width and height from an output's metadata, so the alt text that
    `companion.plot.show` stores there would be lost; myst-nb names each image file by the sha256 of its
    bytes, which finds the output it came from."""
    from docutils import nodes

    texts = getattr(app, "book_alt_texts", {})
    for image in doctree.findall(nodes.image):
        digest = Path(image["uri"]).stem
        if digest in texts and not image.get("alt"):
            image["alt"] = texts[digest]


def _page_context(app, pagename, templatename, context, doctree) -> None:
    """The links at the top of a page: its notebook, and the same page in each other edition present."""
    here = app.config.book_edition
    chapter = pagename if pagename in nbio.CHAPTERS else None
    context["book_notebook_link"] = (
        {"href": f"notebooks/{chapter}.ipynb", "text": EDITIONS[here].notebook_link} if chapter else None)
    target = f"{pagename}.html" if (pagename in nbio.CHAPTERS or pagename == "index") else "index.html"
    context["book_edition_links"] = [
        {"href": f"../{code}/{target}", "text": EDITIONS[code].name, "lang": EDITIONS[code].language.replace("_", "-")}
        for code in getattr(app, "book_editions", ()) if code != here
    ]


def setup(app):
    """This module as a Sphinx extension: edition links and the figures' alt text."""
    app.add_config_value("book_edition", "en", "html")
    app.connect("doctree-read", _add_alt_texts)
    app.connect("html-page-context", _page_context)
    return {"parallel_read_safe": False, "parallel_write_safe": True}


# --- offline assets ---------------------------------------------------------------------------------------


def copy_mathjax(dest: Path) -> None:
    """MathJax 3.2 as the sphinx-mathjax-offline package ships it (its Sphinx extension is not used: it would
    put all 24 MB of it in every edition); only what tex-svg.js needs."""
    from importlib.metadata import distribution

    source = Path(str(distribution("sphinx-mathjax-offline").locate_file("sphinx-mathjax-offline/static/mathjax")))
    if not (source / "tex-svg.js").is_file():
        raise FileNotFoundError(f"expected MathJax in {source}: pip install -r requirements-test.txt")
    dest.mkdir(parents=True)
    for name in MATHJAX_FILES:
        if (source / name).is_dir():
            shutil.copytree(source / name, dest / name)
        else:
            shutil.copy2(source / name, dest / name)


def cjk_characters(root: Path) -> str:
    """Every CJK character in the site's pages and scripts (the scripts hold the translated search messages)."""
    seen = set()
    for path in root.rglob("*"):
        if path.suffix in {".html", ".js"} and path.is_file():
            seen.update(path.read_text(encoding="utf-8", errors="ignore"))
    return "".join(sorted(c for c in seen if any(lo <= ord(c) <= hi for lo, hi in CJK_RANGES)))


def subset_font(characters: str, dest: Path) -> None:
    """Noto Sans CJK SC (from the mplfonts dependency) cut down to ``characters``, as WOFF."""
    from fontTools import subset

    from companion.plot import BUNDLED_FONT_FILE

    if not characters:
        raise ValueError("expected some CJK characters to keep in the font, got none")
    options = subset.Options()
    options.flavor = "woff"
    options.layout_features = ["*"]
    options.name_IDs = ["*"]  # keep the licence and copyright names with the font
    font = subset.load_font(str(files("mplfonts") / "fonts" / BUNDLED_FONT_FILE), options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=characters)
    subsetter.subset(font)
    dest.parent.mkdir(parents=True, exist_ok=True)
    subset.save_font(font, str(dest), options)


def unicode_range() -> str:
    return ", ".join(f"U+{lo:04X}-{hi:04X}" for lo, hi in CJK_RANGES)


def shared_css() -> str:
    """The site's own style: the CJK font first (it only covers CJK code points), then the theme's fonts."""
    return (
        f'@font-face {{\n  font-family: "{FONT_FAMILY}";\n  src: url("fonts/{FONT_FILE}") format("woff");\n'
        f"  font-display: swap;\n  unicode-range: {unicode_range()};\n}}\n"
        f':root {{\n  --pst-font-family-base: "{FONT_FAMILY}", var(--pst-font-family-base-system);\n'
        f'  --pst-font-family-heading: "{FONT_FAMILY}", var(--pst-font-family-base-system);\n}}\n'
        # the book theme stacks the items of the article header's right end; keep them on one line
        ".header-article-items__end { display: flex; align-items: center; gap: 0.25rem; }\n"
        ".book-edition-links { display: flex; gap: 0.5rem; align-items: center; margin-right: 0.5rem; }\n"
        ".book-edition-links a { font-size: 0.9rem; }\n"
    )


def landing_page(editions: list[str]) -> str:
    """The site root: a list of the editions, opening the first."""
    first = editions[0]
    links = "\n".join(
        f'    <li><a href="{code}/index.html" hreflang="{EDITIONS[code].language.replace("_", "-")}">'
        f"{html.escape(EDITIONS[code].name)}: {html.escape(EDITIONS[code].title)}</a></li>" for code in editions)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n  <meta charset="utf-8">\n'
        f'  <meta http-equiv="refresh" content="0; url={first}/index.html">\n'
        f"  <title>{html.escape(EDITIONS[first].title)}</title>\n</head>\n<body>\n  <ul>\n{links}\n  </ul>\n"
        "</body>\n</html>\n"
    )


# --- the build -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Report:
    out: Path
    editions: tuple[str, ...]
    pages: int  # HTML pages in all
    chapter_pages: int  # chapter pages in all
    bytes: int  # size of the output folder
    seconds: float
    warnings: tuple[str, ...]

    def summary(self) -> str:
        return (f"site: {', '.join(self.editions)} in {self.out}: {self.pages} HTML pages ({self.chapter_pages} "
                f"chapter pages), {self.bytes / 2**20:.1f} MiB, built in {self.seconds:.1f} s, "
                f"{len(self.warnings)} Sphinx warnings")


def folder_size(root: Path) -> int:
    return sum(path.stat().st_size for path in root.rglob("*") if path.is_file())


def build(out: Path = DEFAULT_OUT, editions: list[str] | None = None, quiet: bool = True) -> Report:
    """Build the site into ``out`` (replaced if it exists) from the stored outputs; nothing is executed."""
    from io import StringIO

    from sphinx.application import Sphinx
    from sphinx.util.docutils import docutils_namespace, patch_docutils

    start = time.perf_counter()
    present = editions_present()
    editions = present if editions is None else list(editions)
    unknown = [code for code in editions if code not in present]
    if not editions or unknown:
        raise ValueError(f"expected editions among those present {present}, got {editions}")
    out = Path(out).resolve()
    if out == nbio.ROOT or nbio.ROOT.is_relative_to(out):
        raise ValueError(f"expected an output folder inside or beside the repository, got {out}")
    if out.exists():
        # Replaced only if it is a site built before (or empty): --out pointed at a folder of other files
        # must not wipe it.
        if any(out.iterdir()) and not (out / SHARED).is_dir():
            raise ValueError(f"expected an empty folder or a site built before as output, got {out}, which holds "
                             "other files")
        shutil.rmtree(out)
    out.mkdir(parents=True)
    import jieba  # its messages at import and on loading the dictionary are not the build's

    jieba.setLogLevel(logging.WARNING)
    logging.getLogger("fontTools").setLevel(logging.WARNING)
    warnings = []
    with tempfile.TemporaryDirectory(prefix="book-site-") as tmp:
        tmp = Path(tmp)
        dictionary = jieba_dictionary(tmp / "terms.dict")
        for code in editions:
            srcdir = tmp / code
            texts = stage(code, srcdir)
            warning_log = StringIO()
            # Built beside the staged pages, then moved: myst-nb writes its copies of the outputs next to
            # the output folder (jupyter_execute/), which is not part of the site.
            html_dir = tmp / "html" / code
            # As sphinx-build does: docutils' registries are global, and each edition is a new application.
            with patch_docutils(srcdir), docutils_namespace():
                app = Sphinx(str(srcdir), None, str(html_dir), str(tmp / "doctrees" / code), "html",
                             confoverrides=sphinx_config(EDITIONS[code], dictionary),
                             status=None if quiet else StringIO(), warning=warning_log, freshenv=True)
                app.book_alt_texts = texts
                app.book_editions = editions
                app.build()
            warnings += [line for line in warning_log.getvalue().splitlines() if line.strip()]
            shutil.move(html_dir, out / code)
            notebooks = out / code / "notebooks"
            notebooks.mkdir()
            for chapter in nbio.CHAPTERS:
                shutil.copy2(nbio.notebook_path(chapter, code), notebooks / f"{chapter}.ipynb")
    shared = out / SHARED
    copy_mathjax(shared / "mathjax")
    (shared / "book.css").write_text(shared_css(), encoding="utf-8")
    (out / "index.html").write_text(landing_page(editions), encoding="utf-8")
    (out / ".nojekyll").write_text("")  # GitHub Pages: serve the folders that start with "_" as they are
    subset_font(cjk_characters(out), shared / "fonts" / FONT_FILE)
    pages = list(out.glob("*/*.html"))
    return Report(out, tuple(editions), len(pages), sum(p.stem in nbio.CHAPTERS for p in pages), folder_size(out),
                  time.perf_counter() - start, tuple(warnings))


# --- the command -----------------------------------------------------------------------------------------


def add_arguments(command: str, parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT.name}/)")
    parser.add_argument("--edition", action="append", choices=list(EDITIONS),
                        help="build only this edition (repeatable; default: every edition present)")
    parser.add_argument("--json", action="store_true", help="print the build report as JSON")


def run(command: str, args: argparse.Namespace) -> int:
    report = build(args.out, args.edition)
    for line in report.warnings:
        print(line)
    if args.json:
        print(json.dumps({"out": str(report.out), "editions": report.editions, "pages": report.pages,
                          "chapter_pages": report.chapter_pages, "bytes": report.bytes,
                          "seconds": round(report.seconds, 1), "warnings": len(report.warnings)}))
    else:
        print(report.summary())
        print(f"open {report.out / 'index.html'}")
    return 0
