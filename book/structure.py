"""What the build reads from a notebook's structure: headings, sections, deep dives and exercises.

The markup is CONTRIBUTING.md's ("Notebook conventions", "Exercises"):

- headings: ``#`` the chapter, ``##`` a section, ``###`` a subsection; a section a class may skip is a
  ``### 深入 · Deep dive: ...`` heading and everything up to the next heading of level 3 or above;
- an exercise: a markdown cell headed ``### Exercise 1.N-k (kind) · 练习 1.N-k``, and after it, up to the
  next such heading, code cells tagged ``exercise-solution`` (the answer between nbgrader's
  ``### BEGIN SOLUTION`` and ``### END SOLUTION`` lines), ``exercise-check`` (a check of
  `companion.exercises`) and markdown cells tagged ``exercise-answer`` (a written answer, graded by hand);
  an optional tag ``exercise-points-N`` on a check or answer cell gives it N points (1 otherwise).

`exercises` checks the markup and raises ValueError naming the cell, so a slip fails the build and the
tests, not a teacher's nbgrader run. The structure of every edition is read from the English source
(`layout`): a translation may word its headings as it likes, its cells are the English ones, by id.
"""

from __future__ import annotations

import ast
import builtins
import re
from dataclasses import dataclass

from book import notebooks as nbio

HEADING = re.compile(r"^(#{1,6})\s+(\S.*?)\s*$")
DEEP_DIVE = "深入 · Deep dive:"
EXERCISE = re.compile(r"^### Exercise (?P<number>\d+(?:\.\d+)*(?:-\d+)?) \((?P<kind>[a-z]+)\)"
                      r" · 练习 (?P<again>\S+)\s*$")
KINDS = ("code", "derivation", "concept", "experiment")
SOLUTION, CHECK, ANSWER = "exercise-solution", "exercise-check", "exercise-answer"
TAGS = (SOLUTION, CHECK, ANSWER)
POINTS = re.compile(r"^exercise-points-(\d+)$")
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
MARKER_WORDS = ("BEGIN SOLUTION", "END SOLUTION")  # what nbgrader looks for, anywhere in a line


def layout(nb, english=None):
    """The notebook whose structure applies to ``nb``: ``english`` when given (same cells, by id), else ``nb``."""
    if english is None:
        return nb
    if [cell.get("id") for cell in english.cells] != [cell.get("id") for cell in nb.cells]:
        raise ValueError("expected an edition with the English notebook's cells (same ids, same order), got others")
    return english


def headings(cell) -> list[tuple[int, str]]:
    """(level, text) of every heading line of a markdown cell, in order (none for code cells)."""
    if cell.cell_type != "markdown":
        return []
    found, fenced = [], False
    for line in nbio.source(cell).splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        match = None if fenced else HEADING.match(line)
        if match:
            found.append((len(match.group(1)), match.group(2)))
    return found


def leading_heading(cell) -> tuple[int, str] | None:
    """The heading a markdown cell starts with, if it starts with one."""
    if cell.cell_type != "markdown":
        return None
    text = nbio.source(cell).lstrip("\n")
    match = HEADING.match(text.split("\n", 1)[0]) if text else None
    return (len(match.group(1)), match.group(2)) if match else None


def is_deep_dive(title: str) -> bool:
    return title.startswith(DEEP_DIVE)


def first_code_cell(nb) -> int:
    """The index of the chapter's first code cell: imports, seeding, data."""
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            return index
    raise ValueError("expected a notebook with at least one code cell, got none")


def deep_dive_cells(nb) -> set[int]:
    """Indices of the cells inside deep dives: from a deep-dive heading to the next heading of level <= 3."""
    inside, cells = False, set()
    for index, cell in enumerate(nb.cells):
        for level, title in headings(cell)[:1]:
            if level <= 3:
                inside = level == 3 and is_deep_dive(title)
        if inside:
            cells.add(index)
        for level, title in headings(cell)[1:]:  # a heading further down a cell takes effect after it
            if level <= 3:
                inside = level == 3 and is_deep_dive(title)
    return cells


@dataclass(frozen=True)
class Exercise:
    """One exercise: its number and kind, and the indices of its cells in the notebook."""

    number: str
    kind: str
    task: int  # the markdown cell with the heading
    cells: tuple[int, ...]  # every cell from the task up to the next heading of level <= 3
    solutions: tuple[int, ...]
    checks: tuple[int, ...]
    answers: tuple[int, ...]

    @property
    def grade_id(self) -> str:
        """A name nbgrader accepts (letters, digits, _ and -), unique in the notebook."""
        return "exercise-" + re.sub(r"[^0-9A-Za-z]+", "_", self.number)


def points(cell) -> int:
    found = [int(m.group(1)) for tag in nbio.tags(cell) if (m := POINTS.match(tag))]
    if len(found) > 1 or (found and found[0] < 1):
        raise ValueError(f"cell {cell.get('id')}: expected one tag exercise-points-N with N >= 1, got {found}")
    return found[0] if found else 1


