"""Lecture decks: one per chapter and edition, built by nbconvert, offline, with the structure's slide metadata."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from book import notebooks as nbio
from book import slides, structure

EDITIONS = [e for e in nbio.EDITIONS if all(nbio.notebook_path(c, e).exists() for c in nbio.CHAPTERS)]
CDN_HOSTS = ("unpkg.com", "cdnjs.cloudflare.com", "cdn.jsdelivr.net", "code.jquery.com", "ajax.googleapis.com",
             "fonts.googleapis.com", "fonts.gstatic.com", "cdn.mathjax.org")
LOADS = re.compile(r"<(?:script|link|img|iframe)\b[^>]*?\b(?:src|href)\s*=\s*[\"']([^\"']+)[\"']", re.I)
CSS_URLS = re.compile(r"(?:@import\s+(?:url\()?|url\()\s*[\"']?([^\"')\s;]+)", re.I)


@pytest.fixture(scope="module")
def decks(tmp_path_factory):
    built = {}
    for edition in EDITIONS:
        out = tmp_path_factory.mktemp(f"slides-{edition}")
        built[edition] = (out, slides.build(edition, out))
    return built


def _remote(url: str) -> bool:
    return url.startswith(("http:", "https:", "//", "ftp:"))


@pytest.mark.parametrize("edition", EDITIONS)
def test_every_chapter_has_a_deck(decks, edition):
    out, paths = decks[edition]
    assert [p.name for p in paths] == [f"{chapter}.slides.html" for chapter in nbio.CHAPTERS]
    for chapter, path in zip(nbio.CHAPTERS, paths, strict=True):
        html = path.read_text(encoding="utf-8")
        english = nbio.read(nbio.notebook_path(chapter))
        kinds = slides.slide_types(nbio.read(nbio.notebook_path(chapter, edition)), english)
        # one <section> per slide, plus one wrapper per slide that has sub-slides
        assert html.count("<section") >= sum(kind in ("slide", "subslide") for kind in kinds) > 0
        assert "Reveal.initialize" in html and 'class="reveal"' in html


@pytest.mark.parametrize("edition", EDITIONS)
def test_decks_load_nothing_from_the_network(decks, edition):
    out, paths = decks[edition]
    for path in paths:
        html = path.read_text(encoding="utf-8")
        assert not [host for host in CDN_HOSTS if host in html], path.name
        styles = "".join(re.findall(r"<style[^>]*>(.*?)</style>", html, re.S))
        loads = LOADS.findall(html) + CSS_URLS.findall(styles)
        assert not [url for url in loads if _remote(url)], (path.name, [url for url in loads if _remote(url)][:5])
        for url in loads:
            if url.startswith(("data:", "#")):
                continue
            local = out / url.split("?")[0]
            assert local.is_file(), f"{path.name} loads {url}, which is not beside the deck"
            if local.suffix == ".css":  # the theme's own imports (its fonts) must be local too
                remote = [u for u in CSS_URLS.findall(local.read_text(encoding="utf-8")) if _remote(u)]
                assert not remote, (local, remote)
    mathjax = out / slides.MATHJAX_DIR / "MathJax.js"
    assert 'MathJax.version="2.7' in mathjax.read_text(encoding="utf-8")
    assert (out / slides.REVEAL_DIR / "dist" / "reveal.js").is_file()


def test_exercise_solutions_stay_out_of_the_decks(decks):
    out, paths = decks["en"]
    for chapter, path in zip(nbio.CHAPTERS, paths, strict=True):
        nb = nbio.read(nbio.notebook_path(chapter))
        html = path.read_text(encoding="utf-8")
        for exercise in structure.exercises(nb):
            assert f"Exercise {exercise.number}" in html  # the task is on a slide
            for index in exercise.solutions:
                body = nbio.source(nb.cells[index]).split(structure.BEGIN)[1].split(structure.END)[0]
                for line in (line.strip() for line in body.splitlines()):
                    if len(line) > 12:
                        assert line not in html and line.replace('"', "&quot;") not in html, (chapter, line)


def _md(text):
    return nbformat.v4.new_markdown_cell(text)


def _code(text, outputs=()):
    cell = nbformat.v4.new_code_cell(text)
    cell.outputs = list(outputs)
    return cell


def test_slide_metadata_follows_the_structure():
    prose = "\n".join(["word " * 15] * 40)  # about 40 lines: more than a slide
    long_code = "\n".join(f"x{i} = {i}" for i in range(slides.CODE_LINES + 5))
    printout = nbformat.v4.new_output("stream", name="stdout", text="done\n")
    cells = [_md("# 1.9 测试 · A chapter"), _code("import math"),
             _md("## 1.9.1 第一节 · A section\n\nShort."), _code("print(1)", [printout]),
             _md("### A subsection"), _md(prose),
             _md("### 深入 · Deep dive: the details"), _code("print(2)"), _md("more of the deep dive"),
             _md("### Back on the core path"), _code(long_code, [printout]),
             _md("### Exercise 1.9-1 (code) · 练习 1.9-1\n\nWrite `f`."),
             _code("def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION"),
             _code("assert f() == 1")]
    cells[12].metadata["tags"] = ["exercise-solution"]
    cells[13].metadata["tags"] = ["exercise-check"]
    nb = nbformat.v4.new_notebook(cells=cells)
    assert slides.slide_types(nb) == ["slide", "-", "slide", "-", "subslide", "notes", "skip", "skip", "skip",
                                      "subslide", "-", "subslide", "skip", "skip"]
    annotated = slides.annotate(nb)
    assert annotated.cells[5].metadata["slideshow"] == {"slide_type": "notes"}
    assert "slideshow" not in nb.cells[5].metadata  # annotate works on a copy
    deck = slides.deck_notebook(nb, "A chapter")
    # in the deck the long listing shows its output, and its code follows in the speaker notes
    index = next(i for i, cell in enumerate(deck.cells) if nbio.source(cell) == long_code)
    assert deck.cells[index].metadata["transient"] == {"remove_source": True}
    assert deck.cells[index + 1].metadata["slideshow"] == {"slide_type": "notes"}
    assert long_code in nbio.source(deck.cells[index + 1])


def test_a_translation_takes_its_structure_from_the_english_source():
    english = nbio.read(nbio.notebook_path("06_faq"))
    chinese = nbio.read(nbio.notebook_path("06_faq", "zh"))
    kinds = slides.slide_types(chinese, english)
    assert [k == "skip" for k in kinds] == [k == "skip" for k in slides.slide_types(english)]
    shuffled = nbio.clone(chinese)
    shuffled.cells = shuffled.cells[::-1]
    with pytest.raises(ValueError, match="same ids"):
        slides.slide_types(shuffled, english)


def test_the_slides_command_writes_the_decks(tmp_path):
    from book.__main__ import main

    assert main(["slides", "--out", str(tmp_path), "01_background"]) == 0
    assert (tmp_path / "01_background.slides.html").is_file() and (tmp_path / "reveal.js").is_dir()
    assert not (tmp_path / "02_core_concepts.slides.html").exists()
    assert Path(tmp_path / "mathjax" / ".complete").is_file()
