"""Lesson plans: one Markdown page per chapter, made from the notebook and the measured run times.

``python -m book lesson-plans`` writes `classroom/lesson-plans/NN_name.md`; ``--check`` only says which are
stale (and exits 1), as the test suite does. A plan holds

- the chapter's learning objectives and prerequisites, read from its opening cells: the bullet list under
  a line ``**学习目标 · Learning objectives**`` and the one under ``**预备知识 · Prerequisites**``;
- its sections in order (every ``##`` heading; each deep dive a row of its own) with the minutes each takes
  to teach, estimated from its length (`teach_minutes` states the rule), and the seconds its cells take to
  run, measured by ``python -m benchmarks --only cells`` into `classroom/cell-times.json`;
- what to leave out of a 45-minute class (`fit`): deep dives first, then the slowest cells, which are
  shown from their stored outputs instead of run, then whole sections, which become reading.

The exercises section is not part of the lecture: the plan counts its exercises and their kinds, for
homework or a lab (`python -m book classroom`).
"""

from __future__ import annotations

import argparse
import json
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from book import notebooks as nbio
from book import structure

PLANS = nbio.ROOT / "classroom" / "lesson-plans"
TIMES = nbio.ROOT / "classroom" / "cell-times.json"
CLASS_MINUTES = 45
WORDS_PER_MINUTE = 100  # prose explained in class, about two thirds of the pace of reading it aloud
CODE_LINES_PER_MINUTE = 20
FIGURE_MINUTES = 1.0
SLOW_CELL = 10.0  # seconds: a cell this slow may be shown from its stored output instead of run
OBJECTIVES = "学习目标 · Learning objectives"
PREREQUISITES = "预备知识 · Prerequisites"
EXERCISES = "练习 · Exercises"
WORD = re.compile(r"[A-Za-z0-9]+(?:['’.\-][A-Za-z0-9]+)*")


def words(text: str) -> float:
    """Latin words and numbers count 1 each, a Chinese character ½."""
    cjk = sum(1 for char in text if unicodedata.east_asian_width(char) in "WF" and char.isalpha())
    return len(WORD.findall(text)) + cjk / 2


@dataclass
class Section:
    """A part of a chapter as a plan counts it."""

    title: str
    deep_dive: bool = False
    exercises: bool = False
    words: float = 0.0
    code_lines: int = 0
    figures: int = 0
    cells: list[int] = field(default_factory=list)  # its code cells, by index in the notebook

    def teach_minutes(self) -> float:
        """Words / 100 + code lines / 20 + 1 per figure: the time to present it, not to run it."""
        return (self.words / WORDS_PER_MINUTE + self.code_lines / CODE_LINES_PER_MINUTE
                + self.figures * FIGURE_MINUTES)


def sections(nb) -> list[Section]:
    """The chapter's opening, its ``##`` sections and their deep dives, in notebook order."""
    lead = structure.leading_heading(nb.cells[0])
    opening = Section("Opening: " + (lead[1] if lead else "title and setup"))
    found = [opening]
    parent, current = opening, opening
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            current.cells.append(index)
            current.code_lines += len([line for line in nbio.source(cell).splitlines() if line.strip()])
            current.figures += sum(any(key.startswith("image/") for key in output.get("data", {}))
                                   for output in cell.get("outputs", []))
            continue
        for line in nbio.source(cell).splitlines():
            match = structure.HEADING.match(line)
            if match and len(match.group(1)) == 2:
                parent = current = Section(match.group(2), exercises=match.group(2).startswith(EXERCISES))
                found.append(current)
            elif match and len(match.group(1)) == 3 and structure.is_deep_dive(match.group(2)):
                current = Section(match.group(2), deep_dive=True)
                found.append(current)
            elif match and len(match.group(1)) <= 3 and current.deep_dive:
                current = parent
            current.words += words(line)
    return found


def bullets_after(nb, marker: str) -> list[str]:
    """The bullet list that follows a line ``**marker**`` in the chapter's opening cells (before any ``##``)."""
    for cell in nb.cells:
        if structure.leading_heading(cell) and structure.leading_heading(cell)[0] == 2:
            break
        if cell.cell_type != "markdown":
            continue
        lines = nbio.source(cell).splitlines()
        for i, line in enumerate(lines):
            if line.strip().rstrip(":：") == f"**{marker}**":
                items = []
                for item in lines[i + 1:]:
                    if item.startswith(("- ", "* ")) or re.match(r"\d+\. ", item):
                        items.append(re.sub(r"^(?:[-*]|\d+\.) ", "", item).strip())
                    elif item.startswith("  ") and items:
                        items[-1] += " " + item.strip()
                    elif item.strip() or items:
                        break
                return items
    return []


