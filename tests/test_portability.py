"""Stored outputs must hold on every reader's CPU: no number at the level of floating-point rounding,
no memory address, no timing in a compared output, in any edition of any chapter."""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").rglob("*.ipynb"))

# A number printed in scientific notation below 1e-12 is rounding noise: 3.3e-16 on one CPU, 8.9e-16 on
# another. A bound a check states ("< 1e-12", "≤ 1e-14") is a claim, not a measurement, and may stay.
TINY = re.compile(r"(?<![<≤\w.])(?<![<≤] )[-+]?\d+(?:\.\d+)?e-(1[3-9]|[2-9]\d|\d{3})\b", re.IGNORECASE)
# 0.0e+00 printed as "no difference" is a rounding-level claim that another CPU can break
ZERO_SCI = re.compile(r"(?<![\w.])[-+]?0(?:\.0+)?e[+-]0+\b", re.IGNORECASE)
ADDRESS = re.compile(r"\bat 0x[0-9a-fA-F]{6,}")
TIMING = re.compile(r"\b\d+(?:\.\d+)?(?: s| ms|ms| seconds)\b(?! ?[/·])")


def stored_texts(path):
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    for index, cell in enumerate(cells):
        if cell["cell_type"] != "code":
            continue
        ignored = "nbval-ignore-output" in cell.get("metadata", {}).get("tags", [])
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            text = "".join(output.get("text", "")) + "".join(data.get("text/plain", "")) + "".join(
                data.get("text/markdown", "")) + "".join(data.get("text/html", ""))
            yield index, ignored, text


def findings(path, pattern, compared_only=False):
    return [f"cell {index}: {match.group(0)!r}" for index, ignored, text in stored_texts(path)
            if not (compared_only and ignored) for match in pattern.finditer(text)]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_rounding_level_number_is_stored(path):
    found = findings(path, TINY) + findings(path, ZERO_SCI)
    assert not found, f"print the claim and its bound (companion.checks) instead of: {found}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_memory_address_or_timing_in_a_compared_output(path):
    found = findings(path, ADDRESS, compared_only=True) + findings(path, TIMING, compared_only=True)
    assert not found, f"tag the cell nbval-ignore-output or stop printing: {found}"


def test_the_scanner_finds_what_it_must():
    assert TINY.search("max |difference| = 8.9e-16") and TINY.search("error 3e-13")
    assert not TINY.search("max |difference| ≤ 1e-14") and not TINY.search("relative error < 1e-12")
    assert not TINY.search("MSE 2.9e-05") and not TINY.search("lr 1e-3")
    assert ZERO_SCI.search("differ by 0e+00") and ZERO_SCI.search("= 0.0e+00")
    assert ADDRESS.search("<torch._C.Generator object at 0x7f3a2b1c9d30>")
    assert TIMING.search("trained in 5.9 s") and not TIMING.search("lr 1e-3")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_noise_metadata_is_stored(path):
    """Execution timestamps (nbclient's record_timing) change on every run and make every merge conflict."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    noisy = [index for index, cell in enumerate(cells) if "execution" in cell.get("metadata", {})]
    assert not noisy, (f"cells {noisy} store execution timestamps: execute with "
                       "--ExecutePreprocessor.record_timing=False (see CONTRIBUTING.md)")
