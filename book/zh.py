"""The Chinese edition: the English notebooks with each markdown cell replaced by its translation.

The translations live in gettext catalogues, one per chapter (`book/translations/zh/NN_name.po`),
the format Sphinx's and most projects' i18n use, which translators' tools (Poedit, Weblate, Lokalize)
read. Each entry is one English markdown cell:

    msgctxt  the cell's id (nbformat 4.5), so that moving a cell keeps its translation
    msgid    the English text the translation was made from
    msgstr   the Chinese text

When an English cell changes, `python -m book update-catalogues` puts the new English in ``msgid``,
keeps the old English as ``#| msgid`` (what gettext's msgmerge does) and marks the entry *fuzzy*:
stale until a translator updates ``msgstr`` and removes the flag. `python -m book build` then writes
`notebooks/zh/`: code cells and their outputs are the English notebook's, copied; markdown cells are
the current translations. A missing or stale translation is built as the English text under a
visible "translation pending" note, and `python -m book check` (and the test suite) fails.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path

import polib

from book import notebooks as nbio

CATALOGUES = nbio.ROOT / "book" / "translations" / "zh"
PENDING = "> **待翻译 · translation pending**: this cell's Chinese text is missing or older than its English.\n\n"


def catalogue_path(chapter: str) -> Path:
    return CATALOGUES / f"{chapter}.po"


def load_catalogue(chapter: str) -> polib.POFile:
    path = catalogue_path(chapter)
    if path.exists():
        return polib.pofile(str(path), wrapwidth=0)
    po = polib.POFile(wrapwidth=0)
    po.metadata = {
        "Project-Id-Version": f"companion notebooks: {chapter}",
        "Language": "zh_CN",
        "MIME-Version": "1.0",
        "Content-Type": "text/plain; charset=UTF-8",
        "Content-Transfer-Encoding": "8bit",
    }
    return po


def markdown_cells(nb) -> list:
    return [cell for cell in nb.cells if cell.cell_type == "markdown"]


@dataclass
class Status:
    """How a chapter's catalogue stands against its English notebook."""

    chapter: str
    cells: int = 0
    current: int = 0
    missing: list[str] = field(default_factory=list)  # cell ids with no translation
    stale: list[str] = field(default_factory=list)  # cell ids whose English changed since translation
    unsynced: list[str] = field(default_factory=list)  # cell ids whose catalogue entry lags the English

    @property
    def complete(self) -> bool:
        return not (self.missing or self.stale or self.unsynced)


def entry_for(po: polib.POFile, cell_id: str) -> polib.POEntry | None:
    for entry in po:
        if entry.msgctxt == cell_id and not entry.obsolete:
            return entry
    return None


def translation(po: polib.POFile, cell) -> str | None:
    """The current Chinese text of an English markdown cell, or None if missing or stale."""
    entry = entry_for(po, cell.id)
    if entry is None or entry.msgid != nbio.source(cell) or entry.fuzzy or not entry.msgstr:
        return None
    return entry.msgstr


def status(chapter: str, english=None, po: polib.POFile | None = None) -> Status:
    english = english if english is not None else nbio.read(nbio.notebook_path(chapter))
    po = po if po is not None else load_catalogue(chapter)
    result = Status(chapter)
    for cell in markdown_cells(english):
        result.cells += 1
        entry = entry_for(po, cell.id)
        if entry is None or (not entry.msgstr and entry.msgid == nbio.source(cell)):
            result.missing.append(cell.id)
        elif entry.msgid != nbio.source(cell):
            result.unsynced.append(cell.id)
        elif entry.fuzzy or not entry.msgstr:
            result.stale.append(cell.id)
        else:
            result.current += 1
    return result