def load_times(path: Path = TIMES) -> dict:
    if not path.exists():
        return {"measured": "never (run python -m benchmarks --only cells)", "seconds": {}}
    return json.loads(path.read_text(encoding="utf-8"))


@dataclass
class Fit:
    """How a chapter fits a class: what is skipped, what is shown from stored outputs, what becomes reading."""

    full_minutes: float
    minutes: float
    skipped: list[Section]
    shown: list[tuple[int, list[int]]]  # (slowest cell, the later cells that use its results)
    reading: list[Section]


def _dependents(nb, start: int, cells: list[int]) -> list[int]:
    """Later cells of ``cells`` that read, directly or not, a name that cell ``start`` defines."""
    tainted = set(structure.defined_names(nbio.source(nb.cells[start])))
    found = []
    for index in cells:
        if index <= start:
            continue
        source = nbio.source(nb.cells[index])
        if structure.free_names(source) & tainted:
            found.append(index)
            tainted |= structure.defined_names(source)
    return found


def fit(nb, parts: list[Section], seconds: dict[str, float], minutes: float = CLASS_MINUTES) -> Fit:
    """What to leave out so that the lecture fits ``minutes``, in three steps, each only while it is still over:

    1. skip deep dives, the longest first;
    2. show the slowest cells (`SLOW_CELL` seconds or more; never the first code cell) from their stored
       outputs instead of running them, with the later cells that use their results;
    3. set whole sections (never the opening) as reading: the longest first, and last the shortest one that
       is enough.
    """
    lecture = [part for part in parts if not part.exercises]
    first = structure.first_code_cell(nb)

    def run_minutes(part: Section, shown: set[int]) -> float:
        return sum(seconds.get(nb.cells[i].id, 0.0) for i in part.cells if i not in shown) / 60

    def cost(part: Section, shown: set[int]) -> float:
        return part.teach_minutes() + run_minutes(part, shown)

    def total(kept: list[Section], shown: set[int]) -> float:
        return sum(cost(part, shown) for part in kept)

    kept, shown_cells = list(lecture), set()
    full = total(kept, shown_cells)
    skipped = []
    for part in sorted((p for p in kept if p.deep_dive), key=lambda p: -cost(p, set())):
        if total(kept, shown_cells) <= minutes:
            break
        kept.remove(part)
        skipped.append(part)
    shown = []
    code = [i for part in kept for i in part.cells]
    for index in sorted(code, key=lambda i: -seconds.get(nb.cells[i].id, 0.0)):
        if total(kept, shown_cells) <= minutes or seconds.get(nb.cells[index].id, 0.0) < SLOW_CELL:
            break
        if index in shown_cells or index == first:
            continue
        after = [i for i in _dependents(nb, index, code) if i not in shown_cells]
        shown.append((index, after))
        shown_cells |= {index, *after}
    reading = []
    while total(kept, shown_cells) > minutes and len(kept) > 1:
        over = total(kept, shown_cells) - minutes
        candidates = sorted(kept[1:], key=lambda p: cost(p, shown_cells))
        enough = [p for p in candidates if cost(p, shown_cells) >= over]
        part = enough[0] if enough else candidates[-1]
        kept.remove(part)
        reading.append(part)
    return Fit(full, total(kept, shown_cells), skipped, shown, reading)


def _minutes(value: float) -> str:
    return f"{value:.0f}" if value >= 0.5 else "<1"


def _section_of(parts: list[Section], index: int) -> str:
    return next(part.title for part in parts if index in part.cells)


