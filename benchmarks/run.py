"""Run the book's benchmarks and write one Markdown report.

    python -m benchmarks                  # everything: notebooks, suite, quality, generative, kernels, site, cells
    python -m benchmarks --only kernels   # one part (notebooks, suite, quality, generative, kernels, site, cells)
    python -m benchmarks --update-readme  # also replace the table in README.md

Times are wall-clock seconds on the machine that runs it, with the thread count each part uses
(the notebooks fix torch to one thread through `companion.seed_everything`).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_BUDGETS = {  # seconds under strict nbval on 2 CPU cores
    "01_background.ipynb": 60,
    "02_core_concepts.ipynb": 90,
    "03_algorithms.ipynb": 150,
    "04_code_examples.ipynb": 240,
    "05_future_and_challenges.ipynb": 300,
    "06_faq.ipynb": 60,
}
SUITE_BUDGET = 12 * 60
SITE_BUDGET = 120  # seconds for `python -m book site`, both editions
SITE_REPEATS = 3
PARTS = ("notebooks", "suite", "quality", "generative", "kernels", "site", "cells")


def machine_line() -> str:
    from companion import default_device

    device = default_device()
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine()
    return (f"{device.type} ({name}), {os.cpu_count()} CPU cores, torch {torch.__version__}, "
            f"Python {platform.python_version()}")


def timed_pytest(args: list[str]) -> tuple[float, int, str]:
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", *args], cwd=ROOT,
                            capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    tail = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    return elapsed, result.returncode, tail


def notebook_rows() -> list[str]:
    rows = ["| notebook | strict nbval (s) | budget (s) | within | result |",
            "| --- | ---: | ---: | :---: | --- |"]
    for name, budget in NOTEBOOK_BUDGETS.items():
        path = ROOT / "notebooks" / name
        if not path.exists():
            rows.append(f"| {name} | – | {budget} | – | missing |")
            continue
        seconds, code, tail = timed_pytest([str(path.relative_to(ROOT))])
        rows.append(f"| {name} | {seconds:.0f} | {budget} | {'yes' if seconds <= budget else '**no**'} | "
                    f"{'passed' if code == 0 else 'FAILED'}: {tail} |")
    return rows


def suite_rows() -> list[str]:
    seconds, code, tail = timed_pytest([])
    result = f"{'passed' if code == 0 else 'FAILED'}: {tail}"
    return ["| whole `pytest` (unit tests + every notebook) | seconds | budget |", "| --- | ---: | ---: |",
            f"| {result} | {seconds:.0f} | {SUITE_BUDGET} (aim {SUITE_BUDGET // 2}) |"]


def kernel_rows(device: torch.device) -> list[str]:
    from benchmarks.kernels import all_ratios

    torch.set_num_threads(1)
    rows = ["| from scratch vs torch (1 thread) | companion (ms) | torch (ms) | ratio |",
            "| --- | ---: | ---: | ---: |"]
    for what, ours, theirs in all_ratios(device):
        rows.append(f"| {what} | {ours * 1e3:.2f} | {theirs * 1e3:.2f} | {ours / theirs:.1f}× |")
    return rows


def quality_rows(device: torch.device) -> list[str]:
    from benchmarks.quality import all_quality

    torch.set_num_threads(1)
    rows = ["| model | measure | this run | reference(s) | training (s) |", "| --- | --- | ---: | --- | ---: |"]
    for model, measure, value, references, seconds in all_quality(device):
        rows.append(f"| {model} | {measure} | {value} | {references} | {seconds} |")
    return rows


def site_rows() -> list[str]:
    """`python -m book site` as a reader runs it (a new process each time, wall clock): the median of a few
    builds, since the machine may be busy; then what the site holds."""
    import json
    import statistics
    import tempfile

    seconds, report = [], {}
    with tempfile.TemporaryDirectory(prefix="bench-site-") as tmp:
        out = Path(tmp) / "_site"
        for _ in range(SITE_REPEATS):
            start = time.perf_counter()
            result = subprocess.run([sys.executable, "-m", "book", "site", "--out", str(out), "--json"], cwd=ROOT,
                                    capture_output=True, text=True)
            seconds.append(time.perf_counter() - start)
            if result.returncode != 0:
                failure = result.stderr[-300:]
                return ["| website | FAILED |", "| --- | --- |", f"| `python -m book site` | {failure!r} |"]
            report = json.loads(result.stdout.strip().splitlines()[-1])
        parts = {"MathJax": out / "_shared" / "mathjax", "CJK font (subset)": out / "_shared" / "fonts"}
        parts.update({f"edition {code} (pages, figures, notebooks)": out / code for code in report["editions"]})
        sizes = {name: sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) for name, path in parts.items()}
    median = statistics.median(seconds)
    rows = ["| website (`python -m book site`) | value |", "| --- | ---: |",
            f"| editions | {', '.join(report['editions'])} |",
            f"| HTML pages (chapter pages) | {report['pages']} ({report['chapter_pages']}) |",
            f"| size | {report['bytes'] / 2**20:.1f} MiB |"]
    rows += [f"| of which {name} | {size / 2**20:.1f} MiB |" for name, size in sizes.items()]
    rows += [f"| build, median of {SITE_REPEATS} (s) | {median:.1f} (each: {', '.join(f'{t:.1f}' for t in seconds)}) |",
             f"| budget (s) | {SITE_BUDGET} ({'within' if median <= SITE_BUDGET else '**over**'}) |"]
    return rows


def generative_rows(device: torch.device) -> list[str]:
    from benchmarks.generative import measure, table_rows

    return table_rows(measure(device))


def update_readme(report: str) -> None:
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    pattern = re.compile(r"(<!-- benchmarks:start -->\n).*?(\n<!-- benchmarks:end -->)", re.S)
    if not pattern.search(text):
        raise SystemExit("README.md has no <!-- benchmarks:start --> ... <!-- benchmarks:end --> block")
    readme.write_text(pattern.sub(lambda m: m.group(1) + report.strip() + m.group(2), text), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=PARTS, action="append", help="run only this part (repeatable)")
    parser.add_argument("--out", type=Path, default=None, help="also write the report to this file")
    parser.add_argument("--update-readme", action="store_true", help="replace the table in README.md")
    args = parser.parse_args(argv)
    parts = args.only or list(PARTS)

    from companion import default_device

    device = default_device()
    sections = [f"Measured on {machine_line()}, {time.strftime('%Y-%m-%d')}, with `python -m benchmarks`."]
    if "notebooks" in parts:
        sections.append("\n".join(notebook_rows()))
    if "suite" in parts:
        sections.append("\n".join(suite_rows()))
    if "quality" in parts:
        sections.append("\n".join(quality_rows(device)))
    if "generative" in parts:
        sections.append("\n".join(generative_rows(device)))
    if "kernels" in parts:
        sections.append("\n".join(kernel_rows(device)))
    if "site" in parts:
        sections.append("\n".join(site_rows()))
    if "cells" in parts:
        from benchmarks.cells import cell_rows

        sections.append("\n".join(cell_rows(machine_line())))
    report = "\n\n".join(sections) + "\n"
    print(report)
    if args.out:
        args.out.write_text(report, encoding="utf-8")
    if args.update_readme:
        update_readme(report)
    return 0
