"""The Chinese edition is the English one with its prose translated, by construction and by test.

Each committed notebook of `notebooks/zh/` must be exactly what `python -m book build` makes from today's
English notebook and catalogue; its code cells and stored outputs are the English ones (so strict nbval
of the English notebooks vouches for them); every English markdown cell has a current translation; a
changed English sentence makes its translation stale; the term list's avoided variants appear nowhere.
"""

import re

import polib
import pytest

from book import notebooks as nbio
from book import zh
from companion.glossary import TERMS, avoided_variants

CHAPTERS = nbio.CHAPTERS


@pytest.fixture(scope="module")
def english():
    return {chapter: nbio.read(nbio.notebook_path(chapter)) for chapter in CHAPTERS}


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chinese_notebook_is_what_the_build_makes(chapter, english):
    path = nbio.notebook_path(chapter, "zh")
    assert path.exists(), f"{path} is missing: run `python -m book build`"
    built = nbio.dumps(zh.build_notebook(chapter, english[chapter]))
    assert path.read_text(encoding="utf-8") == built, f"{path} is out of date: run `python -m book build`"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_code_cells_and_outputs_are_the_english_ones(chapter, english):
    chinese = nbio.read(nbio.notebook_path(chapter, "zh"))
    assert [cell.cell_type for cell in chinese.cells] == [cell.cell_type for cell in english[chapter].cells]
    for ours, theirs in zip(chinese.cells, english[chapter].cells, strict=True):
        assert ours.id == theirs.id
        if theirs.cell_type == "code":
            assert ours == theirs, f"code cell {theirs.id} differs from the English edition"
    assert chinese.metadata == english[chapter].metadata


# Chapters whose translation is still being written: expected to fail, strictly, so that a chapter whose
# translation is complete must leave this set (and is then tested like every other).
TRANSLATING: set[str] = set()


@pytest.mark.parametrize("chapter", [
    pytest.param(chapter, marks=pytest.mark.xfail(strict=True, reason="the Chinese translation is being written"))
    if chapter in TRANSLATING else chapter for chapter in CHAPTERS])
def test_every_markdown_cell_has_a_current_translation(chapter, english):
    state = zh.status(chapter, english[chapter])
    assert state.complete, (f"{chapter}: {state.current}/{state.cells} current; missing {state.missing}, "
                            f"stale {state.stale}, catalogue behind the English {state.unsynced} "
                            "(python -m book update-catalogues, translate, python -m book build)")


def test_editing_one_english_sentence_makes_its_translation_stale(english):
    chapter = CHAPTERS[0]
    nb = nbio.clone(english[chapter])
    po = zh.update_catalogue(chapter, nb, polib.POFile(wrapwidth=0))
    cell = zh.markdown_cells(nb)[-1]
    zh.entry_for(po, cell.id).msgstr = "（中文译文）"
    before = zh.status(chapter, nb, po)
    assert zh.translation(po, cell) == "（中文译文）" and cell.id not in before.missing
    cell.source = nbio.source(cell).replace(".", ", as a reader would expect.", 1)
    after = zh.status(chapter, nb, po)
    assert cell.id in after.unsynced and not after.complete and after.current == before.current - 1
    # the build then falls back to the English text, under a visible note, instead of the old Chinese
    assert nbio.source(zh.build_notebook(chapter, nb, po).cells[nb.cells.index(cell)]).startswith(zh.PENDING)
    # update-catalogues keeps the Chinese, records the old English and marks the entry fuzzy: still stale
    po = zh.update_catalogue(chapter, nb, po)
    entry = zh.entry_for(po, cell.id)
    assert entry.fuzzy and entry.previous_msgid and entry.msgid == nbio.source(cell) and entry.msgstr == "（中文译文）"
    assert cell.id in zh.status(chapter, nb, po).stale


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_catalogue_is_in_notebook_order_and_has_no_duplicates(chapter, english):
    po = zh.load_catalogue(chapter)
    ids = [entry.msgctxt for entry in po if not entry.obsolete]
    order = [cell.id for cell in zh.markdown_cells(english[chapter])]
    assert len(ids) == len(set(ids))
    assert [i for i in ids if i in order] == [i for i in order if i in ids]