def update_catalogue(chapter: str, english=None, po: polib.POFile | None = None) -> polib.POFile:
    """Bring a chapter's catalogue in line with its English notebook, as msgmerge would.

    New cells get empty entries; changed cells keep their Chinese, gain the new English and the
    fuzzy flag (their old English stays as ``previous_msgid`` for the translator to compare);
    entries of cells that no longer exist become obsolete. Entries follow the notebook's cell order.
    """
    english = english if english is not None else nbio.read(nbio.notebook_path(chapter))
    po = po if po is not None else load_catalogue(chapter)
    by_id = {entry.msgctxt: entry for entry in po if not entry.obsolete}
    entries = []
    for number, cell in enumerate(english.cells):
        if cell.cell_type != "markdown":
            continue
        text = nbio.source(cell)
        entry = by_id.pop(cell.id, None)
        if entry is None:
            entry = polib.POEntry(msgctxt=cell.id, msgid=text, msgstr="")
        elif entry.msgid != text:
            if entry.msgstr:
                if not entry.fuzzy:
                    entry.previous_msgid = entry.msgid
                    entry.flags.append("fuzzy")
            entry.msgid = text
        entry.comment = f"cell {number}"
        entry.occurrences = [(f"notebooks/{chapter}.ipynb", str(number))]
        entries.append(entry)
    for entry in by_id.values():
        entry.obsolete = True
        entries.append(entry)
    po[:] = entries
    return po


def build_notebook(chapter: str, english=None, po: polib.POFile | None = None):
    """The Chinese notebook: the English one with every markdown cell translated."""
    english = english if english is not None else nbio.read(nbio.notebook_path(chapter))
    po = po if po is not None else load_catalogue(chapter)
    nb = nbio.clone(english)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            text = translation(po, cell)
            cell.source = text if text is not None else PENDING + nbio.source(cell)
    return nb


def set_translations(chapter: str, translations: dict[str, str]) -> int:
    """Record Chinese texts for English markdown cells, by cell id; return how many entries changed.

    Each entry becomes current: its ``msgid`` is today's English text, the fuzzy flag and the old English
    are dropped. For translators who script their work; Poedit or any PO editor does the same by hand.
    """
    english = nbio.read(nbio.notebook_path(chapter))
    po = update_catalogue(chapter, english)
    cells = {cell.id: cell for cell in markdown_cells(english)}
    unknown = sorted(set(translations) - set(cells))
    if unknown:
        raise ValueError(f"expected ids of markdown cells of {chapter}, got unknown {unknown}")
    changed = 0
    for cell_id, text in translations.items():
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"expected a non-empty Chinese text for cell {cell_id}, got {text!r}")
        entry = entry_for(po, cell_id)
        before = (entry.msgstr, entry.fuzzy)
        entry.msgstr = text
        if entry.fuzzy:
            entry.flags.remove("fuzzy")
        entry.previous_msgid = None
        changed += before != (entry.msgstr, entry.fuzzy)
    save_catalogue(po, chapter)
    return changed


def save_catalogue(po: polib.POFile, chapter: str) -> bool:
    path = catalogue_path(chapter)
    text = po.__unicode__()
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return True


def add_arguments(command: str, parser: argparse.ArgumentParser) -> None:
    parser.add_argument("chapters", nargs="*", default=list(nbio.CHAPTERS), help="chapters (default: all)")


def run(command: str, args: argparse.Namespace) -> int:
    failed = False
    for chapter in args.chapters:
        if command == "update-catalogues":
            changed = save_catalogue(update_catalogue(chapter), chapter)
            print(f"{chapter}: catalogue {'updated' if changed else 'already in line'}")
        elif command == "build":
            changed = nbio.write(build_notebook(chapter), nbio.notebook_path(chapter, "zh"))
            print(f"{chapter}: {'written' if changed else 'unchanged'}")
        state = status(chapter)
        path = nbio.notebook_path(chapter, "zh")
        built = nbio.dumps(build_notebook(chapter))
        current_file = path.exists() and path.read_text(encoding="utf-8") == built
        print(f"{chapter}: {state.current}/{state.cells} cells translated and current"
              + (f"; missing {len(state.missing)}" if state.missing else "")
              + (f"; stale {len(state.stale)}" if state.stale else "")
              + (f"; catalogue behind the English in {len(state.unsynced)} (run update-catalogues)"
                 if state.unsynced else "")
              + ("" if current_file else "; notebooks/zh copy out of date (run build)"))
        failed |= not (state.complete and current_file)
    return 1 if (failed and command == "check") else 0
