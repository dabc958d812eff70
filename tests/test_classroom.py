"""The classroom kit: teacher and student editions from one source, graded by nbgrader, for every edition.

- every check passes on the teacher edition's solution and fails on the student edition's blank (only the
  chapter's first code cell and the exercise cells are executed: the markup's rule allows it);
- no solution text survives in the student edition, in sources, outputs or metadata; the rest of the
  chapter keeps its outputs;
- the whole nbgrader loop: generate, two students submit (one complete, one blank), autograde, and the
  gradebook holds full marks and zero;
- each exercise uses only the chapter's first code cell and its own cells, and nothing later uses it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from book import classroom, structure
from book import notebooks as nbio

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _editions():
    return [e for e in nbio.EDITIONS if all(nbio.notebook_path(c, e).exists() for c in nbio.CHAPTERS)]


def _chapters_with_exercises(edition="en"):
    return [c for c in nbio.CHAPTERS if structure.exercises(nbio.read(nbio.notebook_path(c, edition)))]


EDITIONS = _editions()
CHAPTERS = _chapters_with_exercises()
CASES = [(edition, chapter) for edition in EDITIONS for chapter in CHAPTERS]


def test_every_edition_and_a_chapter_with_exercises_are_covered():
    assert EDITIONS[0] == "en" and "zh" in EDITIONS  # the Chinese notebooks exist, so they are tested too
    assert CHAPTERS, "no chapter has exercises"


@pytest.fixture(scope="module")
def courses(tmp_path_factory):
    """One nbgrader course per edition (every chapter with exercises), made as a teacher makes it."""
    made = {}
    for edition in EDITIONS:
        root = tmp_path_factory.mktemp(f"course-{edition}")
        classroom.make_course(root, edition, CHAPTERS)
        made[edition] = root
    return made


def _editions_of(courses, edition, chapter):
    root = courses[edition]
    teacher = nbio.read(root / "source" / chapter / f"{chapter}.ipynb")
    student = nbio.read(root / "release" / chapter / f"{chapter}.ipynb")
    assert [cell.id for cell in teacher.cells] == [cell.id for cell in student.cells]
    return teacher, student


def _exercises(chapter):
    """The exercises of a chapter, in every edition: read from the English source, whose cells all share."""
    return structure.exercises(nbio.read(nbio.notebook_path(chapter)))


def _cleanup_cell(names: set[str]):
    cell = nbformat.v4.new_code_cell(f"for _name in {sorted(names)!r}:\n    globals().pop(_name, None)")
    cell.metadata["role"] = "cleanup"
    return cell


def _role(cell, role: str, number: str):
    """A fresh copy of a code cell (new id, no outputs) that remembers its role."""
    return nbformat.v4.new_code_cell(nbio.source(cell), metadata={"role": role, "exercise": number})


def _run(nb, timeout=600):
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(nbio.SOURCE)}})
    client.execute()
    return nb


def _errors(cell) -> list[str]:
    return [f"{o['ename']}: {o['evalue']}" for o in cell.get("outputs", []) if o.get("output_type") == "error"]


def _text(cell) -> str:
    return "".join("".join(o.get("text", "")) for o in cell.get("outputs", []) if o.get("output_type") == "stream")


@pytest.mark.parametrize(("edition", "chapter"), CASES)
def test_checks_pass_on_the_teacher_edition_and_fail_on_the_blanks(courses, edition, chapter):
    """One kernel per chapter: its first code cell, then for each exercise the student's blank and its
    check (which must fail), then the teacher's solution and its check (which must pass)."""
    teacher, student = _editions_of(courses, edition, chapter)
    first = structure.first_code_cell(teacher)
    assert nbio.source(student.cells[first]) == nbio.source(teacher.cells[first])
    cells = [nbio.clone(teacher.cells[first])]
    exercises = _exercises(chapter)
    for exercise in exercises:
        if not exercise.checks:
            continue
        defined = set().union(*(structure.defined_names(nbio.source(teacher.cells[i])) for i in exercise.solutions))
        cells.append(_cleanup_cell(defined))
        cells += [_role(student.cells[i], "student-solution", exercise.number) for i in exercise.solutions]
        cells += [_role(student.cells[i], "student-check", exercise.number) for i in exercise.checks]
        cells += [_role(teacher.cells[i], "teacher-solution", exercise.number) for i in exercise.solutions]
        cells += [_role(teacher.cells[i], "teacher-check", exercise.number) for i in exercise.checks]
    nb = nbformat.v4.new_notebook(cells=cells, metadata=teacher.metadata)
    _run(nb)
    assert not _errors(nb.cells[0]), _errors(nb.cells[0])
    by_role = {}
    for cell in nb.cells[1:]:
        by_role.setdefault(cell.metadata["role"], []).append(cell)
    assert len(by_role["teacher-check"]) == sum(len(e.checks) for e in exercises) > 0
    for cell in by_role["teacher-solution"]:
        assert not _errors(cell), (cell.metadata, _errors(cell))
    for cell in by_role["teacher-check"]:
        assert not _errors(cell) and _text(cell).startswith("Success!"), (cell.metadata, _errors(cell), _text(cell))
    for cell in by_role["student-check"]:
        assert _errors(cell) and "Success!" not in _text(cell), (cell.metadata, "passes on the blank")


