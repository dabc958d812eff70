"""``python -m book COMMAND``: make the derived forms of the book. ``python -m book --help`` lists them."""

from __future__ import annotations

import argparse
import importlib
import sys

# command -> (module of this package that implements it, one line of help)
COMMANDS = {
    "build": ("zh", "write the Chinese notebooks from the English ones and the catalogues"),
    "check": ("zh", "exit 1 unless every derived notebook and catalogue is current"),
    "update-catalogues": ("zh", "bring the catalogues in line with the English prose (changed cells become stale)"),
    "classroom": ("classroom", "an nbgrader course: teacher editions in source/, student editions in release/"),
    "slides": ("slides", "a reveal.js deck per chapter, usable offline"),
    "site": ("site", "build the website of every edition present from the stored outputs, offline (default _site/)"),
    "lesson-plans": ("lessons", "write classroom/lesson-plans/: objectives, timed sections, a 45-minute cut"),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m book", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (module, help_text) in COMMANDS.items():
        command = sub.add_parser(name, help=help_text, description=help_text)
        importlib.import_module(f"book.{module}").add_arguments(name, command)
    args = parser.parse_args(argv)
    module = importlib.import_module(f"book.{COMMANDS[args.command][0]}")
    return module.run(args.command, args)


if __name__ == "__main__":
    sys.exit(main())