QUOTED = re.compile(r"「[^」]*」")  # the textbook's own words, quoted, keep its terms


def edition_texts():
    """(where, text) for every markdown cell, code cell and text output of both editions, and every translation."""
    for edition in nbio.EDITIONS:
        for chapter in CHAPTERS:
            path = nbio.notebook_path(chapter, edition)
            if not path.exists():
                continue
            for index, cell in enumerate(nbio.read(path).cells):
                yield f"{path.name} ({edition}) cell {index}", nbio.source(cell)
                for output in cell.get("outputs", []):
                    data = output.get("data", {})
                    text = "".join(output.get("text", "")) + "".join(data.get("text/plain", ""))
                    yield f"{path.name} ({edition}) cell {index} output", text + "".join(data.get("text/markdown", ""))
    for chapter in CHAPTERS:
        for entry in zh.load_catalogue(chapter):
            if not entry.obsolete:
                yield f"{chapter}.po {entry.msgctxt}", entry.msgstr


def test_no_avoided_term_variant_appears():
    variants = avoided_variants()
    found = [f"{where}: {variant!r} (use {variants[variant]!r})"
             for where, text in edition_texts() for variant in variants
             if variant in QUOTED.sub("", text) and "term list" not in where]
    assert not found, found[:20]


def test_term_list_is_consistent():
    assert len({term.en for term in TERMS}) == len(TERMS) and len({term.zh for term in TERMS}) == len(TERMS)
    preferred = {term.zh for term in TERMS}
    assert not [v for v in avoided_variants() if any(v in zh_term for zh_term in preferred)]
    assert all(re.fullmatch(r"1\.[1-6](\.\d)?", term.section) for term in TERMS)


def test_the_two_readmes_link_each_other_and_give_the_same_two_commands():
    english = (nbio.ROOT / "README.md").read_text(encoding="utf-8")
    chinese = (nbio.ROOT / "README.zh-CN.md").read_text(encoding="utf-8")
    assert "(README.zh-CN.md)" in english and "(README.md)" in chinese
    assert "pip install -r requirements.txt && jupyter lab notebooks" in english
    assert "pip install -r requirements.txt && jupyter lab notebooks/zh" in chinese
    for text in (english, chinese):
        assert "pip install -r requirements-test.txt && pytest" in text
    for chapter in CHAPTERS:  # the Chinese README's chapter map leads to the Chinese notebooks
        assert f"(notebooks/zh/{chapter}.ipynb)" in chinese


def test_set_translations_makes_entries_current_and_refuses_unknown_cells(tmp_path, monkeypatch, english):
    monkeypatch.setattr(zh, "CATALOGUES", tmp_path)
    chapter = CHAPTERS[0]
    first, second = (cell.id for cell in zh.markdown_cells(english[chapter])[:2])
    assert zh.set_translations(chapter, {first: "第一段", second: "第二段"}) == 2
    state = zh.status(chapter, english[chapter])
    assert state.current == 2 and first not in state.missing
    assert nbio.source(zh.build_notebook(chapter, english[chapter]).cells[0]) in ("第一段", "第二段")
    with pytest.raises(ValueError, match="unknown"):
        zh.set_translations(chapter, {"no-such-cell": "文字"})
    with pytest.raises(ValueError, match="non-empty Chinese text"):
        zh.set_translations(chapter, {first: "  "})


def test_jupyterlab_can_switch_to_chinese():
    translation_utils = pytest.importorskip("jupyterlab_server.translation_utils")
    packs, message = translation_utils.get_language_packs("en")
    assert "zh_CN" in packs, f"the Chinese language pack is not installed (requirements.txt): {message}"
