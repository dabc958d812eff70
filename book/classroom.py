"""The classroom kit: an nbgrader course with a teacher and a student edition of every chapter.

``python -m book classroom --edition en --out DIR [chapters...]`` writes an nbgrader course in DIR:

    DIR/nbgrader_config.py
    DIR/source/<chapter>/<chapter>.ipynb     the teacher edition (nbgrader's "source")
    DIR/release/<chapter>/<chapter>.ipynb    the student edition, made by nbgrader's generate_assignment

The teacher edition is the chapter with its solutions in place and visible, nbgrader's cell metadata
derived from the exercise markup (`book.structure`), and the slide metadata of `book.slides` (present it
live with RISE). Each check cell becomes an autograded test, locked; each solution cell an autograded
answer; each written answer (``exercise-answer``) a manually graded answer; the chapter's first code cell
is read-only, so the checks always run against the book's own imports.

The student edition is nbgrader's: every solution region replaced by ``raise NotImplementedError()``,
written answers by "YOUR ANSWER HERE", the checks locked. Students keep the chapter's figures and
printouts: only the outputs of exercise cells are cleared (a solution's printout or a check's "Success!"
line can give an answer away). nbgrader clears every output by default; `nbgrader_config.py` swaps its
ClearOutput step for nbconvert's TagRemovePreprocessor restricted to the exercise tags.

With ``--exercises-only`` each notebook keeps only the chapter's title, its first code cell and its
exercises: a worksheet that autogrades in seconds instead of re-running the whole chapter per student.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from book import notebooks as nbio
from book import slides, structure

EXERCISE_TAGS = (structure.SOLUTION, structure.CHECK)  # code cells whose outputs students do not get

CONFIG = '''"""nbgrader's settings for this course, written by `python -m book classroom`."""

from nbgrader.converters import GenerateAssignment
from nbgrader.preprocessors import ClearOutput

c = get_config()  # noqa: F821 (nbgrader provides it)
c.CourseDirectory.course_id = {course_id!r}

# The student edition keeps the chapter's figures and printouts; only exercise cells lose their outputs,
# since a solution's printout or a check's verdict can give an answer away. nbgrader's own ClearOutput
# step (which clears everything) is replaced by nbconvert's TagRemovePreprocessor on the exercise tags.
steps = GenerateAssignment.class_traits()["preprocessors"].make_dynamic_default()
steps[steps.index(ClearOutput)] = "nbconvert.preprocessors.TagRemovePreprocessor"
c.GenerateAssignment.preprocessors = steps
c.TagRemovePreprocessor.enabled = True
c.TagRemovePreprocessor.remove_all_outputs_tags = {tags!r}

# Autograding re-runs the whole notebook; the longest cell of the book (chapter 4's GRU) takes about a minute.
c.Execute.timeout = 600
'''


def _nbgrader(cell, grade_id: str, *, solution: bool, grade: bool, locked: bool, points: int | None = None) -> None:
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3, "solution": solution}
    if grade:
        meta["points"] = points
    cell.metadata["nbgrader"] = meta


def teacher_notebook(nb, exercises_only: bool = False, english=None):
    """The teacher edition of a chapter: solutions visible, nbgrader metadata, slide metadata.

    The exercises are read from ``english`` when ``nb`` is a translation of it.
    """
    source = structure.layout(nb, english)
    found = structure.exercises(source)
    first = structure.first_code_cell(source)
    nb = slides.annotate(nb, english)
    for cell in nb.cells:
        cell.metadata.pop("nbgrader", None)
    _nbgrader(nb.cells[first], "setup", solution=False, grade=False, locked=True)
    for exercise in found:
        for number, index in enumerate(exercise.solutions, 1):
            cell = nb.cells[index]
            cell.metadata.get("jupyter", {}).pop("source_hidden", None)
            if not cell.metadata.get("jupyter", True):
                del cell.metadata["jupyter"]
            _nbgrader(cell, f"{exercise.grade_id}-solution-{number}", solution=True, grade=False, locked=False)
        for number, index in enumerate(exercise.checks, 1):
            cell = nb.cells[index]
            _nbgrader(cell, f"{exercise.grade_id}-check-{number}", solution=False, grade=True, locked=True,
                      points=structure.points(cell))
        for number, index in enumerate(exercise.answers, 1):
            cell = nb.cells[index]
            cell.metadata.get("jupyter", {}).pop("source_hidden", None)
            if not cell.metadata.get("jupyter", True):
                del cell.metadata["jupyter"]
            _nbgrader(cell, f"{exercise.grade_id}-answer-{number}", solution=True, grade=True, locked=False,
                      points=structure.points(cell))
    if exercises_only:
        keep = {0, first} | {index for exercise in found for index in exercise.cells}
        nb.cells = [cell for index, cell in enumerate(nb.cells) if index in keep]
    return nb


def write_course(out: Path, edition: str, chapters=nbio.CHAPTERS, exercises_only: bool = False) -> list[Path]:
    """The course folder with its config and the teacher editions in source/; returns their paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "nbgrader_config.py").write_text(
        CONFIG.format(course_id=f"companion-{edition}", tags=set(EXERCISE_TAGS)), encoding="utf-8")
    paths = []
    for chapter in chapters:
        nb = teacher_notebook(nbio.read(nbio.notebook_path(chapter, edition)), exercises_only,
                              english=nbio.read(nbio.notebook_path(chapter)))
        path = out / "source" / chapter / f"{chapter}.ipynb"
        nbio.write(nb, path)
        paths.append(path)
    return paths


def nbgrader(out: Path, *args: str) -> subprocess.CompletedProcess:
    """Run one nbgrader command in the course folder (its config applies); raise if it fails."""
    result = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=out, capture_output=True, text=True)
    if result.returncode != 0 or "Exception while loading config file" in result.stderr:
        raise RuntimeError(f"nbgrader {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def make_course(out: Path, edition: str, chapters=nbio.CHAPTERS, exercises_only: bool = False) -> None:
    """Write the course and generate the student edition of every chapter with nbgrader."""
    write_course(out, edition, chapters, exercises_only)
    for chapter in chapters:
        nbgrader(Path(out), "generate_assignment", chapter, "--force")


def add_arguments(command: str, parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--edition", choices=nbio.EDITIONS, default="en", help="which edition (default: en)")
    parser.add_argument("--out", type=Path, required=True, help="the course folder (created if missing)")
    parser.add_argument("--exercises-only", action="store_true",
                        help="each notebook keeps only its title, first code cell and exercises (a worksheet)")
    parser.add_argument("chapters", nargs="*", default=list(nbio.CHAPTERS), help="chapters (default: all)")


def run(command: str, args: argparse.Namespace) -> int:
    unknown = [chapter for chapter in args.chapters if chapter not in nbio.CHAPTERS]
    if unknown:
        raise SystemExit(f"expected chapters among {nbio.CHAPTERS}, got {unknown}")
    make_course(args.out, args.edition, args.chapters, args.exercises_only)
    for chapter in args.chapters:
        count = len(structure.exercises(nbio.read(nbio.notebook_path(chapter))))
        print(f"{chapter}: {count} exercises; teacher {args.out / 'source' / chapter}, "
              f"student {args.out / 'release' / chapter}")
    return 0
