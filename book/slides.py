"""Lecture slides made from the notebooks: slide metadata from their structure, reveal.js decks offline.

``python -m book slides --edition en --out DIR`` writes one deck per chapter, ``DIR/NN_name.slides.html``,
converted by nbconvert's slides exporter (``jupyter nbconvert --to slides``), with reveal.js (from the
``sphinx-revealjs`` wheel) and MathJax 2.7 (from ``jupyter-server-mathjax``) copied beside the decks: they
open from the disk, with no network.

The slide metadata (``slideshow.slide_type``, what nbconvert and RISE read) follows the structure
(`annotate`), and the teacher edition of the classroom kit carries the same, for presenting live from
JupyterLab with RISE:

- a ``#`` or ``##`` heading starts a slide, a ``###`` heading a sub-slide (below it, reached with ↓);
- deep dives (``### 深入 · Deep dive: ...``) and the exercises' solution, check and answer cells are
  skipped (the task itself is shown);
- a markdown cell of more than `BUDGET` lines that starts with no heading goes to the speaker notes;
- otherwise cells follow on the same slide until about `BUDGET` lines are filled, then a sub-slide
  continues the section; a single cell taller than a slide scrolls.

In the decks only, a code cell of more than `CODE_LINES` lines shows its output, and its code goes to
the speaker notes (press S): a long listing is read in the notebook, not from a wall.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import shutil
import unicodedata
from pathlib import Path

import nbformat

from book import notebooks as nbio
from book import structure

BUDGET = 22  # lines that fit on a 960×700 slide at the template's 20 px type
CODE_LINES = 15  # longer code goes to the notes in the decks
TEMPLATES = Path(__file__).resolve().parent / "templates"
REVEAL_DIR = "reveal.js"
MATHJAX_DIR = "mathjax"
MATHJAX_URL = f"{MATHJAX_DIR}/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe"


def _width(line: str) -> int:
    """Display width: a CJK character takes the room of two Latin letters."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in line)


def _markdown_height(text: str) -> float:
    return sum(math.ceil(_width(line) / 80) if line.strip() else 0.5 for line in text.splitlines())


def _output_height(output) -> float:
    if output.get("output_type") == "error":
        return 4
    data = output.get("data", {})
    if any(key.startswith("image/") for key in data):
        return 12
    text = "".join(output.get("text", "")) or "".join(data.get("text/markdown", "")) or \
        "".join(data.get("text/html", "")) or "".join(data.get("text/plain", ""))
    return min(len(text.splitlines()), 15)


def _height(cell, with_code: bool = True) -> float:
    if cell.cell_type == "markdown":
        return _markdown_height(nbio.source(cell))
    code = len(nbio.source(cell).splitlines()) if with_code else 0
    return code + sum(_output_height(output) for output in cell.get("outputs", []))


def slide_types(nb, english=None) -> list[str]:
    """The slide type of every cell: "slide", "subslide", "-" (same slide), "notes" or "skip".

    Headings, deep dives and exercises are read from ``english`` (the source of a translation), sizes from ``nb``.
    """
    source = structure.layout(nb, english)
    skip = structure.deep_dive_cells(source)
    for exercise in structure.exercises(source):
        skip.update(exercise.solutions + exercise.checks + exercise.answers)
    types, used = [], 0.0
    for index, cell in enumerate(nb.cells):
        lead = structure.leading_heading(source.cells[index])
        height = _height(cell, with_code=not (cell.cell_type == "code" and _long_code(cell)))
        if index in skip:
            kind = "skip"
        elif lead and lead[0] <= 3:
            kind, used = ("slide" if lead[0] <= 2 else "subslide"), height
        elif cell.cell_type == "markdown" and height > BUDGET:
            kind = "notes"
        elif used and used + height > BUDGET:
            kind, used = "subslide", height
        else:
            kind, used = "-", used + height
        types.append(kind)
    return types


def annotate(nb, english=None):
    """A copy of ``nb`` with slide metadata on every cell and RISE's settings on the notebook."""
    kinds = slide_types(nb, english)
    nb = nbio.clone(nb)
    for cell, kind in zip(nb.cells, kinds, strict=True):
        cell.metadata["slideshow"] = {"slide_type": kind}
    nb.metadata["rise"] = {"scroll": True, "transition": "none", "theme": "white"}
    return nb


