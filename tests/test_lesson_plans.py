"""Lesson plans: committed, current with the notebooks and run times, and made by rules that can be checked."""

from __future__ import annotations

import nbformat
import pytest

from book import lessons, structure
from book import notebooks as nbio


@pytest.fixture(scope="module")
def times():
    return lessons.load_times()


@pytest.mark.parametrize("chapter", nbio.CHAPTERS)
def test_each_plan_is_what_the_command_makes_today(chapter, times):
    path = lessons.path_of(chapter)
    assert path.exists(), f"{path} is missing: run `python -m book lesson-plans`"
    assert path.read_text(encoding="utf-8") == lessons.plan(chapter, times), \
        f"{path} is out of date: run `python -m book lesson-plans`"


def test_run_times_are_measured_for_every_chapter(times):
    assert set(times["seconds"]) == set(nbio.CHAPTERS)
    for chapter, cells in times["seconds"].items():
        ids = {cell.id for cell in nbio.read(nbio.notebook_path(chapter)).cells if cell.cell_type == "code"}
        assert cells and set(cells) <= ids | set(cells), chapter
        assert all(isinstance(s, (int, float)) and 0 <= s < 900 for s in cells.values()), chapter


def test_words_count_chinese_characters_as_half_a_word():
    assert lessons.words("The GAN's value, V(D, G) = 0.5") == 7
    assert lessons.words("生成对抗网络 · GAN") == 4  # six characters, one word


def _nb(*cells):
    return nbformat.v4.new_notebook(cells=list(cells))


def _md(text):
    return nbformat.v4.new_markdown_cell(text)


def _code(text, figure=False):
    cell = nbformat.v4.new_code_cell(text)
    if figure:
        cell.outputs = [nbformat.v4.new_output("display_data", data={"image/png": "iVBOR", "text/plain": "<Figure>"})]
    return cell


def test_objectives_and_prerequisites_come_from_the_opening_cells():
    nb = _nb(_md("# 1.9 测试 · A chapter\n\n**学习目标 · Learning objectives**\n\n- derive D*\n- train a GAN,\n"
                 "  and measure it\n\n**预备知识 · Prerequisites**:\n\n1. [§1.3.4](03_algorithms.ipynb)\n"),
             _code("import math"),
             _md("## 1.9.1 一节 · A section\n\n**学习目标 · Learning objectives**\n\n- not the chapter's"))
    assert lessons.bullets_after(nb, lessons.OBJECTIVES) == ["derive D*", "train a GAN, and measure it"]
    assert lessons.bullets_after(nb, lessons.PREREQUISITES) == ["[§1.3.4](03_algorithms.ipynb)"]
    assert lessons.bullets_after(_nb(_md("# title"), nb.cells[2]), lessons.OBJECTIVES) == []


def _chapter():
    prose = " ".join(["word"] * 1000)  # 10 minutes to teach
    return _nb(_md("# 1.9 测试 · A chapter"), _code("import math"),
               _md(f"## 1.9.1 一 · One\n\n{prose}"), _code("model = train()", figure=True),
               _code("print(model)"), _code("print(math.pi)"),
               _md(f"### 深入 · Deep dive: details\n\n{prose}"), _code("details()"),
               _md(f"### Back to the core\n\n{prose}"),
               _md(f"## 1.9.2 二 · Two\n\n{prose} {prose}"), _code("y = model(1)"),
               _md("## 练习 · Exercises\n\nMany."), _code("print('exercise')"))


def test_sections_rows_and_teaching_minutes():
    nb = _chapter()
    parts = lessons.sections(nb)
    assert [(p.title, p.deep_dive, p.exercises) for p in parts] == [
        ("Opening: 1.9 测试 · A chapter", False, False), ("1.9.1 一 · One", False, False),
        ("深入 · Deep dive: details", True, False), ("1.9.2 二 · Two", False, False),
        ("练习 · Exercises", False, True)]
    one, dive = parts[1], parts[2]
    assert one.cells == [3, 4, 5] and dive.cells == [7] and one.figures == 1
    # 2,000 words (the text after the deep dive belongs to its section again) + 3 lines of code + 1 figure
    assert one.teach_minutes() == pytest.approx(2003 / 100 + 3 / 20 + 1, abs=0.05)


def test_a_class_drops_deep_dives_then_runs_less_then_assigns_reading():
    nb = _chapter()
    parts = lessons.sections(nb)
    seconds = {nb.cells[3].id: 600.0, nb.cells[4].id: 1.0, nb.cells[5].id: 2.0, nb.cells[7].id: 5.0,
               nb.cells[10].id: 3.0, nb.cells[12].id: 999.0}
    full = lessons.fit(nb, parts, seconds, minutes=1000)
    assert full.minutes == full.full_minutes and not (full.skipped or full.shown or full.reading)
    assert full.full_minutes == pytest.approx(sum(p.teach_minutes() for p in parts[:4]) + 611 / 60)  # no exercises
    # 62 minutes in all: the deep dive (10) goes, then the 10-minute training is shown, not run
    cut = lessons.fit(nb, parts, seconds, minutes=45)
    assert [p.title for p in cut.skipped] == ["深入 · Deep dive: details"]
    assert cut.shown == [(3, [4, 10])]  # the training cell, and the two later cells that use `model`
    assert cut.reading == [] and 40 < cut.minutes <= 45
    tight = lessons.fit(nb, parts, seconds, minutes=25)
    assert [p.title for p in tight.reading] == ["1.9.2 二 · Two"] and tight.minutes <= 25  # the shortest that is enough


def test_a_plan_says_what_is_missing(times):
    text = lessons.plan("06_faq", times)
    count = len(structure.exercises(nbio.read(nbio.notebook_path("06_faq"))))
    assert "## A 45-minute class" in text and f"**Exercises:** {count} (" in text
    assert "Not stated yet" in text or "## Learning objectives\n\n- " in text
