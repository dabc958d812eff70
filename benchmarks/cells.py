"""Per-cell run times of every chapter, for the lesson plans (`python -m book lesson-plans`).

Each notebook runs top to bottom in a fresh kernel, as a teacher's would; each code cell's time is the wall
time from sending it to the kernel to its last output, as a teacher waits for it. Every
chapter runs `REPEATS` times and each cell keeps its shortest time: on a shared machine the other jobs
only ever add time. The result goes to `classroom/cell-times.json`, keyed by chapter and cell id.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TIMES = ROOT / "classroom" / "cell-times.json"
REPEATS = 2


def measure_chapter(chapter: str) -> dict[str, float]:
    """Run one English notebook in a fresh kernel; {cell id: seconds} for its code cells."""
    from nbclient import NotebookClient

    from book import notebooks as nbio

    nb = nbio.read(nbio.notebook_path(chapter))
    client = NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(nbio.SOURCE)}})
    seconds = {}
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            if cell.cell_type == "code":
                start = time.perf_counter()
                client.execute_cell(cell, index)
                seconds[cell.id] = round(time.perf_counter() - start, 2)
    return seconds


def measure(machine: str, repeats: int = REPEATS) -> dict:
    from book import notebooks as nbio

    chapters = {}
    for chapter in nbio.CHAPTERS:
        runs = []
        for _ in range(repeats):
            start = time.perf_counter()
            runs.append(measure_chapter(chapter))
            print(f"{chapter}: {sum(runs[-1].values()):.1f} s in its cells, "
                  f"{time.perf_counter() - start:.1f} s with the kernel", flush=True)
        chapters[chapter] = {cell: min(run[cell] for run in runs if cell in run) for cell in runs[0]}
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return {"measured": f"{time.strftime('%Y-%m-%d')} on {machine}, the shortest of {repeats} runs, "
                        f"load average {load:.1f} at the end",
            "seconds": chapters}


def cell_rows(machine: str) -> list[str]:
    """Measure, write `classroom/cell-times.json`, and return a line for the report."""
    data = measure(machine)
    TIMES.parent.mkdir(parents=True, exist_ok=True)
    TIMES.write_text(json.dumps(data, indent=1, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")
    total = sum(sum(cells.values()) for cells in data["seconds"].values())
    return [f"Per-cell run times of the six chapters ({total:.0f} s of cells in all) written to "
            f"`{TIMES.relative_to(ROOT)}` for the lesson plans (`python -m book lesson-plans`)."]