def _long_code(cell) -> bool:
    return len(nbio.source(cell).splitlines()) > CODE_LINES and bool(cell.get("outputs"))


def deck_notebook(nb, title: str, english=None):
    """The annotated notebook as a deck shows it: long code moved to the notes, under its output."""
    nb = annotate(nb, english)
    cells = []
    for cell in nb.cells:
        cells.append(cell)
        if cell.cell_type == "code" and cell.metadata["slideshow"]["slide_type"] != "skip" and _long_code(cell):
            cell.metadata["transient"] = {"remove_source": True}
            notes = nbformat.v4.new_markdown_cell(f"```python\n{nbio.source(cell)}\n```")
            notes.metadata["slideshow"] = {"slide_type": "notes"}
            cells.append(notes)
    nb.cells = cells
    nb.metadata["title"] = title
    return nb


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"the package {name} is missing: pip install -r requirements-teach.txt")
    return Path(next(iter(spec.submodule_search_locations)))


def copy_assets(out: Path) -> None:
    """reveal.js (its dist/ and the notes plugin) and MathJax 2.7, beside the decks."""
    reveal = _package_dir("sphinx_revealjs") / "_static" / "revealjs"
    mathjax = _package_dir("jupyter_server_mathjax") / "static"
    for source, target in ((reveal / "dist", out / REVEAL_DIR / "dist"),
                           (reveal / "plugin" / "notes", out / REVEAL_DIR / "plugin" / "notes"),
                           (mathjax, out / MATHJAX_DIR)):
        if not (target.exists() and (target / ".complete").exists()):
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(source, target)
            (target / ".complete").write_text("copied by python -m book slides\n", encoding="utf-8")


def exporter(edition: str):
    from nbconvert import SlidesExporter
    from traitlets.config import Config

    config = Config()
    config.SlidesExporter.reveal_url_prefix = REVEAL_DIR
    config.SlidesExporter.reveal_scroll = True
    config.SlidesExporter.reveal_transition = "none"
    config.SlidesExporter.reveal_theme = "white"
    config.SlidesExporter.mathjax_url = MATHJAX_URL
    config.SlidesExporter.language_code = "zh-CN" if edition == "zh" else "en"
    config.SlidesExporter.exclude_input_prompt = True
    config.SlidesExporter.exclude_output_prompt = True
    return SlidesExporter(config=config, template_name="offline_reveal", extra_template_basedirs=[str(TEMPLATES)])


def build_deck(chapter: str, edition: str, out: Path, slides_exporter=None) -> Path:
    """Write ``out/<chapter>.slides.html`` from the edition's notebook; returns its path."""
    nb = nbio.read(nbio.notebook_path(chapter, edition))
    english = nbio.read(nbio.notebook_path(chapter))
    lead = structure.leading_heading(nb.cells[0]) or structure.leading_heading(english.cells[0])
    deck = deck_notebook(nb, lead[1] if lead else chapter, english)
    html, _ = (slides_exporter or exporter(edition)).from_notebook_node(deck, resources={"metadata": {"name": chapter}})
    path = Path(out) / f"{chapter}.slides.html"
    path.write_text(html, encoding="utf-8")
    return path


def build(edition: str, out: Path, chapters=nbio.CHAPTERS) -> list[Path]:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    copy_assets(out)
    slides_exporter = exporter(edition)
    return [build_deck(chapter, edition, out, slides_exporter) for chapter in chapters]


def add_arguments(command: str, parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--edition", choices=nbio.EDITIONS, default="en", help="which edition (default: en)")
    parser.add_argument("--out", type=Path, required=True, help="folder for the decks and their reveal.js, MathJax")
    parser.add_argument("chapters", nargs="*", default=list(nbio.CHAPTERS), help="chapters (default: all)")


def run(command: str, args: argparse.Namespace) -> int:
    unknown = [chapter for chapter in args.chapters if chapter not in nbio.CHAPTERS]
    if unknown:
        raise SystemExit(f"expected chapters among {nbio.CHAPTERS}, got {unknown}")
    for chapter, path in zip(args.chapters, build(args.edition, args.out, args.chapters), strict=True):
        english = nbio.read(nbio.notebook_path(chapter))
        kinds = slide_types(nbio.read(nbio.notebook_path(chapter, args.edition)), english)
        print(f"{path}: {sum(kind in ('slide', 'subslide') for kind in kinds)} slides")
    print("open a deck in a browser, offline; S opens the speaker notes")
    return 0