def _where(nb, index: int) -> str:
    return f"cell {index} (id {nb.cells[index].get('id')})"


def exercises(nb) -> list[Exercise]:
    """The notebook's exercises, in order; ValueError if the markup is broken anywhere."""
    found: list[Exercise] = []
    claimed: set[int] = set()
    index = 0
    while index < len(nb.cells):
        lead = leading_heading(nb.cells[index])
        if not (lead and lead[0] == 3 and lead[1].startswith("Exercise ")):
            index += 1
            continue
        match = EXERCISE.match("### " + lead[1])
        if not match or match.group("number") != match.group("again") or match.group("kind") not in KINDS:
            raise ValueError(f"{_where(nb, index)}: expected a heading '### Exercise 1.N-k (kind) · 练习 1.N-k' "
                             f"with kind one of {KINDS}, got {'### ' + lead[1]!r}")
        end = index + 1
        while end < len(nb.cells):
            head = leading_heading(nb.cells[end])
            if head and head[0] <= 3:
                break
            end += 1
        cells = tuple(range(index, end))
        tagged = {tag: tuple(i for i in cells if tag in nbio.tags(nb.cells[i])) for tag in TAGS}
        exercise = Exercise(match.group("number"), match.group("kind"), index, cells,
                            tagged[SOLUTION], tagged[CHECK], tagged[ANSWER])
        _validate(nb, exercise)
        if any(e.number == exercise.number for e in found):
            raise ValueError(f"{_where(nb, index)}: exercise {exercise.number} appears twice")
        found.append(exercise)
        claimed.update(cells)
        index = end
    for index, cell in enumerate(nb.cells):
        if index not in claimed and (set(nbio.tags(cell)) & set(TAGS)):
            raise ValueError(f"{_where(nb, index)}: tagged {sorted(set(nbio.tags(cell)) & set(TAGS))} but not "
                             "inside an exercise (after a '### Exercise ...' heading)")
        if index not in claimed or SOLUTION not in nbio.tags(cell):
            if cell.cell_type == "code" and any(word in nbio.source(cell) for word in MARKER_WORDS):
                raise ValueError(f"{_where(nb, index)}: holds a solution marker but is not tagged {SOLUTION!r}")
    return found


def _validate(nb, exercise: Exercise) -> None:
    where = f"exercise {exercise.number} ({_where(nb, exercise.task)})"
    for i in exercise.solutions:
        cell = nb.cells[i]
        lines = [line.strip() for line in nbio.source(cell).splitlines()]
        if cell.cell_type != "code" or BEGIN not in lines or END not in lines or lines.index(BEGIN) > lines.index(END):
            raise ValueError(f"{where}: solution {_where(nb, i)} must be a code cell with '{BEGIN}' then '{END}' lines")
        if lines.count(BEGIN) != 1 or lines.count(END) != 1:
            raise ValueError(f"{where}: solution {_where(nb, i)} must hold exactly one solution region")
    for i in exercise.checks:
        cell = nb.cells[i]
        if cell.cell_type != "code" or any(word in nbio.source(cell) for word in MARKER_WORDS):
            raise ValueError(f"{where}: check {_where(nb, i)} must be a code cell without solution markers")
        if set(nbio.tags(cell)) & {SOLUTION, ANSWER}:
            raise ValueError(f"{where}: {_where(nb, i)} cannot be both a check and a solution")
        points(cell)
    for i in exercise.answers:
        if nb.cells[i].cell_type != "markdown":
            raise ValueError(f"{where}: written answer {_where(nb, i)} must be a markdown cell")
        points(nb.cells[i])
    if exercise.kind != "experiment":
        if not exercise.checks and not exercise.answers:
            raise ValueError(f"{where}: a {exercise.kind} exercise needs a cell tagged {CHECK!r} (or {ANSWER!r})")
        if exercise.checks and not exercise.solutions:
            raise ValueError(f"{where}: its check has no cell tagged {SOLUTION!r} to check")
    if exercise.checks and exercise.solutions and min(exercise.checks) < min(exercise.solutions):
        raise ValueError(f"{where}: the check comes before the solution")


def defined_names(source: str) -> set[str]:
    """Names a code cell binds at its top level: assignments, defs, imports, loop and except targets."""
    names = set()
    try:
        tree = ast.parse(source)
    except SyntaxError:  # IPython magics: nothing the analysis can use
        return names
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
    return names


def free_names(source: str) -> set[str]:
    """Names a code cell reads but binds nowhere in itself (parameters count as bound), builtins aside.

    A static over-approximation, enough to say which cells a cell depends on.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    bound = defined_names(source) | {node.arg for node in ast.walk(tree) if isinstance(node, ast.arg)}
    loads = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}
    return loads - bound - set(dir(builtins))