def plan(chapter: str, times: dict | None = None) -> str:
    """The lesson plan of one chapter, as Markdown."""
    times = times if times is not None else load_times()
    nb = nbio.read(nbio.notebook_path(chapter))
    seconds = times["seconds"].get(chapter, {})
    parts = sections(nb)
    title = parts[0].title.removeprefix("Opening: ")
    code_ids = [cell.id for cell in nb.cells if cell.cell_type == "code"]
    unmeasured = [cell_id for cell_id in code_ids if cell_id not in seconds]
    lines = [f"# Lesson plan · {title}", "",
             f"*Made by `python -m book lesson-plans` from "
             f"[`notebooks/{chapter}.ipynb`](../../notebooks/{chapter}.ipynb) and the run times in "
             f"`classroom/cell-times.json` (measured {times['measured']}). Do not edit: change the notebook, "
             "then run the command again.*", ""]
    for heading, marker in (("Learning objectives", OBJECTIVES), ("Prerequisites", PREREQUISITES)):
        items = bullets_after(nb, marker)
        lines += [f"## {heading}", ""]
        lines += [f"- {item}" for item in items] if items else [
            f"*Not stated yet: the chapter's opening cells need a line `**{marker}**` followed by a bullet list "
            "(CONTRIBUTING.md, \"Lesson plans\").*"]
        lines.append("")
    lines += ["## Sections", "", "| # | section | teach (min) | run (s) | figures |",
              "| ---: | --- | ---: | ---: | ---: |"]
    number = 0
    for part in parts:
        run = sum(seconds.get(nb.cells[i].id, 0.0) for i in part.cells)
        if part.deep_dive:
            label, row = f"↳ {part.title} *(deep dive)*", ""
        else:
            number += 1
            label, row = part.title + (" *(homework or lab, not lecture)*" if part.exercises else ""), str(number)
        lines.append(f"| {row} | {label} | {_minutes(part.teach_minutes())} | {run:.1f} | {part.figures} |")
    lecture = [part for part in parts if not part.exercises]
    teach = sum(part.teach_minutes() for part in lecture)
    run = sum(seconds.get(nb.cells[i].id, 0.0) for part in lecture for i in part.cells)
    lines += [f"| | **lecture, without the exercises** | **{teach:.0f}** | **{run:.0f}** | |", ""]
    if unmeasured:
        lines += [f"*{len(unmeasured)} of the {len(code_ids)} code cells have no measured run time yet "
                  "(`python -m benchmarks --only cells`); they count as 0 s.*", ""]
    found = structure.exercises(nb)
    if found:
        kinds = {kind: sum(e.kind == kind for e in found) for kind in structure.KINDS}
        checks = sum(seconds.get(nb.cells[i].id, 0.0) for e in found for i in e.checks)
        lines += [f"**Exercises:** {len(found)} (" + ", ".join(f"{n} {kind}" for kind, n in kinds.items() if n)
                  + f"); their checks run in {checks:.1f} s. Hand them out with `python -m book classroom`.", ""]
    else:
        lines += ["**Exercises:** none yet.", ""]
    result = fit(nb, parts, seconds)
    lines += [f"## A {CLASS_MINUTES}-minute class", "",
              f"The whole lecture takes about {result.full_minutes:.0f} minutes ({teach:.0f} to teach, "
              f"{run / 60:.0f} to run)."]
    if result.full_minutes <= CLASS_MINUTES:
        lines += ["It fits as it is; nothing needs to be left out.", ""]
    else:
        lines += [f"To fit {CLASS_MINUTES} minutes:", ""]
        step = 0
        if result.skipped:
            step += 1
            lines.append(f"{step}. Skip the deep dives: " + "; ".join(part.title for part in result.skipped) + ".")
        if result.shown:
            step += 1
            shown = []
            for index, after in result.shown:
                note = f" and the {len(after)} later cells that use its results" if after else ""
                shown.append(f"cell {index} in “{_section_of(parts, index)}” "
                             f"({seconds.get(nb.cells[index].id, 0.0):.0f} s){note}")
            lines.append(f"{step}. Do not run, show the stored outputs instead: " + "; ".join(shown) + ".")
        if result.reading:
            step += 1
            lines.append(f"{step}. Set as reading: " + "; ".join(part.title for part in result.reading) + ".")
        lines += ["", f"That leaves about {result.minutes:.0f} minutes.", ""]
    lines += ["## How the minutes are estimated", "",
              f"Teaching: {WORDS_PER_MINUTE} words of prose a minute (a Chinese character counts half a word), "
              f"{CODE_LINES_PER_MINUTE} lines of code a minute, {FIGURE_MINUTES:.0f} minute a figure. Running: "
              "each code cell's measured time, a fresh kernel running the notebook from the top. "
              "To fit a class, deep dives go first (the longest first), then cells that run "
              f"{SLOW_CELL:.0f} s or more are shown from their stored outputs (with every later cell that uses "
              "their results), the slowest first, then whole sections become reading: the longest first, and "
              "last the shortest one that is enough.", ""]
    return "\n".join(lines)


def path_of(chapter: str) -> Path:
    return PLANS / f"{chapter}.md"


def add_arguments(command: str, parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a plan is out of date")
    parser.add_argument("chapters", nargs="*", default=list(nbio.CHAPTERS), help="chapters (default: all)")


def run(command: str, args: argparse.Namespace) -> int:
    times = load_times()
    stale = []
    for chapter in args.chapters:
        text = plan(chapter, times)
        path = path_of(chapter)
        current = path.exists() and path.read_text(encoding="utf-8") == text
        if args.check:
            print(f"{path.relative_to(nbio.ROOT)}: {'current' if current else 'OUT OF DATE'}")
            stale += [] if current else [chapter]
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(f"{path.relative_to(nbio.ROOT)}: {'unchanged' if current else 'written'}")
    return 1 if stale else 0