def _solution_lines(teacher) -> set[str]:
    """Stripped lines between the solution markers that appear nowhere else in the teacher edition."""
    lines = set()
    elsewhere = set()
    for cell in teacher.cells:
        inside = False
        for line in nbio.source(cell).splitlines():
            if line.strip() == structure.BEGIN:
                inside = True
            elif line.strip() == structure.END:
                inside = False
            elif (inside and structure.SOLUTION in nbio.tags(cell)) or structure.ANSWER in nbio.tags(cell):
                if line.strip() and not line.strip().startswith("#"):
                    lines.add(line.strip())  # a line of a solution region or of a written model answer
            elif structure.SOLUTION not in nbio.tags(cell) and structure.ANSWER not in nbio.tags(cell):
                elsewhere.add(line.strip())
    return lines - elsewhere


@pytest.mark.parametrize(("edition", "chapter"), CASES)
def test_no_solution_text_survives_in_the_student_edition(courses, edition, chapter):
    teacher, student = _editions_of(courses, edition, chapter)
    secret = _solution_lines(teacher)
    assert secret, "the teacher edition holds no solution text"
    exercise_cells = {i for e in _exercises(chapter) for i in e.solutions + e.checks + e.answers}
    # the teacher's printouts of solutions and checks ("Success! ... 3136 numbers enter fc1")
    secret |= {line.strip() for i in exercise_cells for line in _text(teacher.cells[i]).splitlines() if line.strip()}
    # a line of solution is not a line of any cell, and a distinctive one is nowhere in the file (metadata too)
    student_lines = {line.strip() for cell in student.cells for line in nbio.source(cell).splitlines()}
    assert not secret & student_lines, sorted(secret & student_lines)[:5]
    path = courses[edition] / "release" / chapter / f"{chapter}.ipynb"
    whole_file = path.read_text(encoding="utf-8")
    leaks = [line for line in secret if len(line) >= 12
             and (line in whole_file or json.dumps(line, ensure_ascii=False)[1:-1] in whole_file)]
    assert not leaks, leaks[:5]
    for index in exercise_cells:
        assert not student.cells[index].get("outputs"), f"cell {index} keeps an output"
    for exercise in _exercises(chapter):
        for index in exercise.solutions:
            assert "raise NotImplementedError()" in nbio.source(student.cells[index])


@pytest.mark.parametrize(("edition", "chapter"), CASES)
def test_students_keep_the_chapter_and_its_figures(courses, edition, chapter):
    teacher, student = _editions_of(courses, edition, chapter)
    source = nbio.read(nbio.notebook_path(chapter, edition))
    exercises = _exercises(chapter)
    exercise_cells = {i for e in exercises for i in e.solutions + e.checks + e.answers}
    figures = 0
    for index, (ours, theirs) in enumerate(zip(student.cells, source.cells, strict=True)):
        if index in exercise_cells:
            continue
        assert nbio.source(ours) == nbio.source(theirs)
        assert ours.get("outputs", []) == theirs.get("outputs", []), f"cell {index} lost its output"
        figures += sum("image/png" in o.get("data", {}) for o in ours.get("outputs", []))
    assert figures == sum("image/png" in o.get("data", {}) for c in source.cells for o in c.get("outputs", []))
    # the checks and the chapter's first code cell are locked; the solutions are open to the student
    for exercise in exercises:
        for index in exercise.checks:
            meta = student.cells[index].metadata
            assert meta["nbgrader"]["grade"] and meta["nbgrader"]["locked"] and meta["editable"] is False
        for index in exercise.solutions:
            assert student.cells[index].metadata["nbgrader"]["solution"]
            assert "source_hidden" not in teacher.cells[index].metadata.get("jupyter", {})  # visible to teachers
    first = structure.first_code_cell(nbio.read(nbio.notebook_path(chapter)))
    assert student.cells[first].metadata["nbgrader"]["locked"]
    # the teacher edition carries the slide metadata of the decks, for RISE
    assert all("slideshow" in cell.metadata for cell in teacher.cells) and teacher.metadata["rise"]["scroll"]


