"""Reading and writing the book's notebooks, byte for byte as `jupyter nbconvert --inplace` does."""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "notebooks"
CHAPTERS = (
    "01_background",
    "02_core_concepts",
    "03_algorithms",
    "04_code_examples",
    "05_future_and_challenges",
    "06_faq",
)
EDITIONS = ("en", "zh")


def edition_dir(edition: str) -> Path:
    """Where an edition's notebooks lie: the English source, or a sub-folder named by its language."""
    if edition not in EDITIONS:
        raise ValueError(f"expected an edition in {EDITIONS}, got {edition!r}")
    return SOURCE if edition == "en" else SOURCE / edition


def notebook_path(chapter: str, edition: str = "en") -> Path:
    if chapter not in CHAPTERS:
        raise ValueError(f"expected a chapter in {CHAPTERS}, got {chapter!r}")
    return edition_dir(edition) / f"{chapter}.ipynb"


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.reads(Path(path).read_text(encoding="utf-8"), as_version=4)


def dumps(nb: nbformat.NotebookNode) -> str:
    """The text nbconvert writes: nbformat's JSON and a final newline."""
    return nbformat.writes(nb) + "\n"


def write(nb: nbformat.NotebookNode, path: Path) -> bool:
    """Write ``nb`` to ``path`` unless the file already holds exactly that; return whether it changed."""
    path = Path(path)
    text = dumps(nb)
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return True


def source(cell) -> str:
    return cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])


def tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def clone(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    return copy.deepcopy(nb)