@pytest.mark.parametrize("edition", EDITIONS)
def test_the_nbgrader_loop_gives_full_marks_and_zero(tmp_path, edition):
    """Generate one chapter's worksheet, let two students submit, autograde, read the gradebook."""
    from nbgrader.api import Gradebook

    chapter = CHAPTERS[0]
    classroom.make_course(tmp_path, edition, [chapter], exercises_only=True)
    teacher = nbio.read(tmp_path / "source" / chapter / f"{chapter}.ipynb")
    blank = nbio.read(tmp_path / "release" / chapter / f"{chapter}.ipynb")
    complete = nbio.clone(blank)
    for ours, theirs in zip(complete.cells, teacher.cells, strict=True):
        if structure.SOLUTION in nbio.tags(theirs) or structure.ANSWER in nbio.tags(theirs):
            ours.source = theirs.source
    for student, nb in (("ada", complete), ("ben", blank)):
        folder = tmp_path / "submitted" / student / chapter
        nbio.write(nb, folder / f"{chapter}.ipynb")
        (folder / "timestamp.txt").write_text("2026-11-29 09:00:00.000000 UTC", encoding="utf-8")
    classroom.nbgrader(tmp_path, "autograde", chapter)
    source = nbio.read(nbio.notebook_path(chapter))
    exercises = _exercises(chapter)
    code_points = sum(structure.points(source.cells[i]) for e in exercises for i in e.checks)
    written_points = sum(structure.points(source.cells[i]) for e in exercises for i in e.answers)
    with Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}", course_id=f"companion-{edition}") as gradebook:
        ada = gradebook.find_submission_notebook(chapter, chapter, "ada")
        ben = gradebook.find_submission_notebook(chapter, chapter, "ben")
        assert ada.max_score == ben.max_score == code_points + written_points and code_points > 0
        # the checks grade themselves; a written answer waits for the teacher
        assert ada.code_score == code_points and ada.needs_manual_grade == (written_points > 0)
        assert ben.code_score == 0 and not ben.needs_manual_grade  # an untouched answer scores 0 by itself
        assert all(grade.auto_score == 0 for grade in ben.grades)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_an_exercise_uses_only_the_first_code_cell_and_its_own_cells(chapter):
    nb = nbio.read(nbio.notebook_path(chapter))
    first = structure.first_code_cell(nb)
    available = structure.defined_names(nbio.source(nb.cells[first]))
    in_exercises = set()
    for exercise in structure.exercises(nb):
        code = [nbio.source(nb.cells[i]) for i in exercise.cells if nb.cells[i].cell_type == "code"]
        own = set().union(set(), *(structure.defined_names(source) for source in code))
        for source in code:
            missing = structure.free_names(source) - available - own
            assert not missing, f"exercise {exercise.number} uses {sorted(missing)} from outside itself"
        in_exercises |= set(exercise.cells)
        later = [i for i in range(exercise.cells[-1] + 1, len(nb.cells))
                 if i not in in_exercises and nb.cells[i].cell_type == "code"
                 and not any(i in e.cells for e in structure.exercises(nb))]
        for i in later:
            used = structure.free_names(nbio.source(nb.cells[i])) & (own - available)
            assert not used, f"cell {i} uses {sorted(used)} from exercise {exercise.number}"


# the markup itself: written answers graded by hand, and the mistakes the build refuses

def _synthetic(*cells):
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    nb.cells = [nbformat.v4.new_markdown_cell("# 1.9 测试 · A test chapter"),
                nbformat.v4.new_code_cell("import math"), *cells]
    return nb


def _tagged(cell, *tags):
    cell.metadata["tags"] = list(tags)
    return cell


def _experiment():
    return [nbformat.v4.new_markdown_cell("### Exercise 1.9-1 (experiment) · 练习 1.9-1\n\nVary the seed."),
            nbformat.v4.new_code_cell("print(math.pi)"),
            _tagged(nbformat.v4.new_markdown_cell("The modes move, their number stays."),
                    "exercise-answer", "exercise-points-3"),
            nbformat.v4.new_markdown_cell("### Exercise 1.9-2 (code) · 练习 1.9-2\n\nWrite `half`."),
            _tagged(nbformat.v4.new_code_cell("def half(x):\n    ### BEGIN SOLUTION\n    return x / 2\n"
                                              "    ### END SOLUTION"), "exercise-solution"),
            _tagged(nbformat.v4.new_code_cell("assert half(3) == 1.5\nprint('Success!')"),
                    "exercise-check", "exercise-points-2")]


def test_written_answers_are_graded_by_hand_and_blanked_for_students(tmp_path):
    nb = _synthetic(*_experiment())
    found = structure.exercises(nb)
    assert [(e.number, e.kind, e.answers, e.solutions, e.checks) for e in found] == [
        ("1.9-1", "experiment", (4,), (), ()), ("1.9-2", "code", (), (6,), (7,))]
    teacher = classroom.teacher_notebook(nb)
    assert teacher.cells[4].metadata["nbgrader"] == {"grade": True, "grade_id": "exercise-1_9_1-answer-1",
                                                     "locked": False, "points": 3, "schema_version": 3,
                                                     "solution": True}
    assert teacher.cells[7].metadata["nbgrader"]["points"] == 2
    assert [c.metadata["slideshow"]["slide_type"] for c in teacher.cells][4:] == ["skip", "subslide", "skip", "skip"]
    classroom.write_course(tmp_path, "en", [])
    nbio.write(teacher, tmp_path / "source" / "test" / "test.ipynb")
    classroom.nbgrader(tmp_path, "generate_assignment", "test", "--force")
    student = nbio.read(tmp_path / "release" / "test" / "test.ipynb")
    assert nbio.source(student.cells[4]) == "YOUR ANSWER HERE"
    assert "return x / 2" not in nbio.source(student.cells[6])
    assert nbio.source(student.cells[3]) == "print(math.pi)"  # the experiment's own code stays


@pytest.mark.parametrize(("change", "message"), [
    (lambda cells: cells[0].update(source="### Exercise 1.9-1 (essay) · 练习 1.9-1"), "kind one of"),
    (lambda cells: cells[0].update(source="### Exercise 1.9-1 (code) · 练习 1.9-2"), "expected a heading"),
    (lambda cells: cells[4].update(source="def half(x):\n    return x / 2"), "BEGIN SOLUTION"),
    (lambda cells: cells[5].metadata.update(tags=[]), "needs a cell tagged 'exercise-check'"),
    (lambda cells: cells[4].metadata.update(tags=[]), "tagged 'exercise-solution'"),
    (lambda cells: cells[5].metadata.update(tags=["exercise-check", "exercise-points-0"]), "N >= 1"),
    (lambda cells: cells[2].update(cell_type="code", outputs=[], execution_count=None), "must be a markdown cell"),
    (lambda cells: cells.insert(0, _tagged(nbformat.v4.new_code_cell("1"), "exercise-check")),
     "not inside an exercise"),
    (lambda cells: cells[3].update(source="### Exercise 1.9-1 (code) · 练习 1.9-1"), "appears twice"),
])
def test_broken_markup_is_refused_with_the_cell_named(change, message):
    cells = _experiment()
    change(cells)
    with pytest.raises(ValueError, match=message):
        structure.exercises(_synthetic(*cells))


def test_the_command_line_lists_classroom_and_slides():
    import subprocess

    result = subprocess.run([sys.executable, "-m", "book", "--help"], capture_output=True, text=True,
                            cwd=Path(nbio.ROOT), check=True)
    assert "classroom" in result.stdout and "slides" in result.stdout
